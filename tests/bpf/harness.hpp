// Shared fixture of the BPF tests: an isolated pin directory on a BPF
// filesystem and a state directory, a Controller over them, and helpers
// to run frames through BPF_PROG_TEST_RUN and read counter deltas.
#pragma once

#include "session/controller.hpp"
#include "frame_builder.hpp"

#include <memory>
#include <string>
#include <vector>

namespace pwtest {

// The engine the programs of this run use (main.cpp runs every test once
// per engine).
extern pw::Engine engine;

class Harness {
public:
    explicit Harness(const pw::Capacity& cap = pw::Capacity{1u << 16, 1u << 16, 1024},
                     const std::string& state_dir = "");
    // The temporary directory this harness removes at the end.
    const std::string& root() const { return root_; }
    // A new Controller over the same directories (a restart).
    void reopen();
    // Closes the Controller (and with it the rule store) until reopen().
    void close()
    {
        progs_.clear();
        ctl_.reset();
    }
    ~Harness();

    pw::Controller& ctl() { return *ctl_; }
    const pw::Dataplane& dp() { return *ctl_->dataplane(); }

    // Claims `prefix` for source "test" with `action` and commits.
    void add(const std::string& prefix, pw::Action action, const std::string& source = "test");
    // Makes `next` the rules in force; returns them as the store has them
    // (with the store's ids).
    pw::RuleSet commit(const pw::RuleSet& next)
    {
        ctl_->replace_all(next);
        return ctl_->snapshot();
    }
    uint32_t id(const std::string& prefix);

    // A program instance with these settings and this run's engine
    // (cached per settings).
    int prog(const pw::ProgramSettings& s);
    // Runs one frame; returns the XDP verdict, or -errno when the kernel
    // refuses the frame.
    int run(const pw::ProgramSettings& s, const std::vector<uint8_t>& frame);
    // The same, and the frame as the program left it (an XDP_TX answer).
    int run(const pw::ProgramSettings& s, const std::vector<uint8_t>& frame,
            std::vector<uint8_t>& out);

private:
    std::string root_, state_dir_;
    pw::Capacity cap_;
    std::unique_ptr<pw::Controller> ctl_;
    std::vector<std::pair<pw::ProgramSettings, pw::UniqueFd>> progs_;
};

// Whether this process can run the BPF tests; the reason when not.
std::string bpf_unavailable_reason();

} // namespace pwtest
