#include "fastpath/maps.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>

#include <fmt/format.h>

namespace svr::fastpath {
namespace {

template <typename Key, typename Value>
Status updateElement(int fd, const Key& key, const Value& value, std::uint64_t flags,
                     const std::string& what)
{
    if (bpf_map_update_elem(fd, &key, &value, flags) != 0) {
        return Error::fromErrno(errno, what);
    }
    return {};
}

template <typename Key>
Result<bool> deleteElement(int fd, const Key& key, const std::string& what)
{
    if (bpf_map_delete_elem(fd, &key) != 0) {
        if (errno == ENOENT) {
            return false;
        }
        return Error::fromErrno(errno, what);
    }
    return true;
}

// Walks the keys with get_next_key; calls visit(key) for each.
template <typename Key, typename Visit>
Status forEachKey(int fd, Visit&& visit, const std::string& what)
{
    Key key{};
    Key next{};
    const Key* previous = nullptr;
    while (bpf_map_get_next_key(fd, previous, &next) == 0) {
        key = next;
        previous = &key;
        if (Status status = visit(key); !status) {
            return status;
        }
    }
    if (errno != ENOENT) {
        return Error::fromErrno(errno, what);
    }
    return {};
}

void addStats(svr_stats& into, const svr_stats& from)
{
    // svr_stats is only __u64 counters: add it as an array.
    static_assert(sizeof(svr_stats) % sizeof(std::uint64_t) == 0);
    auto* to = reinterpret_cast<std::uint64_t*>(&into);
    const auto* add = reinterpret_cast<const std::uint64_t*>(&from);
    for (std::size_t i = 0; i < sizeof(svr_stats) / sizeof(std::uint64_t); ++i) {
        to[i] += add[i];
    }
}

const char* mapTypeName(std::uint32_t type)
{
    const char* name = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(type));
    return name != nullptr ? name : "unknown";
}

} // namespace

const std::vector<MapLayout>& expectedMapLayouts()
{
    static const std::vector<MapLayout> layouts = {
        {"sessions", BPF_MAP_TYPE_ARRAY, sizeof(std::uint32_t), sizeof(svr_session_record)},
        {"session_index", BPF_MAP_TYPE_ARRAY, sizeof(std::uint32_t), sizeof(svr_session_bucket)},
        {"session_info", BPF_MAP_TYPE_ARRAY, sizeof(std::uint32_t), sizeof(svr_session_info)},
        {"ifaces", BPF_MAP_TYPE_ARRAY, sizeof(std::uint32_t), sizeof(svr_iface)},
        {"local_addrs", BPF_MAP_TYPE_HASH, sizeof(svr_addr_key), sizeof(svr_local_addr)},
        {"stats", BPF_MAP_TYPE_PERCPU_ARRAY, sizeof(std::uint32_t), sizeof(svr_stats)},
        {"tx_ports", BPF_MAP_TYPE_DEVMAP_HASH, sizeof(std::uint32_t), sizeof(std::uint32_t)},
        {"xsks", BPF_MAP_TYPE_XSKMAP, sizeof(std::uint32_t), sizeof(std::uint32_t)},
        {"dos_buckets", BPF_MAP_TYPE_LRU_HASH, sizeof(svr_addr_key), sizeof(svr_token_bucket)},
    };
    return layouts;
}

Status checkMapLayout(int fd, const MapLayout& expected, const std::string& where)
{
    bpf_map_info info{};
    __u32 length = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &length) != 0) {
        return Error::fromErrno(errno, fmt::format("map info of {}", where));
    }
    if (info.type != expected.type || info.key_size != expected.keySize ||
        info.value_size != expected.valueSize) {
        return Error{std::make_error_code(std::errc::invalid_argument),
                     fmt::format("map '{}' at {} has another layout ({} key {} B value {} B) than "
                                 "this svr expects ({} key {} B value {} B): the contract "
                                 "changed; detach with --unpin (drops the sessions) or run the "
                                 "svr version that created it",
                                 expected.name, where, mapTypeName(info.type), info.key_size,
                                 info.value_size, mapTypeName(expected.type), expected.keySize,
                                 expected.valueSize)};
    }
    return {};
}

std::string defaultPinRoot(const std::string& router)
{
    return "/sys/fs/bpf/svr/" + router;
}

Status validateRouterName(const std::string& router)
{
    constexpr std::size_t kMaxLength = 64;
    const bool validChars = !router.empty() && router.size() <= kMaxLength &&
                            router.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                                     "0123456789_.-") == std::string::npos;
    if (!validChars || router == "." || router == "..") {
        return Error::invalid(fmt::format(
            "router name '{}' is invalid: use 1..64 of A-Z a-z 0-9 _ . -", router));
    }
    return {};
}

Result<PinnedMaps> PinnedMaps::open(const std::string& pinRoot)
{
    struct stat info{};
    if (::stat(pinRoot.c_str(), &info) != 0 || !S_ISDIR(info.st_mode)) {
        return Error::fromErrno(ENOENT, fmt::format("no maps under {}", pinRoot));
    }
    PinnedMaps maps;
    maps.pinRoot_ = pinRoot;
    const std::array<UniqueFd*, 9> slots = {
        &maps.sessions_, &maps.sessionIndex_, &maps.sessionInfo_, &maps.ifaces_, &maps.localAddrs_,
        &maps.stats_,    &maps.txPorts_,      &maps.xsks_,        &maps.dosBuckets_};
    static_assert(slots.size() == 9);
    const auto& layouts = expectedMapLayouts();
    for (std::size_t i = 0; i < slots.size(); ++i) {
        const std::string path = pinRoot + "/" + layouts[i].name;
        UniqueFd fd(bpf_obj_get(path.c_str()));
        if (!fd.valid()) {
            return Error::fromErrno(errno, fmt::format("open pinned map {}", path));
        }
        if (Status layout = checkMapLayout(fd.get(), layouts[i], path); !layout) {
            return layout.error();
        }
        *slots[i] = std::move(fd);
    }
    auto sessionMaps =
        SessionMaps::open(maps.sessions_.get(), maps.sessionIndex_.get(), maps.sessionInfo_.get());
    if (!sessionMaps) {
        return sessionMaps.error();
    }
    maps.sessionMaps_ = std::move(*sessionMaps);
    return maps;
}

MapFds PinnedMaps::fds() const
{
    return MapFds{sessionMaps_.get(), ifaces_.get(), localAddrs_.get(), stats_.get(),
                  txPorts_.get(),     xsks_.get(),   dosBuckets_.get()};
}

// ---- SessionMaps

namespace {

struct MappedArray {
    MappedMemory memory;
    std::size_t entries = 0;
};

// A BPF_F_MMAPABLE array: its entries are value_size (rounded up to 8) bytes apart.
Result<MappedArray> mapArray(int fd, std::size_t valueSize, const char* name)
{
    bpf_map_info info{};
    __u32 length = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &length) != 0) {
        return Error::fromErrno(errno, fmt::format("map info of {}", name));
    }
    if (info.type != BPF_MAP_TYPE_ARRAY || info.value_size != valueSize ||
        (info.map_flags & BPF_F_MMAPABLE) == 0 || valueSize % 8 != 0) {
        return Error::invalid(fmt::format("map {} is not a mappable array of {}-byte entries",
                                          name, valueSize));
    }
    const std::size_t pageSize = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
    const std::size_t bytes =
        (static_cast<std::size_t>(info.max_entries) * valueSize + pageSize - 1) / pageSize *
        pageSize;
    void* address = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (address == MAP_FAILED) {
        return Error::fromErrno(errno, fmt::format("mmap map {}", name));
    }
    return MappedArray{MappedMemory(address, bytes), info.max_entries};
}

Result<std::uint64_t> randomSeed()
{
    std::uint64_t seed = 0;
    ssize_t got = 0;
    do {
        got = ::getrandom(&seed, sizeof(seed), 0);
    } while (got < 0 && errno == EINTR);
    if (got != static_cast<ssize_t>(sizeof(seed))) {
        return Error::fromErrno(got < 0 ? errno : EIO, "getrandom for the session table seed");
    }
    return seed;
}

} // namespace

SessionMaps::SessionMaps(MappedMemory records, MappedMemory index, MappedMemory info,
                         std::span<svr_session_record> recordSpan,
                         std::span<svr_session_bucket> buckets)
    : records_(std::move(records)), index_(std::move(index)), info_(std::move(info)),
      store_(recordSpan, buckets, *static_cast<svr_session_info*>(info_.get()))
{
}

Result<std::unique_ptr<SessionMaps>> SessionMaps::open(int recordsFd, int indexFd, int infoFd)
{
    auto records = mapArray(recordsFd, sizeof(svr_session_record), "sessions");
    if (!records) {
        return records.error();
    }
    auto index = mapArray(indexFd, sizeof(svr_session_bucket), "session_index");
    if (!index) {
        return index.error();
    }
    auto info = mapArray(infoFd, sizeof(svr_session_info), "session_info");
    if (!info) {
        return info.error();
    }
    auto& tableInfo = *static_cast<svr_session_info*>(info->memory.get());
    if (std::atomic_ref<__u32>(tableInfo.bucket_mask).load(std::memory_order_acquire) == 0) {
        auto seed = randomSeed();
        if (!seed) {
            return seed.error();
        }
        if (Status initialised =
                initialiseSessionInfo(tableInfo, index->entries, records->entries, *seed);
            !initialised) {
            return initialised.error();
        }
    }
    if (Status geometry = SessionStore::checkGeometry(tableInfo, index->entries, records->entries);
        !geometry) {
        return geometry.error();
    }
    std::span<svr_session_record> recordSpan(
        static_cast<svr_session_record*>(records->memory.get()), records->entries);
    std::span<svr_session_bucket> buckets(static_cast<svr_session_bucket*>(index->memory.get()),
                                          index->entries);
    return std::unique_ptr<SessionMaps>(new SessionMaps(std::move(records->memory),
                                                        std::move(index->memory),
                                                        std::move(info->memory), recordSpan,
                                                        buckets));
}

// ---- SessionTable

namespace {

Error notOpen()
{
    return Error::invalid("the session table is not open");
}

} // namespace

Status SessionTable::insert(const svr_session_key& key, const svr_session_value& value,
                            InsertMode mode)
{
    if (maps_ == nullptr) {
        return notOpen();
    }
    return maps_->store().insert(key, value, mode);
}

Result<std::optional<svr_session_value>> SessionTable::lookup(const svr_session_key& key) const
{
    if (maps_ == nullptr) {
        return notOpen();
    }
    return maps_->store().lookup(key);
}

Result<std::optional<std::uint32_t>> SessionTable::recordOf(const svr_session_key& key) const
{
    if (maps_ == nullptr) {
        return notOpen();
    }
    return maps_->store().recordOf(key);
}

Result<bool> SessionTable::erase(const svr_session_key& key)
{
    if (maps_ == nullptr) {
        return notOpen();
    }
    return maps_->store().erase(key);
}

Result<std::vector<SessionEntry>> SessionTable::list() const
{
    if (maps_ == nullptr) {
        return notOpen();
    }
    return maps_->store().entries();
}

Result<std::size_t> SessionTable::eraseBatch(const std::vector<svr_session_key>& keys)
{
    if (maps_ == nullptr) {
        return notOpen();
    }
    std::size_t erased = 0;
    for (const svr_session_key& key : keys) {
        erased += maps_->store().erase(key) ? 1 : 0;
    }
    return erased;
}

Result<std::size_t> SessionTable::eraseSession(std::uint64_t sessionId)
{
    auto entries = list();
    if (!entries) {
        return entries.error();
    }
    std::vector<svr_session_key> keys;
    for (const SessionEntry& entry : *entries) {
        if (entry.value.session_id == sessionId) {
            keys.push_back(entry.key);
        }
    }
    return eraseBatch(keys);
}

Result<std::size_t> SessionTable::clear()
{
    auto entries = list();
    if (!entries) {
        return entries.error();
    }
    std::vector<svr_session_key> keys;
    keys.reserve(entries->size());
    for (const SessionEntry& entry : *entries) {
        keys.push_back(entry.key);
    }
    return eraseBatch(keys);
}

Result<std::uint32_t> SessionTable::capacity() const
{
    if (maps_ == nullptr) {
        return notOpen();
    }
    return maps_->store().capacity();
}

// ---- StatsTable

Result<svr_stats> StatsTable::read(std::uint32_t ifindex) const
{
    std::uint32_t slot = 0;
    svr_iface iface{};
    if (ifindex < SVR_MAX_IFINDEX && bpf_map_lookup_elem(ifacesFd_, &ifindex, &iface) == 0 &&
        iface.stats_slot < SVR_MAX_STATS_SLOTS) {
        slot = iface.stats_slot;
    }
    return readSlot(slot);
}

Status StatsTable::clearSlot(std::uint32_t slot)
{
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) {
        return Error::fromErrno(-cpus, "count possible CPUs");
    }
    const std::vector<svr_stats> zeros(static_cast<std::size_t>(cpus));
    if (bpf_map_update_elem(fd_, &slot, zeros.data(), BPF_ANY) != 0) {
        return Error::fromErrno(errno, fmt::format("clear stats[{}]", slot));
    }
    return {};
}

Result<svr_stats> StatsTable::readSlot(std::uint32_t slot) const
{
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) {
        return Error::fromErrno(-cpus, "count possible CPUs");
    }
    std::vector<svr_stats> perCpu(static_cast<std::size_t>(cpus));
    if (bpf_map_lookup_elem(fd_, &slot, perCpu.data()) != 0) {
        return Error::fromErrno(errno, fmt::format("read stats[{}]", slot));
    }
    svr_stats sum{};
    for (const svr_stats& one : perCpu) {
        addStats(sum, one);
    }
    return sum;
}

Result<svr_stats> StatsTable::total() const
{
    svr_stats sum{};
    for (std::uint32_t slot = 0; slot < SVR_MAX_STATS_SLOTS; ++slot) {
        auto one = readSlot(slot);
        if (!one) {
            if (one.error().code == std::errc::no_such_file_or_directory) {
                break; // a map smaller than SVR_MAX_STATS_SLOTS
            }
            return one.error();
        }
        addStats(sum, *one);
    }
    return sum;
}

// ---- Ifaces

Result<svr_iface> Ifaces::get(std::uint32_t ifindex) const
{
    svr_iface iface{};
    if (bpf_map_lookup_elem(fd_, &ifindex, &iface) != 0) {
        return Error::fromErrno(errno, fmt::format("read ifaces[{}]", ifindex));
    }
    return iface;
}

Status Ifaces::set(std::uint32_t ifindex, const svr_iface& iface)
{
    if (ifindex == 0 || ifindex >= SVR_MAX_IFINDEX) {
        return Error::invalid(fmt::format("ifindex {} has no slot in ifaces (1..{})", ifindex,
                                          SVR_MAX_IFINDEX - 1));
    }
    return updateElement(fd_, ifindex, iface, BPF_ANY, fmt::format("write ifaces[{}]", ifindex));
}

Result<std::vector<std::pair<std::uint32_t, svr_iface>>> Ifaces::routerInterfaces() const
{
    std::vector<std::pair<std::uint32_t, svr_iface>> found;
    constexpr std::uint32_t kChunk = 4096;
    std::vector<std::uint32_t> indexes(kChunk);
    std::vector<svr_iface> values(kChunk);
    std::uint32_t batchToken = 0; // arrays use the next index as the cursor
    bool first = true;
    for (;;) {
        __u32 count = kChunk;
        std::uint32_t nextToken = 0;
        const int rc = bpf_map_lookup_batch(fd_, first ? nullptr : &batchToken, &nextToken,
                                            indexes.data(), values.data(), &count, nullptr);
        const int err = rc != 0 ? errno : 0;
        if (rc != 0 && err != ENOENT) {
            return Error::fromErrno(err, "batch read ifaces");
        }
        for (std::uint32_t i = 0; i < count; ++i) {
            if (indexes[i] != 0 && (values[i].flags & SVR_IFACE_F_ROUTER)) {
                found.emplace_back(indexes[i], values[i]);
            }
        }
        if (err == ENOENT) {
            return found;
        }
        batchToken = nextToken;
        first = false;
    }
}

// ---- LocalAddrs

Status LocalAddrs::add(const IpAddress& address, const svr_local_addr& value)
{
    const svr_addr_key key = makeAddrKey(address);
    return updateElement(fd_, key, value, BPF_ANY,
                         fmt::format("add local address {}", formatIpAddress(address)));
}

Result<bool> LocalAddrs::remove(const IpAddress& address)
{
    const svr_addr_key key = makeAddrKey(address);
    return deleteElement(fd_, key,
                         fmt::format("remove local address {}", formatIpAddress(address)));
}

Result<std::vector<std::pair<svr_addr_key, svr_local_addr>>> LocalAddrs::list() const
{
    std::vector<std::pair<svr_addr_key, svr_local_addr>> entries;
    Status walked = forEachKey<svr_addr_key>(
        fd_,
        [&](const svr_addr_key& key) -> Status {
            svr_local_addr value{};
            if (bpf_map_lookup_elem(fd_, &key, &value) == 0) {
                entries.emplace_back(key, value);
            }
            return {};
        },
        "list local addresses");
    if (!walked) {
        return walked.error();
    }
    return entries;
}

// ---- TxPorts

Status TxPorts::add(std::uint32_t ifindex)
{
    return updateElement(fd_, ifindex, ifindex, BPF_ANY,
                         fmt::format("add ifindex {} to tx_ports", ifindex));
}

Result<bool> TxPorts::remove(std::uint32_t ifindex)
{
    return deleteElement(fd_, ifindex, fmt::format("remove ifindex {} from tx_ports", ifindex));
}

Result<bool> TxPorts::contains(std::uint32_t ifindex) const
{
    std::uint32_t value = 0;
    if (bpf_map_lookup_elem(fd_, &ifindex, &value) != 0) {
        if (errno == ENOENT) {
            return false;
        }
        return Error::fromErrno(errno, fmt::format("look up tx_ports[{}]", ifindex));
    }
    return true;
}

// ---- Xsks

Status Xsks::set(std::uint32_t slot, int xskFd)
{
    const std::uint32_t value = static_cast<std::uint32_t>(xskFd);
    return updateElement(fd_, slot, value, BPF_ANY, fmt::format("write xsks[{}]", slot));
}

Result<bool> Xsks::remove(std::uint32_t slot)
{
    return deleteElement(fd_, slot, fmt::format("clear xsks[{}]", slot));
}

} // namespace svr::fastpath
