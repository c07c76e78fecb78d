#include "fastpath/session_store.hpp"

#include <atomic>
#include <bit>
#include <cstring>

#include <fmt/format.h>

namespace svr::fastpath {
namespace {

template <typename T>
std::atomic_ref<T> atomic(T& value)
{
    return std::atomic_ref<T>(value);
}

std::uint32_t recordOfSlot(std::uint64_t content)
{
    return static_cast<std::uint32_t>(content) - 1;
}

bool slotUsed(std::uint64_t content)
{
    return static_cast<std::uint32_t>(content) != 0;
}

std::uint32_t slotTag(std::uint64_t content)
{
    return static_cast<std::uint32_t>(content >> 32);
}

} // namespace

std::uint32_t sessionBucketsFor(std::uint32_t records)
{
    const std::uint64_t slotsNeeded = 2ULL * records;
    const std::uint64_t buckets = (slotsNeeded + SVR_SESSION_BUCKET_SLOTS - 1) /
                                  SVR_SESSION_BUCKET_SLOTS;
    return static_cast<std::uint32_t>(std::bit_ceil(std::max<std::uint64_t>(buckets, 2)));
}

Status initialiseSessionInfo(svr_session_info& info, std::size_t buckets, std::size_t records,
                             std::uint64_t seed)
{
    if (buckets < 2 || !std::has_single_bit(buckets) || buckets > (1ULL << 31) ||
        records == 0 || records > UINT32_MAX - 1) {
        return Error::invalid(fmt::format(
            "session table geometry: {} buckets (a power of two, at least 2), {} records",
            buckets, records));
    }
    info.seed = seed;
    info.records = static_cast<std::uint32_t>(records);
    atomic(info.live).store(0);
    atomic(info.next_record).store(0);
    // Last: a non-zero mask says the rest is written.
    atomic(info.bucket_mask).store(static_cast<std::uint32_t>(buckets - 1),
                                   std::memory_order_release);
    return {};
}

SessionStore::SessionStore(std::span<svr_session_record> records,
                           std::span<svr_session_bucket> buckets, svr_session_info& info)
    : records_(records), buckets_(buckets), info_(info)
{
}

Status SessionStore::checkGeometry(const svr_session_info& info, std::size_t buckets,
                                   std::size_t records)
{
    if (static_cast<std::size_t>(info.bucket_mask) + 1 != buckets || info.records != records) {
        return Error::invalid(fmt::format(
            "session table info says {} buckets and {} records, the maps hold {} and {}",
            static_cast<std::size_t>(info.bucket_mask) + 1, info.records, buckets, records));
    }
    return {};
}

__u64& SessionStore::slotAt(std::uint32_t bucket, std::uint32_t slot) const
{
    return buckets_[bucket].slots[slot];
}

SessionStore::Probe SessionStore::probe(const svr_session_key& key) const
{
    Probe probe{};
    for (int word = 0; word < SVR_SESSION_KEY_WORDS; ++word) {
        probe.words[word] = svr_session_key_word(&key, word);
    }
    probe.hash = svr_session_hash_words(probe.words, info_.seed);
    return probe;
}

std::array<std::uint32_t, 2> SessionStore::candidateBuckets(std::uint64_t hash) const
{
    return {svr_session_bucket_a(hash, info_.bucket_mask),
            svr_session_bucket_b(hash, info_.bucket_mask)};
}

std::optional<SessionStore::SlotRef> SessionStore::find(const Probe& probe) const
{
    const std::uint32_t tag = svr_session_tag(probe.hash);
    for (const std::uint32_t bucket : candidateBuckets(probe.hash)) {
        for (std::uint32_t slot = 0; slot < SVR_SESSION_BUCKET_SLOTS; ++slot) {
            const __u64 content =
                atomic(slotAt(bucket, slot)).load(std::memory_order_acquire);
            if (!slotUsed(content) || slotTag(content) != tag) {
                continue;
            }
            const std::uint32_t record = recordOfSlot(content);
            if (record < records_.size() &&
                svr_session_key_has_words(&records_[record].key, probe.words)) {
                return SlotRef{bucket, slot, content};
            }
        }
    }
    return std::nullopt;
}

Result<std::uint32_t> SessionStore::claimRecord()
{
    const std::uint32_t count = capacity();
    if (atomic(info_.live).fetch_add(1) >= count) {
        atomic(info_.live).fetch_sub(1);
        return Error::fromErrno(E2BIG, "insert session: the session table is full");
    }
    // Next fit from a cursor the writers share: a freed record is reused last.
    std::uint32_t start = atomic(info_.next_record).load(std::memory_order_relaxed);
    for (std::uint32_t step = 0; step < count; ++step) {
        const std::uint32_t record = (start + step) % count;
        std::uint32_t expected = SVR_RECORD_FREE;
        if (atomic(records_[record].state)
                .compare_exchange_strong(expected, SVR_RECORD_CLAIMED,
                                         std::memory_order_acquire)) {
            atomic(info_.next_record).store((record + 1) % count, std::memory_order_relaxed);
            return record;
        }
    }
    atomic(info_.live).fetch_sub(1);
    // Every record claimed though the count says otherwise: a writer died mid-insert.
    return Error::fromErrno(E2BIG, "insert session: no free record (the session table is full)");
}

void SessionStore::releaseRecord(std::uint32_t record)
{
    svr_session_record& entry = records_[record];
    atomic(entry.state).store(SVR_RECORD_CLAIMED, std::memory_order_relaxed);
    std::memset(&entry.key, 0, sizeof(entry.key));
    std::memset(&entry.value, 0, sizeof(entry.value));
    atomic(entry.state).store(SVR_RECORD_FREE, std::memory_order_release);
    atomic(info_.live).fetch_sub(1);
}

Status SessionStore::insert(const svr_session_key& key, const svr_session_value& value,
                            InsertMode mode)
{
    const Probe keyProbe = probe(key);
    const std::uint64_t hash = keyProbe.hash;
    std::optional<SlotRef> existing = find(keyProbe);
    if (existing && mode == InsertMode::CreateOnly) {
        return Error::fromErrno(EEXIST, "insert session: an entry with this key exists");
    }
    auto claimed = claimRecord();
    if (!claimed) {
        if (existing) {
            // Full: replace in place (a packet in flight may see a mix of old and new).
            svr_session_record& record = records_[recordOfSlot(existing->content)];
            std::memcpy(&record.value, &value, sizeof(value));
            return {};
        }
        return claimed.error();
    }
    const std::uint32_t recordNr = *claimed;
    svr_session_record& record = records_[recordNr];
    record.key = key;
    record.pad0 = 0;
    record.value = value;
    atomic(record.state).store(SVR_RECORD_LIVE, std::memory_order_release);
    const std::uint64_t content = svr_session_slot(svr_session_tag(hash), recordNr);

    if (existing) {
        // The programs see the old record or the new one, never a mix.
        __u64 expected = existing->content;
        if (atomic(slotAt(existing->bucket, existing->slot))
                .compare_exchange_strong(expected, content, std::memory_order_acq_rel)) {
            releaseRecord(recordOfSlot(existing->content));
            return {};
        }
        releaseRecord(recordNr);
        return Error::fromErrno(EAGAIN, "replace session: another writer changed the entry");
    }

    // The emptier of the two buckets.
    const std::array<std::uint32_t, 2> candidates = candidateBuckets(hash);
    std::uint32_t used[2] = {0, 0};
    for (int b = 0; b < 2; ++b) {
        for (std::uint32_t slot = 0; slot < SVR_SESSION_BUCKET_SLOTS; ++slot) {
            used[b] += slotUsed(atomic(slotAt(candidates[b], slot)).load()) ? 1 : 0;
        }
    }
    const int first = used[1] < used[0] ? 1 : 0;
    for (const int b : {first, 1 - first}) {
        for (std::uint32_t slot = 0; slot < SVR_SESSION_BUCKET_SLOTS; ++slot) {
            __u64 expected = 0;
            if (atomic(slotAt(candidates[b], slot))
                    .compare_exchange_strong(expected, content, std::memory_order_acq_rel)) {
                return {};
            }
        }
    }
    releaseRecord(recordNr);
    return Error::fromErrno(E2BIG, fmt::format("insert session: both buckets of the key ({} and "
                                               "{}) are full",
                                               candidates[0], candidates[1]));
}

std::optional<svr_session_value> SessionStore::lookup(const svr_session_key& key) const
{
    const Probe keyProbe = probe(key);
    for (;;) {
        const auto found = find(keyProbe);
        if (!found) {
            return std::nullopt;
        }
        const svr_session_value value = records_[recordOfSlot(found->content)].value;
        if (stillPublished(*found)) {
            return value;
        }
        // Replaced or removed while it was copied: look again.
    }
}

bool SessionStore::stillPublished(const SlotRef& ref) const
{
    return atomic(slotAt(ref.bucket, ref.slot)).load(std::memory_order_acquire) == ref.content;
}

std::optional<std::uint32_t> SessionStore::recordOf(const svr_session_key& key) const
{
    const auto found = find(probe(key));
    if (!found) {
        return std::nullopt;
    }
    return recordOfSlot(found->content);
}

bool SessionStore::erase(const svr_session_key& key)
{
    const auto found = find(probe(key));
    if (!found) {
        return false;
    }
    __u64 expected = found->content;
    if (!atomic(slotAt(found->bucket, found->slot))
             .compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) {
        return false; // another writer removed or replaced it meanwhile
    }
    releaseRecord(recordOfSlot(found->content));
    return true;
}

std::vector<SessionEntry> SessionStore::entries() const
{
    std::vector<SessionEntry> found;
    for (std::uint32_t bucket = 0; bucket < buckets_.size(); ++bucket) {
        for (std::uint32_t slot = 0; slot < SVR_SESSION_BUCKET_SLOTS; ++slot) {
            const __u64 content =
                atomic(slotAt(bucket, slot)).load(std::memory_order_acquire);
            if (!slotUsed(content) || recordOfSlot(content) >= records_.size()) {
                continue;
            }
            const svr_session_record& record = records_[recordOfSlot(content)];
            SessionEntry entry{record.key, record.value, recordOfSlot(content)};
            // Removed or replaced while it was copied: the copy may be torn; skip it.
            if (stillPublished(SlotRef{bucket, slot, content})) {
                found.push_back(entry);
            }
        }
    }
    return found;
}

std::uint32_t SessionStore::used() const
{
    return atomic(info_.live).load(std::memory_order_relaxed);
}

} // namespace svr::fastpath
