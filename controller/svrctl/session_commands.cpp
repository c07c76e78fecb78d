#include "commands.hpp"

namespace svr::ctl {
void registerSessionCommands(CLI::App&) {}
} // namespace svr::ctl
