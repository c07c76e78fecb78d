// svrd's side of systemd's notify protocol (sd_notify(3)), for Type=notify units:
// READY=1 once the fast path is attached and the event loop runs, WATCHDOG=1 on every tick
// when the unit has WatchdogSec=, STATUS= with the session count, RELOADING=1/READY=1
// around a SIGHUP reload and STOPPING=1 on a stop. Without NOTIFY_SOCKET (not started by
// systemd) every call does nothing.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace svr::svrd {

class SystemdNotifier {
public:
    // Reads NOTIFY_SOCKET and WATCHDOG_USEC/WATCHDOG_PID of this process.
    static SystemdNotifier fromEnvironment();

    bool enabled() const { return enabled_; }
    std::uint64_t watchdogIntervalUs() const { return watchdogUs_; } // 0: no watchdog

    void ready(std::size_t sessions) const;
    void tick(std::size_t sessions) const; // WATCHDOG=1 (when enabled) and STATUS=
    void reloading() const;
    void reloaded() const; // READY=1; the next tick brings the session count back
    void stopping() const;

    static std::string statusText(std::size_t sessions);

private:
    void send(const std::string& message) const;

    bool enabled_ = false;
    std::uint64_t watchdogUs_ = 0;
};

// The process's notifier (read from the environment on first use), for daemon.cpp.
const SystemdNotifier& systemdNotifier();

// RELOADING=1 while in scope, READY=1 when it ends, whatever path the reload takes.
class ReloadNotification {
public:
    ReloadNotification();
    ~ReloadNotification();
    ReloadNotification(const ReloadNotification&) = delete;
    ReloadNotification& operator=(const ReloadNotification&) = delete;
};

} // namespace svr::svrd
