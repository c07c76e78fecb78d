#include "svrd/systemd_notify.hpp"

#include <systemd/sd-daemon.h>
#include <time.h>

#include <cstdlib>

#include <fmt/core.h>

namespace svr::svrd {

SystemdNotifier SystemdNotifier::fromEnvironment()
{
    SystemdNotifier notifier;
    const char* socket = std::getenv("NOTIFY_SOCKET");
    notifier.enabled_ = socket != nullptr && socket[0] != '\0';
    std::uint64_t intervalUs = 0;
    // > 0 only when WATCHDOG_PID names this process: a child never pets its parent's watchdog.
    if (notifier.enabled_ && sd_watchdog_enabled(0, &intervalUs) > 0) {
        notifier.watchdogUs_ = intervalUs;
    }
    return notifier;
}

std::string SystemdNotifier::statusText(std::size_t sessions)
{
    return fmt::format("{} session{} active", sessions, sessions == 1 ? "" : "s");
}

void SystemdNotifier::send(const std::string& message) const
{
    if (enabled_) {
        // Best effort: a lost notification shows in systemctl status; the router keeps going.
        (void)sd_notify(0, message.c_str());
    }
}

void SystemdNotifier::ready(std::size_t sessions) const
{
    send("READY=1\nSTATUS=" + statusText(sessions));
}

void SystemdNotifier::tick(std::size_t sessions) const
{
    send(std::string(watchdogUs_ != 0 ? "WATCHDOG=1\n" : "") + "STATUS=" + statusText(sessions));
}

void SystemdNotifier::reloading() const
{
    // MONOTONIC_USEC: systemd 253+ (Type=notify-reload) wants it with RELOADING=1.
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    const auto monotonicUs = static_cast<std::uint64_t>(now.tv_sec) * 1'000'000ULL +
                             static_cast<std::uint64_t>(now.tv_nsec) / 1000ULL;
    send(fmt::format("RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC={}",
                     monotonicUs));
}

void SystemdNotifier::reloaded() const
{
    send("READY=1\nSTATUS=configuration reloaded");
}

void SystemdNotifier::stopping() const
{
    send("STOPPING=1\nSTATUS=stopping; the fast path keeps forwarding");
}

const SystemdNotifier& systemdNotifier()
{
    static const SystemdNotifier notifier = SystemdNotifier::fromEnvironment();
    return notifier;
}

ReloadNotification::ReloadNotification()
{
    systemdNotifier().reloading();
}

ReloadNotification::~ReloadNotification()
{
    systemdNotifier().reloaded();
}

} // namespace svr::svrd
