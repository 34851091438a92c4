// prefixwall: the command line. Everything happens in the library (app/cli.cpp).
#include "app/cli.hpp"

#include <iostream>

int main(int argc, char** argv)
{
    return pw::run_cli(std::vector<std::string>(argv + 1, argv + argc), std::cout, std::cerr);
}
