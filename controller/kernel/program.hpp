// Program instances: the embedded BPF object (the skeleton) opened with
// every map pinned under the pin directory, settings compiled into its
// .rodata, loaded, and handed back as a program fd. Each attachment gets
// its own instance; all of them share the pinned maps.
#pragma once

#include "base/unique_fd.hpp"
#include "base/vocabulary.hpp"
#include "kernel/capacity.hpp"

#include <filesystem>

namespace pw {

// Settings compiled into one program instance (.rodata).
struct ProgramSettings {
    Match match = Match::both;
    bool dry_run = false;
    bool malformed_drop = false;
    bool record_last = false; // tests: keep the last verdict in last_match
    Engine engine = Engine::compiled;
    uint32_t reject_rate = 1000; // answers per second per CPU (0: none)
};

// Loads one instance. Maps of the layout that libbpf creates are made with
// the sizes `cap` gives when missing (the first load creates and pins
// them); the controller-created table copy 0 of each family must exist
// already (it is the inner-map template). Throws Error with advice.
UniqueFd load_program(const std::filesystem::path& pin_dir, const Capacity& cap,
                      const ProgramSettings& s);

// Checks the running kernel against the minimum prefixwall needs; throws
// Error saying what is missing.
void check_kernel();

} // namespace pw
