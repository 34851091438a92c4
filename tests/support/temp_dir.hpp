// A temporary directory for one test, removed with everything in it at the
// end (unit and BPF tests).
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

namespace pwtest {

struct TempDir {
    std::filesystem::path path;
    // `name` goes into the directory's name: /tmp/pw-NAME-XXXXXX.
    explicit TempDir(const std::string& name = "test")
    {
        std::string tmpl = "/tmp/pw-" + name + "-XXXXXX";
        path = ::mkdtemp(tmpl.data());
    }
    ~TempDir()
    {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
};

} // namespace pwtest
