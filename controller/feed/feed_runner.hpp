// `prefixwall feed` as a process under ExaBGP: reads the JSON stream on
// stdin (stdout is ExaBGP's command channel: the feed never writes to
// it; its log goes to stderr, one line per transition), drives a
// FeedSession, and holds the pin-dir lock only around commits: taken for
// a burst of updates, given back after 100 ms without one or after one
// second held, so other commands and `serve` never wait long. Its status
// file is written at each transition, and once a second while it changes.
#pragma once

#include "feed/feed_session.hpp"
#include "kernel/capacity.hpp"
#include "session/paths.hpp"

namespace pw {

struct FeedRun {
    Paths paths;
    Capacity capacity;
    FeedOptions feed;
    int input_fd = 0;
};

// Runs until end of input, ExaBGP's shutdown, SIGTERM or SIGINT (the
// claims are then held), or a stream in another API version. Returns the
// exit code: 0, or 1 for the API version.
int run_feed(const FeedRun& run);

} // namespace pw
