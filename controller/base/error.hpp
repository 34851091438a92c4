// The one error type of the controller library: a message that already
// says what failed and why, with context ("rules_v4: map is full (limit
// 2000000, --max-rules-v4)"). The CLI prints it as one line and exits 1.
#pragma once

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <string>

namespace pw {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& what) : std::runtime_error(what) {}
};

// "what: strerror(err)" for a failed system call or libbpf call (libbpf
// returns -errno).
inline Error sys_error(const std::string& what, int err)
{
    if (err < 0)
        err = -err;
    return Error(what + ": " + std::strerror(err));
}

} // namespace pw
