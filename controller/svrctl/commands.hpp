// svrctl subcommand groups. Each group registers its subcommands on the app and returns
// through the callbacks it installs; main() only parses and reports the exit code.
#pragma once

#include <CLI/CLI.hpp>

namespace svr::ctl {

// Exit code set by the subcommand that ran (0 = success).
int& exitCode();

void registerMetadataCommands(CLI::App& app); // svrctl metadata encode|decode
void registerSessionCommands(CLI::App& app);  // svrctl session add|list|delete, fastpath ...
void registerShowCommands(CLI::App& app);     // svrctl show ..., delete session (svrd's API)

} // namespace svr::ctl
