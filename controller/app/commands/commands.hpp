// The makers of every command, one per row of the command table
// (app/command_table.cpp). Grouped by what they act on.
#pragma once

#include "app/command.hpp"

namespace pw {

// interfaces.cpp: the XDP attachments.
std::unique_ptr<Command> make_attach();
std::unique_ptr<Command> make_detach();
std::unique_ptr<Command> make_status();
// rules.cpp: rules by hand, and what is in force.
std::unique_ptr<Command> make_add();
std::unique_ptr<Command> make_del();
std::unique_ptr<Command> make_list();
std::unique_ptr<Command> make_lookup();
std::unique_ptr<Command> make_expire();
// collateral.cpp: provider space the rules in force block.
std::unique_ptr<Command> make_collateral();
// history.cpp: versions of the rules, their differences, rollback.
std::unique_ptr<Command> make_history();
std::unique_ptr<Command> make_diff();
std::unique_ptr<Command> make_rollback();
// sync.cpp: registries, once or as a daemon.
std::unique_ptr<Command> make_sync();
std::unique_ptr<Command> make_serve();
// feed.cpp: BGP feeds through ExaBGP, and the hub's export.
std::unique_ptr<Command> make_feed();
std::unique_ptr<Command> make_export();
// load.cpp: counters and rates.
std::unique_ptr<Command> make_stats();
std::unique_ptr<Command> make_top();
std::unique_ptr<Command> make_metrics();
// capture.cpp: copies of judged packets, as pcapng.
std::unique_ptr<Command> make_capture();
// meta.cpp: about prefixwall itself.
std::unique_ptr<Command> make_help();
std::unique_ptr<Command> make_version();

} // namespace pw
