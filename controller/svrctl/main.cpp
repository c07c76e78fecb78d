// svrctl: the operator's command line for svr routers.
#include <CLI/CLI.hpp>

#include "commands.hpp"

namespace svr::ctl {
int& exitCode()
{
    static int code = 0;
    return code;
}
} // namespace svr::ctl

int main(int argc, char** argv)
{
    CLI::App app{"svrctl - inspect and control svr routers"};
    app.require_subcommand(1);
    svr::ctl::registerMetadataCommands(app);
    svr::ctl::registerSessionCommands(app);
    svr::ctl::registerShowCommands(app);
    CLI11_PARSE(app, argc, argv);
    return svr::ctl::exitCode();
}
