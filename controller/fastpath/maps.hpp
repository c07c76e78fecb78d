// Typed access to the fast path's maps. Wrappers hold a borrowed map fd: the owner is either
// a loaded FastPath (skeleton) or PinnedMaps (opened from bpffs without loading programs,
// which is all svrctl needs to manage sessions of a running router).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/mapped_memory.hpp"
#include "common/result.hpp"
#include "common/unique_fd.hpp"
#include "fastpath/abi.hpp"
#include "fastpath/session.hpp"
#include "fastpath/session_store.hpp"

namespace svr::fastpath {

// The session table's maps (sessions, session_index, session_info) mapped into this
// process. Borrows the fds; owned next to them by FastPath or PinnedMaps.
class SessionMaps {
public:
    // Maps the three maps and, for a table nobody initialised yet, writes its info (a random
    // seed, the geometry).
    static Result<std::unique_ptr<SessionMaps>> open(int recordsFd, int indexFd, int infoFd);
    SessionStore& store() { return store_; }

private:
    SessionMaps(MappedMemory records, MappedMemory index, MappedMemory info,
                std::span<svr_session_record> recordSpan, std::span<svr_session_bucket> buckets);

    MappedMemory records_, index_, info_;
    SessionStore store_;
};

// Borrowed fds of every map of the fast path (the session table mapped: SessionMaps).
struct MapFds {
    SessionMaps* sessions = nullptr;
    int ifaces = -1;
    int localAddrs = -1;
    int stats = -1;
    int txPorts = -1;
    int xsks = -1;
    int dosBuckets = -1;
};

// What the programs expect of one map; checked against a pinned map before it is reused.
struct MapLayout {
    const char* name;
    std::uint32_t type;
    std::uint32_t keySize;
    std::uint32_t valueSize;
};
const std::vector<MapLayout>& expectedMapLayouts();
// Refuses (naming the map and both layouts) when the map behind fd has another layout.
Status checkMapLayout(int fd, const MapLayout& expected, const std::string& where);

std::string defaultPinRoot(const std::string& router);
// Router names become directory names: [A-Za-z0-9_.-], 1..64 characters, not "." or "..".
Status validateRouterName(const std::string& router);

// The pinned maps of one router, opened without loading any program.
class PinnedMaps {
public:
    static Result<PinnedMaps> open(const std::string& pinRoot);
    MapFds fds() const;
    const std::string& pinRoot() const { return pinRoot_; }

private:
    std::string pinRoot_;
    UniqueFd sessions_, sessionIndex_, sessionInfo_, ifaces_, localAddrs_, stats_, txPorts_,
        xsks_, dosBuckets_;
    std::unique_ptr<SessionMaps> sessionMaps_;
};

// The session table's operations, on a SessionMaps another object owns.
class SessionTable {
public:
    explicit SessionTable(SessionMaps* maps) : maps_(maps) {}

    Status insert(const svr_session_key& key, const svr_session_value& value,
                  InsertMode mode = InsertMode::CreateOnly);
    Result<std::optional<svr_session_value>> lookup(const svr_session_key& key) const;
    Result<bool> erase(const svr_session_key& key); // false: there was no such entry
    // Every entry, a walk of the mapped index (no syscall).
    Result<std::vector<SessionEntry>> list() const;
    // Record number of key's entry: `bpftool map lookup pinned .../sessions key <n as 4 bytes>`.
    Result<std::optional<std::uint32_t>> recordOf(const svr_session_key& key) const;
    // Deletes keys; returns how many were deleted.
    Result<std::size_t> eraseBatch(const std::vector<svr_session_key>& keys);
    // Deletes both directions (every entry) of one session id; returns how many.
    Result<std::size_t> eraseSession(std::uint64_t sessionId);
    Result<std::size_t> clear();
    Result<std::uint32_t> capacity() const; // records (max_entries of sessions)

private:
    SessionMaps* maps_; // null: not open (every call says so)
};

class StatsTable {
public:
    StatsTable(int statsFd, int ifacesFd) : fd_(statsFd), ifacesFd_(ifacesFd) {}
    // Sum over CPUs of the interface's stats slot (svr_iface.stats_slot; an interface without
    // one reads the shared slot 0).
    Result<svr_stats> read(std::uint32_t ifindex) const;
    // Sum over CPUs of one slot.
    Result<svr_stats> readSlot(std::uint32_t slot) const;
    // Zeroes one slot on every CPU (a slot handed to another interface).
    Status clearSlot(std::uint32_t slot);
    // Sum over every slot.
    Result<svr_stats> total() const;

private:
    int fd_;
    int ifacesFd_;
};

class Ifaces {
public:
    explicit Ifaces(int fd) : fd_(fd) {}
    Result<svr_iface> get(std::uint32_t ifindex) const;
    Status set(std::uint32_t ifindex, const svr_iface& iface);
    Status clear(std::uint32_t ifindex) { return set(ifindex, svr_iface{}); }
    // Interfaces marked SVR_IFACE_F_ROUTER (one batch read of the whole array).
    Result<std::vector<std::pair<std::uint32_t, svr_iface>>> routerInterfaces() const;

private:
    int fd_;
};

class LocalAddrs {
public:
    explicit LocalAddrs(int fd) : fd_(fd) {}
    Status add(const IpAddress& address, const svr_local_addr& value);
    Result<bool> remove(const IpAddress& address);
    Result<std::vector<std::pair<svr_addr_key, svr_local_addr>>> list() const;

private:
    int fd_;
};

class TxPorts {
public:
    explicit TxPorts(int fd) : fd_(fd) {}
    // Must run in the router's network namespace: the kernel resolves the ifindex there.
    Status add(std::uint32_t ifindex);
    Result<bool> remove(std::uint32_t ifindex);
    Result<bool> contains(std::uint32_t ifindex) const;

private:
    int fd_;
};

class Xsks {
public:
    explicit Xsks(int fd) : fd_(fd) {}
    Status set(std::uint32_t slot, int xskFd);
    Result<bool> remove(std::uint32_t slot);

private:
    int fd_;
};

} // namespace svr::fastpath
