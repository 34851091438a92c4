// Writes what the build installs beside the binary, generated from the
// command table: `gen_docs man` (prefixwall(8)) and `gen_docs completion`
// (the bash completion script).
#include "app/help.hpp"

#include <iostream>
#include <string>

int main(int argc, char** argv)
{
    std::string what = argc > 1 ? argv[1] : "";
    if (what == "man")
        std::cout << pw::man_page();
    else if (what == "completion")
        std::cout << pw::bash_completion();
    else {
        std::cerr << "usage: gen_docs man|completion\n";
        return 2;
    }
    return 0;
}
