// FastPath, map wrappers and PuntSocket against the kernel (root): each case that touches
// interfaces first moves the test process into a fresh network namespace (every case runs
// in its own process under ctest), so nothing outside it is affected. Pinned cases use a
// private pin root under /sys/fs/bpf/svr-test-<pid>.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "common/unique_fd.hpp"
#include "fastpath/fastpath.hpp"
#include "fastpath/maps.hpp"
#include "fastpath/netdev.hpp"
#include "fastpath/punt_socket.hpp"

namespace fp = svr::fastpath;

namespace {

std::string testPinRoot()
{
    return fmt::format("/sys/fs/bpf/svr-test-{}", ::getpid());
}

std::vector<std::string>& ephemeralPinRoots()
{
    static std::vector<std::string> paths;
    return paths;
}

// Removes the pin roots handed out by ephemeral() once the tests ran (a gtest environment:
// it runs before static destruction, which would race the library's own statics).
class EphemeralPinRootCleanup : public ::testing::Environment {
public:
    void TearDown() override
    {
        for (const std::string& path : ephemeralPinRoots()) {
            (void)fp::unpinMaps(path);
            ::rmdir(path.c_str());
        }
    }
};
[[maybe_unused]] ::testing::Environment* const kEphemeralPinRootCleanup =
    ::testing::AddGlobalTestEnvironment(new EphemeralPinRootCleanup);

// A fast path of its own for each call: a fresh pin root, so no test adopts another's maps.
fp::FastPathOptions ephemeral()
{
    fp::FastPathOptions options;
    options.router = "apitest";
    options.pinRoot = fmt::format("{}-e{}", testPinRoot(), ephemeralPinRoots().size());
    options.maxSessions = 4096;
    ephemeralPinRoots().push_back(options.pinRoot);
    return options;
}

// Removes the private pin root (its maps, then the directory) whatever the test did.
struct PinRootGuard {
    std::string path = testPinRoot();
    ~PinRootGuard()
    {
        (void)fp::unpinMaps(path);
        ::rmdir(path.c_str());
    }
};

svr_session_key keyFor(std::uint32_t n)
{
    svr_session_key key{};
    key.ingress_ifindex = 1;
    key.family = SVR_FAMILY_IPV4;
    key.proto = IPPROTO_UDP;
    key.src_addr[0] = 10;
    key.src_addr[2] = static_cast<std::uint8_t>(n >> 8);
    key.src_addr[3] = static_cast<std::uint8_t>(n);
    key.src_port = htons(static_cast<std::uint16_t>(1000 + n));
    key.dst_port = htons(53);
    return key;
}

svr_session_value valueFor(std::uint64_t sessionId)
{
    svr_session_value value{};
    value.session_id = sessionId;
    value.dscp = SVR_DSCP_KEEP;
    return value;
}

// Moves this process into a new network namespace with a veth pair a/b, both up.
void enterPrivateNetns()
{
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << std::strerror(errno);
    ASSERT_EQ(std::system("ip link set lo up && ip link add vapi0 type veth peer name vapi1 && "
                          "ip link set vapi0 up && ip link set vapi1 up"),
              0);
}

} // namespace

TEST(FastPathApi, EphemeralSessionTableOperations)
{
    auto path = fp::FastPath::open(ephemeral());
    ASSERT_TRUE(path.ok()) << path.error().describe();
    fp::SessionTable table((*path)->maps().sessions);
    EXPECT_EQ(*table.capacity(), 4096u);

    ASSERT_TRUE(table.insert(keyFor(1), valueFor(7)).ok());
    auto duplicate = table.insert(keyFor(1), valueFor(8));
    ASSERT_FALSE(duplicate.ok());
    EXPECT_EQ(duplicate.error().code, std::errc::file_exists);
    ASSERT_TRUE(table.insert(keyFor(1), valueFor(8), fp::InsertMode::CreateOrReplace).ok());
    auto found = table.lookup(keyFor(1));
    ASSERT_TRUE(found.ok());
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->session_id, 8u);
    auto missing = table.lookup(keyFor(2));
    ASSERT_TRUE(missing.ok());
    EXPECT_FALSE(missing->has_value());
    EXPECT_TRUE(*table.erase(keyFor(1)));
    EXPECT_FALSE(*table.erase(keyFor(1)));
}

TEST(FastPathApi, ListAndDeleteMany)
{
    auto path = fp::FastPath::open(ephemeral());
    ASSERT_TRUE(path.ok()) << path.error().describe();
    fp::SessionTable table((*path)->maps().sessions);
    constexpr std::uint32_t kEntries = 3000;
    for (std::uint32_t n = 0; n < kEntries; ++n) {
        ASSERT_TRUE(table.insert(keyFor(n), valueFor(n / 2)).ok());
    }
    auto walked = table.list();
    ASSERT_TRUE(walked.ok());
    EXPECT_EQ(walked->size(), kEntries);
    std::set<std::uint64_t> sessionIds;
    for (const fp::SessionEntry& entry : *walked) {
        sessionIds.insert(entry.value.session_id);
    }
    EXPECT_EQ(sessionIds.size(), kEntries / 2);

    auto bySession = table.eraseSession(5);
    ASSERT_TRUE(bySession.ok());
    EXPECT_EQ(*bySession, 2u);
    std::vector<svr_session_key> keys;
    for (std::uint32_t n = 100; n < 200; ++n) {
        keys.push_back(keyFor(n));
    }
    auto erased = table.eraseBatch(keys);
    ASSERT_TRUE(erased.ok()) << erased.error().describe();
    EXPECT_EQ(*erased, 100u);
    // Keys already gone are skipped, the rest still deleted.
    keys = {keyFor(150), keyFor(300), keyFor(301)};
    auto partly = table.eraseBatch(keys);
    ASSERT_TRUE(partly.ok()) << partly.error().describe();
    EXPECT_EQ(*partly, 2u);
    EXPECT_EQ(table.list()->size(), kEntries - 104);
    auto cleared = table.clear();
    ASSERT_TRUE(cleared.ok());
    EXPECT_EQ(table.list()->size(), 0u);
}

TEST(FastPathApi, FullTableRefusesNewKeysAndStillReplaces)
{
    auto path = fp::FastPath::open(ephemeral());
    ASSERT_TRUE(path.ok()) << path.error().describe();
    fp::SessionTable table((*path)->maps().sessions);
    const std::uint32_t capacity = *table.capacity();
    for (std::uint32_t n = 0; n < capacity; ++n) {
        ASSERT_TRUE(table.insert(keyFor(n), valueFor(n)).ok()) << n;
    }
    auto refused = table.insert(keyFor(capacity), valueFor(1));
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.error().message.find("full"), std::string::npos) << refused.error().message;
    ASSERT_TRUE(table.insert(keyFor(7), valueFor(70), fp::InsertMode::CreateOrReplace).ok());
    EXPECT_EQ((*table.lookup(keyFor(7)))->session_id, 70u);
    ASSERT_TRUE(*table.erase(keyFor(3)));
    ASSERT_TRUE(table.insert(keyFor(capacity), valueFor(1)).ok());
    EXPECT_EQ(table.list()->size(), capacity);
}

TEST(FastPathApi, StatsStartAtZero)
{
    auto path = fp::FastPath::open(ephemeral());
    ASSERT_TRUE(path.ok()) << path.error().describe();
    fp::StatsTable stats((*path)->maps().stats, (*path)->maps().ifaces);
    auto one = stats.read(1);
    auto total = stats.total();
    ASSERT_TRUE(one.ok()) << one.error().describe();
    ASSERT_TRUE(total.ok()) << total.error().describe();
    EXPECT_EQ(total->verdict_packets[SVR_VERDICT_FORWARD], 0u);
    // Out-of-range ifindexes read the shared slot 0 instead of failing.
    EXPECT_TRUE(stats.read(SVR_MAX_IFINDEX + 10).ok());
}

TEST(FastPathApi, LocalAddrsAndIfaces)
{
    auto path = fp::FastPath::open(ephemeral());
    ASSERT_TRUE(path.ok()) << path.error().describe();
    fp::LocalAddrs locals((*path)->maps().localAddrs);
    auto address = fp::parseIpAddress("10.9.0.1");
    ASSERT_TRUE(address.ok());
    ASSERT_TRUE(locals.add(*address, svr_local_addr{SVR_LOCAL_F_WAYPOINT, 1000, 2000}).ok());
    auto listed = locals.list();
    ASSERT_TRUE(listed.ok());
    ASSERT_EQ(listed->size(), 1u);
    EXPECT_EQ(listed->front().second.waypoint_port_max, 2000);
    EXPECT_TRUE(*locals.remove(*address));

    fp::Ifaces ifaces((*path)->maps().ifaces);
    EXPECT_FALSE(ifaces.set(0, svr_iface{}).ok()); // slot 0 is "unconfigured"
    EXPECT_FALSE(ifaces.set(SVR_MAX_IFINDEX, svr_iface{}).ok());
    ASSERT_TRUE(ifaces.set(7, svr_iface{SVR_IFACE_F_ROUTER, 3, 1, 0}).ok());
    auto routers = ifaces.routerInterfaces();
    ASSERT_TRUE(routers.ok());
    ASSERT_EQ(routers->size(), 1u);
    EXPECT_EQ(routers->front().first, 7u);
}

TEST(FastPathApi, PinnedReopenAdoptsSessions)
{
    PinRootGuard guard;
    fp::FastPathOptions options = ephemeral();
    options.pinRoot = guard.path;
    std::uint32_t firstRecord = 0;
    {
        auto first = fp::FastPath::open(options);
        ASSERT_TRUE(first.ok()) << first.error().describe();
        EXPECT_FALSE((*first)->adopted());
        fp::SessionTable table((*first)->maps().sessions);
        ASSERT_TRUE(table.insert(keyFor(1), valueFor(3)).ok());
        firstRecord = table.recordOf(keyFor(1))->value();
    }
    struct stat info{};
    ASSERT_EQ(::stat((guard.path + "/sessions").c_str(), &info), 0);
    options.maxSessions = 8192; // a resize would lose sessions: the pinned size wins
    auto second = fp::FastPath::open(options);
    ASSERT_TRUE(second.ok()) << second.error().describe();
    EXPECT_TRUE((*second)->adopted());
    fp::SessionTable table((*second)->maps().sessions);
    EXPECT_EQ(*table.capacity(), 4096u);
    auto found = table.lookup(keyFor(1));
    ASSERT_TRUE(found.ok());
    ASSERT_TRUE(found->has_value());
    EXPECT_EQ((*found)->session_id, 3u);
    // Found through the index with the seed the first loader chose.
    EXPECT_EQ(table.recordOf(keyFor(1))->value(), firstRecord);
    // svrctl's path: the same maps without loading programs.
    auto pinned = fp::PinnedMaps::open(guard.path);
    ASSERT_TRUE(pinned.ok()) << pinned.error().describe();
    EXPECT_EQ(fp::SessionTable(pinned->fds().sessions).list()->size(), 1u);
}

TEST(FastPathApi, LayoutChangeIsRefusedNamingTheMap)
{
    PinRootGuard guard;
    ASSERT_EQ(::mkdir(guard.path.c_str(), 0700), 0) << std::strerror(errno);
    // A "sessions" map from an older contract: 40-byte keys.
    svr::UniqueFd old(bpf_map_create(BPF_MAP_TYPE_HASH, "sessions", 40,
                                     sizeof(svr_session_value), 16, nullptr));
    ASSERT_TRUE(old.valid()) << std::strerror(errno);
    ASSERT_EQ(bpf_obj_pin(old.get(), (guard.path + "/sessions").c_str()), 0);

    fp::FastPathOptions options = ephemeral();
    options.pinRoot = guard.path;
    auto path = fp::FastPath::open(options);
    ASSERT_FALSE(path.ok());
    EXPECT_NE(path.error().message.find("map 'sessions'"), std::string::npos)
        << path.error().message;
    EXPECT_NE(path.error().message.find("40 B"), std::string::npos) << path.error().message;
    auto pinned = fp::PinnedMaps::open(guard.path);
    ASSERT_FALSE(pinned.ok());
    EXPECT_NE(pinned.error().message.find("sessions"), std::string::npos);
}

TEST(FastPathApi, PartOfTheSessionTablePinnedIsRefused)
{
    PinRootGuard guard;
    ASSERT_EQ(::mkdir(guard.path.c_str(), 0700), 0) << std::strerror(errno);
    // Records without their index and seed cannot be found again: refuse, never re-seed.
    LIBBPF_OPTS(bpf_map_create_opts, mappable, .map_flags = BPF_F_MMAPABLE);
    svr::UniqueFd records(bpf_map_create(BPF_MAP_TYPE_ARRAY, "sessions", sizeof(std::uint32_t),
                                         sizeof(svr_session_record), 4096, &mappable));
    ASSERT_TRUE(records.valid()) << std::strerror(errno);
    ASSERT_EQ(bpf_obj_pin(records.get(), (guard.path + "/sessions").c_str()), 0);

    fp::FastPathOptions options = ephemeral();
    options.pinRoot = guard.path;
    auto path = fp::FastPath::open(options);
    ASSERT_FALSE(path.ok());
    EXPECT_NE(path.error().message.find("1 of the 3 session table maps"), std::string::npos)
        << path.error().message;
}

TEST(FastPathApi, MissingPinRootIsReported)
{
    auto pinned = fp::PinnedMaps::open("/sys/fs/bpf/svr-test-does-not-exist");
    ASSERT_FALSE(pinned.ok());
    EXPECT_EQ(pinned.error().code, std::errc::no_such_file_or_directory);
}

TEST(FastPathApi, AttachDetachInPrivateNetns)
{
    ASSERT_NO_FATAL_FAILURE(enterPrivateNetns());
    auto path = fp::FastPath::open(ephemeral());
    ASSERT_TRUE(path.ok()) << path.error().describe();
    const fp::MapFds maps = (*path)->maps();
    ASSERT_TRUE((*path)->attach("vapi0").ok());
    ASSERT_TRUE((*path)->attach("vapi1", fp::XdpMode::Generic).ok());
    // Re-attaching replaces our own program and keeps the punt slot.
    const std::uint32_t vapi0 = *fp::interfaceIndex("vapi0");
    const std::uint32_t vapi1 = *fp::interfaceIndex("vapi1");
    const svr_iface before = *fp::Ifaces(maps.ifaces).get(vapi0);
    auto again = (*path)->attach("vapi0");
    ASSERT_TRUE(again.ok()) << again.error().describe();
    const svr_iface after = *fp::Ifaces(maps.ifaces).get(vapi0);
    EXPECT_EQ(after.punt_queue_base, before.punt_queue_base);
    EXPECT_EQ(after.flags, static_cast<__u32>(SVR_IFACE_F_ROUTER));
    EXPECT_GE(after.punt_queue_count, 1u);

    auto attached = fp::attachedInterfaces(maps);
    ASSERT_TRUE(attached.ok());
    ASSERT_EQ(attached->size(), 2u);
    for (const auto& one : *attached) {
        EXPECT_GT(one.xdpProgramId, 0u) << one.name;
        EXPECT_EQ(one.xdpMode, one.ifindex == vapi1 ? "generic" : "native") << one.name;
    }
    const svr_iface other = *fp::Ifaces(maps.ifaces).get(vapi1);
    EXPECT_NE(other.punt_queue_base, after.punt_queue_base); // slots never shared
    EXPECT_TRUE(*fp::TxPorts(maps.txPorts).contains(vapi0));

    // A punt socket binds at the interface's slot and leaves it on close.
    {
        auto socket = fp::PuntSocket::open(maps, "vapi0");
        ASSERT_TRUE(socket.ok()) << socket.error().describe();
        EXPECT_EQ((*socket)->slot(), after.punt_queue_base);
        auto none = (*socket)->receive(0);
        ASSERT_TRUE(none.ok());
    }
    EXPECT_FALSE(fp::PuntSocket::open(maps, "lo").ok()); // not a router interface

    // transmit() sends out of the bound interface: the peer's stack sees the frame (svr's
    // XDP passes non-IP frames).
    {
        svr::UniqueFd sniffer(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL)));
        ASSERT_TRUE(sniffer.valid()) << std::strerror(errno);
        sockaddr_ll bindTo{};
        bindTo.sll_family = AF_PACKET;
        bindTo.sll_protocol = htons(ETH_P_ALL);
        bindTo.sll_ifindex = static_cast<int>(vapi1);
        ASSERT_EQ(::bind(sniffer.get(), reinterpret_cast<sockaddr*>(&bindTo), sizeof(bindTo)), 0);
        timeval wait{2, 0};
        ::setsockopt(sniffer.get(), SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));

        auto socket = fp::PuntSocket::open(maps, "vapi0");
        ASSERT_TRUE(socket.ok()) << socket.error().describe();
        std::vector<std::uint8_t> frame(60, 0);
        std::memset(frame.data(), 0xff, 6);                    // broadcast
        frame[6] = 0x02;                                       // locally administered source
        frame[12] = 0x88;                                      // local experimental ethertype
        frame[13] = 0xb5;
        std::memcpy(frame.data() + 14, "svr-punt-tx", 11);
        ASSERT_TRUE((*socket)->transmit(frame).ok());
        bool seen = false;
        std::uint8_t buffer[2048];
        for (int tries = 0; tries < 50 && !seen; ++tries) {
            const ssize_t got = ::recv(sniffer.get(), buffer, sizeof(buffer), 0);
            if (got < 0) {
                break; // timeout
            }
            seen = got >= 25 && std::memcmp(buffer + 14, "svr-punt-tx", 11) == 0;
        }
        EXPECT_TRUE(seen) << "frame sent through the AF_XDP TX ring never reached the peer";
    }

    ASSERT_TRUE((*path)->detach("vapi0").ok());
    EXPECT_FALSE(*fp::TxPorts(maps.txPorts).contains(vapi0));
    EXPECT_EQ(fp::Ifaces(maps.ifaces).get(vapi0)->flags, 0u);
    __u32 programId = 0;
    ASSERT_EQ(bpf_xdp_query_id(static_cast<int>(vapi0), 0, &programId), 0);
    EXPECT_EQ(programId, 0u);
    ASSERT_TRUE((*path)->detachAll().ok());
    EXPECT_TRUE(fp::attachedInterfaces(maps)->empty());
}

TEST(FastPathApi, ForeignXdpProgramIsNotReplaced)
{
    ASSERT_NO_FATAL_FAILURE(enterPrivateNetns());
    // Any XDP program that is not svr's: a trivial one loaded from raw instructions.
    const bpf_insn passProgram[] = {
        {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, XDP_PASS},
        {BPF_JMP | BPF_EXIT, 0, 0, 0, 0},
    };
    svr::UniqueFd foreign(bpf_prog_load(BPF_PROG_TYPE_XDP, "not_svr", "GPL", passProgram, 2,
                                        nullptr));
    ASSERT_TRUE(foreign.valid()) << std::strerror(errno);
    const std::uint32_t ifindex = *fp::interfaceIndex("vapi0");
    ASSERT_EQ(bpf_xdp_attach(static_cast<int>(ifindex), foreign.get(), XDP_FLAGS_DRV_MODE,
                             nullptr),
              0);
    auto path = fp::FastPath::open(ephemeral());
    ASSERT_TRUE(path.ok()) << path.error().describe();
    auto attached = (*path)->attach("vapi0");
    ASSERT_FALSE(attached.ok());
    EXPECT_NE(attached.error().message.find("not_svr"), std::string::npos)
        << attached.error().message;
    // Rolled back: no trace of the failed attach in the maps.
    EXPECT_EQ(fp::Ifaces((*path)->maps().ifaces).get(ifindex)->flags, 0u);
    EXPECT_FALSE(*fp::TxPorts((*path)->maps().txPorts).contains(ifindex));
}

TEST(FastPathApi, UnknownInterfaceIsReported)
{
    ASSERT_NO_FATAL_FAILURE(enterPrivateNetns());
    auto path = fp::FastPath::open(ephemeral());
    ASSERT_TRUE(path.ok()) << path.error().describe();
    auto attached = (*path)->attach("nosuchif0");
    ASSERT_FALSE(attached.ok());
    EXPECT_NE(attached.error().message.find("nosuchif0"), std::string::npos);
}

// Each router interface counts in a stats slot of its own, whatever its ifindex: an interface
// numbered far past the old 4096-entry tables (a host with much interface churn) attaches and
// counts apart; a slot outlives re-attaches and starts from zero when handed to another one.
TEST(FastPathApi, StatsSlotsPerInterfaceWhateverTheIfindex)
{
    ASSERT_NO_FATAL_FAILURE(enterPrivateNetns());
    ASSERT_EQ(std::system("ip link add vbig0 index 60000 type veth peer name vbig1 && "
                          "ip link set vbig0 up && ip link set vbig1 up"),
              0);
    auto path = fp::FastPath::open(ephemeral());
    ASSERT_TRUE(path.ok()) << path.error().describe();
    const fp::MapFds maps = (*path)->maps();
    fp::Ifaces ifaces(maps.ifaces);
    fp::StatsTable stats(maps.stats, maps.ifaces);
    const std::uint32_t vapi0 = *fp::interfaceIndex("vapi0");
    ASSERT_EQ(*fp::interfaceIndex("vbig0"), 60000u);

    ASSERT_TRUE((*path)->attach("vapi0").ok());
    auto big = (*path)->attach("vbig0");
    ASSERT_TRUE(big.ok()) << big.error().describe();
    const std::uint32_t slotA = ifaces.get(vapi0)->stats_slot;
    const std::uint32_t slotBig = ifaces.get(60000)->stats_slot;
    EXPECT_GE(slotA, 1u);
    EXPECT_GE(slotBig, 1u);
    EXPECT_NE(slotA, slotBig);

    // Traffic into vbig0 (ARP requests from its peer, unanswered) counts in its slot only.
    ASSERT_EQ(std::system("ip addr add 192.0.2.1/24 dev vbig1 && "
                          "(ping -c 2 -W 1 192.0.2.99 >/dev/null 2>&1 || true)"),
              0);
    const std::uint64_t bigPackets = stats.read(60000)->verdict_packets[SVR_VERDICT_PASS] +
                                     stats.read(60000)->verdict_packets[SVR_VERDICT_DROP] +
                                     stats.read(60000)->verdict_packets[SVR_VERDICT_PUNT];
    EXPECT_GE(bigPackets, 1u);
    EXPECT_EQ(stats.readSlot(0)->verdict_packets[SVR_VERDICT_PUNT], 0u);
    const svr_stats ofA = *stats.read(vapi0);
    EXPECT_EQ(ofA.verdict_packets[SVR_VERDICT_PUNT] + ofA.verdict_packets[SVR_VERDICT_DROP], 0u);

    // Re-attaching keeps the slot and its counters.
    ASSERT_TRUE((*path)->attach("vbig0").ok());
    EXPECT_EQ(ifaces.get(60000)->stats_slot, slotBig);
    EXPECT_GE(stats.readSlot(slotBig)->verdict_packets[SVR_VERDICT_PASS] +
                  stats.readSlot(slotBig)->verdict_packets[SVR_VERDICT_DROP] +
                  stats.readSlot(slotBig)->verdict_packets[SVR_VERDICT_PUNT],
              bigPackets);

    // Detached, its slot is free; the next interface takes it, counting from zero.
    ASSERT_TRUE((*path)->detach("vbig0").ok());
    EXPECT_EQ(ifaces.get(60000)->stats_slot, 0u);
    ASSERT_TRUE((*path)->attach("vapi1").ok());
    const std::uint32_t vapi1 = *fp::interfaceIndex("vapi1");
    EXPECT_EQ(ifaces.get(vapi1)->stats_slot, slotBig);
    const svr_stats fresh = *stats.read(vapi1);
    EXPECT_EQ(fresh.verdict_packets[SVR_VERDICT_PASS] + fresh.verdict_packets[SVR_VERDICT_DROP] +
                  fresh.verdict_packets[SVR_VERDICT_PUNT],
              0u);
}
