// `prefixwall top`: a live terminal view of the load per prefix, refreshed
// every interval: the busiest prefixes by rate with a bar each, dropped vs
// passed totals, per source and per interface. Keys: p packets/s, b bits/s,
// t total packets, y total bytes, q quit. Fits an 80x24 terminal.
#pragma once

#include "session/controller.hpp"
#include "report/load.hpp"

namespace pw {

int run_top(const Paths& paths, const Capacity& cap, double interval_s, SortKey key);

} // namespace pw
