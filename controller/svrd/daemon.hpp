// svrd as a daemon: loads the configuration, opens (or re-adopts) the router's fast path,
// attaches it to the configured interfaces, writes their addresses as local, binds one
// AF_XDP punt socket per interface rx queue, and runs one event loop over those sockets and
// a signalfd: SIGTERM/SIGINT stop it, SIGHUP reloads the configuration. A 1 s tick runs the
// expiry scan and writes the status file. On exit the programs stay attached and the maps
// pinned, so the fast path keeps forwarding established sessions while svrd is down.
#pragma once

#include <string>

#include "fastpath/fastpath.hpp"

namespace svr::svrd {

struct DaemonOptions {
    std::string configFile;
    std::string router;     // empty: the configuration's router name
    std::string statusFile; // empty: /run/svr/<router>/svrd-status.json
    std::string httpListen; // "ADDR:PORT"; empty: the configuration's router/management/http
    fastpath::XdpMode xdpMode = fastpath::XdpMode::Native;
    // After its last punted frame an event loop keeps reading its RX ring this long before
    // it sleeps in poll(2): no wake-up between first packets closer together than this, for
    // a core that is the controller's own. 0: always sleep.
    std::uint32_t busyPollUs = 0;
};

// Returns the process exit code: 0 after a signal-requested stop, non-zero when the daemon
// could not start (the reason is logged).
int runDaemon(const DaemonOptions& options);

} // namespace svr::svrd
