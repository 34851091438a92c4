// The build's version, one value from CMake (packaging/version.cmake):
// the project's version and, from a git checkout, the commit. `prefixwall
// version`, prefixwall_build_info, the man page, the HTTP User-Agent and
// the Debian package all show this string.
#pragma once

namespace pw {

const char* version();

} // namespace pw
