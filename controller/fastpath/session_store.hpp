// The session table's algorithm (bpf/include/svr_session.h) over memory the programs share:
// the records, the bucket index and the info. Pure memory, so the BPF maps' mmaps in the
// product and plain arrays in unit tests run the same code. Several writers (svrd, svrctl)
// may work on one table at once: records are claimed and slots published with atomic
// compare-and-swap; writers of one key serialise among themselves (svrd under its state
// lock; svrctl sessions have ids of their own).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/result.hpp"
#include "fastpath/abi.hpp"
#include "fastpath/session.hpp"

namespace svr::fastpath {

enum class InsertMode { CreateOnly, CreateOrReplace };

// A new table's info: the geometry and a seed (a power-of-two bucket count, at least 2).
Status initialiseSessionInfo(svr_session_info& info, std::size_t buckets, std::size_t records,
                             std::uint64_t seed);
// Buckets for a table of `records` records: a power of two holding at least twice as many
// slots as records (half full at most).
std::uint32_t sessionBucketsFor(std::uint32_t records);

class SessionStore {
public:
    // info must be initialised for these spans (checked by the owner: checkGeometry).
    SessionStore(std::span<svr_session_record> records, std::span<svr_session_bucket> buckets,
                 svr_session_info& info);
    static Status checkGeometry(const svr_session_info& info, std::size_t buckets,
                                std::size_t records);

    Status insert(const svr_session_key& key, const svr_session_value& value, InsertMode mode);
    std::optional<svr_session_value> lookup(const svr_session_key& key) const;
    bool erase(const svr_session_key& key); // false: there was no such entry
    // Every entry reachable from the index (what the programs can find).
    std::vector<SessionEntry> entries() const;
    // Record number of the entry for key (what `bpftool map lookup` takes), if any.
    std::optional<std::uint32_t> recordOf(const svr_session_key& key) const;
    std::uint32_t capacity() const { return static_cast<std::uint32_t>(records_.size()); }
    std::uint32_t used() const; // records claimed or live

private:
    struct SlotRef {
        std::uint32_t bucket;
        std::uint32_t slot;
        std::uint64_t content;
    };
    // A key as the table sees it: its words (compared) and hash (tag, buckets), once.
    struct Probe {
        __u64 words[SVR_SESSION_KEY_WORDS];
        std::uint64_t hash;
    };
    Probe probe(const svr_session_key& key) const;
    std::array<std::uint32_t, 2> candidateBuckets(std::uint64_t hash) const;
    std::optional<SlotRef> find(const Probe& probe) const;
    bool stillPublished(const SlotRef& ref) const;
    Result<std::uint32_t> claimRecord();
    void releaseRecord(std::uint32_t record);
    __u64& slotAt(std::uint32_t bucket, std::uint32_t slot) const;

    std::span<svr_session_record> records_;
    std::span<svr_session_bucket> buckets_;
    svr_session_info& info_;
};

} // namespace svr::fastpath
