// The notify protocol as systemd sees it: a datagram socket named by NOTIFY_SOCKET receives
// READY=1, STATUS=, WATCHDOG=1 (only with a watchdog for this pid), RELOADING=1, STOPPING=1.
#include <gtest/gtest.h>

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <string>

#include "common/unique_fd.hpp"
#include "svrd/systemd_notify.hpp"

namespace {

using svr::svrd::SystemdNotifier;

// A fake service manager: a bound AF_UNIX datagram socket, NOTIFY_SOCKET pointing at it.
class FakeManager {
public:
    FakeManager()
    {
        char pattern[] = "/tmp/svrd-notify-XXXXXX";
        directory_ = ::mkdtemp(pattern);
        path_ = directory_ + "/notify";
        fd_.reset(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
        sockaddr_un address{};
        address.sun_family = AF_UNIX;
        std::strncpy(address.sun_path, path_.c_str(), sizeof(address.sun_path) - 1);
        bound_ = fd_.valid() && ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&address),
                                       sizeof(address)) == 0;
        timeval timeout{1, 0};
        ::setsockopt(fd_.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
        ::setenv("NOTIFY_SOCKET", path_.c_str(), 1);
    }
    ~FakeManager()
    {
        ::unsetenv("NOTIFY_SOCKET");
        ::unsetenv("WATCHDOG_USEC");
        ::unsetenv("WATCHDOG_PID");
        std::error_code ignored;
        std::filesystem::remove_all(directory_, ignored);
    }
    bool bound() const { return bound_; }

    // The next datagram, or "" after a 1 s timeout.
    std::string receive()
    {
        char buffer[4096];
        const ssize_t length = ::recv(fd_.get(), buffer, sizeof(buffer), 0);
        return length > 0 ? std::string(buffer, static_cast<std::size_t>(length)) : "";
    }
    bool nothingPending()
    {
        char byte;
        return ::recv(fd_.get(), &byte, 1, MSG_DONTWAIT) < 0;
    }

private:
    std::string directory_;
    std::string path_;
    svr::UniqueFd fd_;
    bool bound_ = false;
};

TEST(SystemdNotify, WithoutNotifySocketNothingIsSent)
{
    ::unsetenv("NOTIFY_SOCKET");
    const SystemdNotifier notifier = SystemdNotifier::fromEnvironment();
    EXPECT_FALSE(notifier.enabled());
    EXPECT_EQ(notifier.watchdogIntervalUs(), 0u);
    notifier.ready(1); // must not fail or block
}

TEST(SystemdNotify, ReadyCarriesTheSessionCount)
{
    FakeManager manager;
    ASSERT_TRUE(manager.bound()) << std::strerror(errno);
    const SystemdNotifier notifier = SystemdNotifier::fromEnvironment();
    ASSERT_TRUE(notifier.enabled());
    notifier.ready(3);
    EXPECT_EQ(manager.receive(), "READY=1\nSTATUS=3 sessions active");
}

TEST(SystemdNotify, TickWithoutWatchdogSendsOnlyStatus)
{
    FakeManager manager;
    ASSERT_TRUE(manager.bound()) << std::strerror(errno);
    const SystemdNotifier notifier = SystemdNotifier::fromEnvironment();
    EXPECT_EQ(notifier.watchdogIntervalUs(), 0u);
    notifier.tick(1);
    EXPECT_EQ(manager.receive(), "STATUS=1 session active");
}

TEST(SystemdNotify, TickPetsTheWatchdogOfThisProcess)
{
    FakeManager manager;
    ASSERT_TRUE(manager.bound()) << std::strerror(errno);
    ::setenv("WATCHDOG_USEC", "30000000", 1);
    ::setenv("WATCHDOG_PID", std::to_string(::getpid()).c_str(), 1);
    const SystemdNotifier notifier = SystemdNotifier::fromEnvironment();
    EXPECT_EQ(notifier.watchdogIntervalUs(), 30'000'000u);
    notifier.tick(0);
    EXPECT_EQ(manager.receive(), "WATCHDOG=1\nSTATUS=0 sessions active");
}

TEST(SystemdNotify, WatchdogOfAnotherProcessIsIgnored)
{
    FakeManager manager;
    ASSERT_TRUE(manager.bound()) << std::strerror(errno);
    ::setenv("WATCHDOG_USEC", "30000000", 1);
    ::setenv("WATCHDOG_PID", std::to_string(::getpid() + 1).c_str(), 1);
    const SystemdNotifier notifier = SystemdNotifier::fromEnvironment();
    EXPECT_EQ(notifier.watchdogIntervalUs(), 0u);
    notifier.tick(2);
    EXPECT_EQ(manager.receive(), "STATUS=2 sessions active");
}

TEST(SystemdNotify, ReloadThenReadyThenStopping)
{
    FakeManager manager;
    ASSERT_TRUE(manager.bound()) << std::strerror(errno);
    const SystemdNotifier notifier = SystemdNotifier::fromEnvironment();
    notifier.reloading();
    const std::string reloading = manager.receive();
    EXPECT_EQ(reloading.rfind("RELOADING=1\n", 0), 0u) << reloading;
    EXPECT_NE(reloading.find("\nMONOTONIC_USEC="), std::string::npos) << reloading;
    notifier.reloaded();
    EXPECT_EQ(manager.receive().rfind("READY=1\n", 0), 0u);
    notifier.stopping();
    EXPECT_EQ(manager.receive().rfind("STOPPING=1\n", 0), 0u);
    EXPECT_TRUE(manager.nothingPending());
}

} // namespace
