#include "commands.hpp"

namespace svr::ctl {
void registerMetadataCommands(CLI::App&) {}
} // namespace svr::ctl
