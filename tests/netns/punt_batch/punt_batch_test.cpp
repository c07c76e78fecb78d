// PuntSocket::queue/flush: svrd queues the first packets of a poll round and kicks once per
// batch. Copy mode sends at most 32 frames per kick, so flush() must keep kicking until the
// ring is empty, and queue() must make room itself when every TX frame is in flight.
// PuntSocket::rxReady: svrd's busy polling reads the RX ring without a system call. Each
// case moves the test process into a fresh network namespace with a veth pair (ctest runs
// every case in its own process) and uses a private pin root.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/unique_fd.hpp"
#include "fastpath/fastpath.hpp"
#include "fastpath/maps.hpp"
#include "fastpath/netdev.hpp"
#include "fastpath/punt_socket.hpp"
#include "packet_builder.hpp"

namespace fp = svr::fastpath;

namespace {

constexpr std::uint16_t kEtherType = 0x88b5; // local experimental
constexpr char kMagic[] = "svr-batch";

struct PinRootGuard {
    std::string path = fmt::format("/sys/fs/bpf/svr-test-batch-{}", ::getpid());
    ~PinRootGuard()
    {
        (void)fp::unpinMaps(path);
        ::rmdir(path.c_str());
    }
};

class PuntBatch : public ::testing::Test {
protected:
    void SetUp() override
    {
        ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << std::strerror(errno);
        ASSERT_EQ(std::system("ip link set lo up && ip link add vbat0 type veth peer name vbat1 "
                              "&& ip link set vbat0 up && ip link set vbat1 up"),
                  0);
        fp::FastPathOptions options;
        options.router = "batchtest";
        options.pinRoot = guard_.path;
        options.maxSessions = 1024;
        auto path = fp::FastPath::open(options);
        ASSERT_TRUE(path.ok()) << path.error().describe();
        path_ = std::move(*path);
        ASSERT_TRUE(path_->attach("vbat0").ok());
        // veth drops frames towards a peer without XDP; svr's program passes non-IP frames.
        ASSERT_TRUE(path_->attach("vbat1", fp::XdpMode::Generic).ok());

        sniffer_.reset(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
        ASSERT_TRUE(sniffer_.valid()) << std::strerror(errno);
        const int buffer = 1 << 22;
        ::setsockopt(sniffer_.get(), SOL_SOCKET, SO_RCVBUF, &buffer, sizeof(buffer));
        sockaddr_ll bindTo{};
        bindTo.sll_family = AF_PACKET;
        bindTo.sll_protocol = htons(ETH_P_ALL);
        bindTo.sll_ifindex = static_cast<int>(*fp::interfaceIndex("vbat1"));
        ASSERT_EQ(::bind(sniffer_.get(), reinterpret_cast<sockaddr*>(&bindTo), sizeof(bindTo)),
                  0);
        timeval wait{1, 0};
        ::setsockopt(sniffer_.get(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));

        auto socket = fp::PuntSocket::open(path_->maps(), "vbat0");
        ASSERT_TRUE(socket.ok()) << socket.error().describe();
        socket_ = std::move(*socket);
    }

    static std::vector<std::uint8_t> frameNumbered(std::uint32_t n)
    {
        std::vector<std::uint8_t> frame(64, 0);
        std::memset(frame.data(), 0xff, 6); // broadcast
        frame[6] = 0x02;                     // locally administered source
        frame[12] = kEtherType >> 8;
        frame[13] = kEtherType & 0xff;
        std::memcpy(frame.data() + 14, kMagic, sizeof(kMagic));
        std::memcpy(frame.data() + 14 + sizeof(kMagic), &n, sizeof(n));
        return frame;
    }

    // The numbers of our frames the peer saw, until a second passes without one.
    std::set<std::uint32_t> framesSeen()
    {
        std::set<std::uint32_t> seen;
        std::uint8_t buffer[2048];
        for (;;) {
            const ssize_t got = ::recv(sniffer_.get(), buffer, sizeof(buffer), 0);
            if (got < 0) {
                return seen;
            }
            const std::size_t at = 14 + sizeof(kMagic);
            if (static_cast<std::size_t>(got) >= at + 4 &&
                std::memcmp(buffer + 14, kMagic, sizeof(kMagic)) == 0) {
                std::uint32_t n = 0;
                std::memcpy(&n, buffer + at, sizeof(n));
                seen.insert(n);
            }
        }
    }

    PinRootGuard guard_;
    std::unique_ptr<fp::FastPath> path_;
    svr::UniqueFd sniffer_;
    std::unique_ptr<fp::PuntSocket> socket_;
};

TEST_F(PuntBatch, QueuedFramesLeaveOnFlushAcrossSeveralKicks)
{
    // More than one kick's budget (32), not a multiple of kTxKickBatch: some stay queued.
    constexpr std::uint32_t kFrames = 3 * fp::PuntSocket::kTxKickBatch + 5;
    static_assert(kFrames > 32);
    EXPECT_FALSE(socket_->txPending());
    for (std::uint32_t n = 0; n < kFrames; ++n) {
        ASSERT_TRUE(socket_->queue(frameNumbered(n)).ok()) << n;
    }
    EXPECT_TRUE(socket_->txPending()); // the last 5 wait for the flush
    ASSERT_TRUE(socket_->flush().ok());
    EXPECT_FALSE(socket_->txPending());
    const auto seen = framesSeen();
    EXPECT_EQ(seen.size(), kFrames);
    for (std::uint32_t n = 0; n < kFrames; ++n) {
        EXPECT_TRUE(seen.contains(n)) << "frame " << n << " never reached the peer";
    }
}

TEST_F(PuntBatch, QueueMakesRoomWhenEveryTxFrameIsInFlight)
{
    // The socket owns 512 TX frames: queueing more must send the queued ones to free some.
    constexpr std::uint32_t kFrames = 1200;
    for (std::uint32_t n = 0; n < kFrames; ++n) {
        const svr::Status queued = socket_->queue(frameNumbered(n));
        ASSERT_TRUE(queued.ok()) << n << ": " << queued.error().describe();
    }
    ASSERT_TRUE(socket_->flush().ok());
    EXPECT_FALSE(socket_->txPending());
    EXPECT_EQ(framesSeen().size(), kFrames);
}

TEST_F(PuntBatch, TransmitStillSendsAtOnce)
{
    ASSERT_TRUE(socket_->transmit(frameNumbered(7)).ok());
    EXPECT_FALSE(socket_->txPending());
    EXPECT_EQ(framesSeen(), std::set<std::uint32_t>{7});
}

TEST_F(PuntBatch, OversizedFrameIsRefusedAndQueuesNothing)
{
    const std::vector<std::uint8_t> tooBig(8192, 0);
    EXPECT_FALSE(socket_->queue(tooBig).ok());
    EXPECT_FALSE(socket_->queue({}).ok());
    EXPECT_FALSE(socket_->txPending());
}

TEST_F(PuntBatch, RxReadySeesAPuntedFrameAndNothingOnceItIsTaken)
{
    EXPECT_FALSE(socket_->rxReady());
    // A first packet arriving on vbat0: no session, so the fast path punts it to our socket.
    namespace t = svr::test;
    const t::Bytes first = t::PacketBuilder()
                               .eth(t::mac("02:00:00:00:00:01"), t::mac("02:00:00:00:00:02"))
                               .ipv4({.src = t::ipv4("10.1.0.2"), .dst = t::ipv4("10.2.0.2")})
                               .udp({.src_port = 4000, .dst_port = 53})
                               .payload({1, 2, 3, 4})
                               .build();
    ASSERT_EQ(::send(sniffer_.get(), first.data(), first.size(), 0),
              static_cast<ssize_t>(first.size()))
        << std::strerror(errno);
    bool ready = false;
    for (int tries = 0; tries < 1000 && !ready; ++tries) {
        ready = socket_->rxReady();
        if (!ready) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
    }
    ASSERT_TRUE(ready) << "the punted frame never showed on the RX ring";
    auto frames = socket_->receive(0);
    ASSERT_TRUE(frames.ok()) << frames.error().describe();
    ASSERT_EQ(frames->size(), 1u);
    EXPECT_TRUE((*frames)[0].hasMeta);
    EXPECT_EQ((*frames)[0].meta.reason, SVR_PUNT_MISS);
    EXPECT_EQ((*frames)[0].data, first);
    EXPECT_FALSE(socket_->rxReady());
}

} // namespace
