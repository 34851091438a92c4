#include "base/version.hpp"

#include "version.h" // generated into the build's gen/

namespace pw {

const char* version() { return PREFIXWALL_VERSION; }

} // namespace pw
