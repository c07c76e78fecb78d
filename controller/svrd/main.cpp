// svrd: the svr router controller. `svrd --check-config FILE` validates a configuration and
// exits; `svrd --config FILE [--router NAME]` runs the daemon (daemon.hpp).
#include <CLI/CLI.hpp>
#include <fmt/core.h>

#include <cstdio>
#include <string>

#include "config/loader.hpp"
#include "svrd/daemon.hpp"

namespace {

enum ExitCode : int { kOk = 0, kInvalidConfig = 1, kUsage = 2, kCannotRead = 3 };

struct Options {
    std::string checkConfigFile;
    svr::svrd::DaemonOptions daemon;
    std::string xdpMode = "native";
};

int checkConfig(const std::string& file)
{
    auto report = svr::config::checkConfigFile(file);
    if (!report) {
        fmt::print(stderr, "svrd: {}\n", report.error().describe());
        return kCannotRead;
    }
    if (!report->valid()) {
        fmt::print(stderr, "svrd: {}: invalid configuration ({} error{})\n", file,
                   report->issues.size(), report->issues.size() == 1 ? "" : "s");
        for (const auto& issue : report->issues) {
            fmt::print(stderr, "  {}\n", issue.describe());
        }
        return kInvalidConfig;
    }
    const auto& config = *report->config;
    fmt::print("svrd: {}: valid configuration of router '{}' ({} interfaces, {} tenants, "
               "{} services, {} service routes)\n",
               file, config.routerName, config.interfaces.size(), config.tenants.size(),
               config.services.size(), config.serviceRoutes.size());
    return kOk;
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"svrd - Secure Vector Routing router controller"};
    Options options;
    auto* checkOption = app.add_option("--check-config", options.checkConfigFile,
                   "validate a router configuration (RFC 7951 JSON) and exit: 0 when valid")
        ->check(CLI::ExistingFile);
    auto* configOption =
        app.add_option("--config", options.daemon.configFile,
                       "run the daemon for this router configuration (RFC 7951 JSON)")
            ->check(CLI::ExistingFile);
    app.add_option("--router", options.daemon.router,
                   "fast-path instance name (pins under /sys/fs/bpf/svr/NAME); default: the "
                   "configuration's router name")
        ->needs(configOption);
    app.add_option("--status-file", options.daemon.statusFile,
                   "where the daemon writes its counters every second (JSON); default: "
                   "/run/svr/ROUTER/svrd-status.json")
        ->needs(configOption);
    app.add_option("--xdp-mode", options.xdpMode, "native (default) or generic")
        ->needs(configOption);
    app.add_option("--http-listen", options.daemon.httpListen,
                   "serve /metrics and /api/v1 on ADDR:PORT ([v6]:PORT) instead of the "
                   "configuration's router/management/http (default 127.0.0.1:9464)")
        ->needs(configOption);
    app.add_option("--busy-poll-us", options.daemon.busyPollUs,
                   "keep reading the punt rings this many microseconds after the last first "
                   "packet before sleeping: lower first-packet latency for a controller core "
                   "of svrd's own, which it then keeps busy (default 0: sleep at once)")
        ->check(CLI::Range(0, 1'000'000))
        ->needs(configOption);
    configOption->excludes(checkOption);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        const int code = app.exit(error);
        return code == 0 ? kOk : kUsage;
    }
    if (!options.checkConfigFile.empty()) {
        return checkConfig(options.checkConfigFile);
    }
    if (options.daemon.configFile.empty()) {
        fmt::print(stderr, "svrd: give --check-config FILE or --config FILE (see --help)\n");
        return kUsage;
    }
    auto mode = svr::fastpath::parseXdpMode(options.xdpMode);
    if (!mode) {
        fmt::print(stderr, "svrd: {}\n", mode.error().describe());
        return kUsage;
    }
    options.daemon.xdpMode = *mode;
    return svr::svrd::runDaemon(options.daemon);
}
