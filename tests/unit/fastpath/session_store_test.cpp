// The session table's algorithm on plain memory: what the controllers write is what the
// programs' lookup (the same hash, tag and buckets from svr_session.h) finds.
#include <gtest/gtest.h>

#include <arpa/inet.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <set>
#include <thread>
#include <vector>

#include "fastpath/session_store.hpp"

namespace fp = svr::fastpath;

namespace {

svr_session_key keyFor(std::uint32_t n)
{
    svr_session_key key{};
    key.ingress_ifindex = 3;
    key.family = SVR_FAMILY_IPV4;
    key.proto = IPPROTO_UDP;
    const std::uint32_t src = htonl(0x0a000000 + n);
    std::memcpy(key.src_addr, &src, 4);
    key.src_port = htons(static_cast<std::uint16_t>(1024 + n % 50000));
    key.dst_port = htons(53);
    return key;
}

svr_session_value valueFor(std::uint64_t id)
{
    svr_session_value value{};
    value.session_id = id;
    value.action = SVR_ACTION_FORWARD;
    return value;
}

// A table on the heap, as the maps would be after the loader initialised them.
class SessionStoreTest : public testing::Test {
protected:
    void make(std::uint32_t records, std::uint64_t seed = 0x5eed)
    {
        records_.assign(records, svr_session_record{});
        buckets_.assign(fp::sessionBucketsFor(records), svr_session_bucket{});
        info_ = svr_session_info{};
        ASSERT_TRUE(fp::initialiseSessionInfo(info_, buckets_.size(), records_.size(), seed));
        store_.emplace(std::span(records_), std::span(buckets_), info_);
    }

    // The lookup of svr_session_lookup.h, written out: tag match in either bucket, then the
    // record's key.
    const svr_session_value* programLookup(const svr_session_key& key) const
    {
        const std::uint64_t hash = svr_session_hash(&key, info_.seed);
        for (const std::uint32_t bucket : {svr_session_bucket_a(hash, info_.bucket_mask),
                                           svr_session_bucket_b(hash, info_.bucket_mask)}) {
            for (const std::uint64_t slot : buckets_[bucket].slots) {
                if (static_cast<std::uint32_t>(slot >> 32) != svr_session_tag(hash) ||
                    static_cast<std::uint32_t>(slot) == 0) {
                    continue;
                }
                const svr_session_record& record = records_[static_cast<std::uint32_t>(slot) - 1];
                if (std::memcmp(&record.key, &key, sizeof(key)) == 0) {
                    return &record.value;
                }
            }
        }
        return nullptr;
    }

    std::size_t usedSlots() const
    {
        std::size_t used = 0;
        for (const svr_session_bucket& bucket : buckets_) {
            used += std::count_if(std::begin(bucket.slots), std::end(bucket.slots),
                                  [](std::uint64_t slot) { return slot != 0; });
        }
        return used;
    }

    std::vector<svr_session_record> records_;
    std::vector<svr_session_bucket> buckets_;
    svr_session_info info_{};
    std::optional<fp::SessionStore> store_;
};

TEST(SessionBuckets, HoldTwiceTheRecordsAsSlotsInAPowerOfTwo)
{
    EXPECT_EQ(fp::sessionBucketsFor(1), 2u);
    EXPECT_EQ(fp::sessionBucketsFor(1024), 256u); // 2048 slots
    EXPECT_EQ(fp::sessionBucketsFor(1000), 256u);
    EXPECT_EQ(fp::sessionBucketsFor(131072), 32768u);
    for (std::uint32_t records : {1u, 7u, 100u, 4096u, 100000u}) {
        const std::uint32_t buckets = fp::sessionBucketsFor(records);
        EXPECT_GE(std::uint64_t{buckets} * SVR_SESSION_BUCKET_SLOTS, 2ULL * records) << records;
        EXPECT_EQ(buckets & (buckets - 1), 0u) << records;
    }
}

TEST(SessionBuckets, BadGeometryIsRefused)
{
    svr_session_info info{};
    EXPECT_FALSE(fp::initialiseSessionInfo(info, 3, 10, 1));
    EXPECT_FALSE(fp::initialiseSessionInfo(info, 1, 10, 1));
    EXPECT_FALSE(fp::initialiseSessionInfo(info, 4, 0, 1));
    EXPECT_EQ(info.bucket_mask, 0u); // still uninitialised
    ASSERT_TRUE(fp::initialiseSessionInfo(info, 4, 10, 1));
    EXPECT_TRUE(fp::SessionStore::checkGeometry(info, 4, 10));
    EXPECT_FALSE(fp::SessionStore::checkGeometry(info, 8, 10));
    EXPECT_FALSE(fp::SessionStore::checkGeometry(info, 4, 11));
}

TEST_F(SessionStoreTest, WhatIsInsertedTheProgramsFind)
{
    make(1024);
    for (std::uint32_t n = 0; n < 1024; ++n) {
        ASSERT_TRUE(store_->insert(keyFor(n), valueFor(n), fp::InsertMode::CreateOnly)) << n;
    }
    for (std::uint32_t n = 0; n < 1024; ++n) {
        const svr_session_value* found = programLookup(keyFor(n));
        ASSERT_NE(found, nullptr) << n;
        EXPECT_EQ(found->session_id, n);
        EXPECT_EQ(store_->lookup(keyFor(n))->session_id, n);
    }
    EXPECT_EQ(programLookup(keyFor(5000)), nullptr);
    EXPECT_FALSE(store_->lookup(keyFor(5000)).has_value());
    EXPECT_EQ(store_->used(), 1024u);
    EXPECT_EQ(usedSlots(), 1024u);
    EXPECT_EQ(store_->entries().size(), 1024u);
}

TEST_F(SessionStoreTest, HashIsSeededAndCoversEveryWord)
{
    make(16);
    const svr_session_key key = keyFor(1);
    EXPECT_NE(svr_session_hash(&key, 1), svr_session_hash(&key, 2));
    // A change in any byte of the key (the zero pad included) moves the hash.
    std::set<std::uint64_t> hashes{svr_session_hash(&key, 7)};
    for (std::size_t byte = 0; byte < sizeof(key); ++byte) {
        svr_session_key changed = key;
        reinterpret_cast<std::uint8_t*>(&changed)[byte] ^= 0x01;
        hashes.insert(svr_session_hash(&changed, 7));
    }
    EXPECT_EQ(hashes.size(), sizeof(key) + 1);
}

TEST_F(SessionStoreTest, DuplicateRefusedReplaceSwapsTheRecord)
{
    make(8);
    ASSERT_TRUE(store_->insert(keyFor(1), valueFor(10), fp::InsertMode::CreateOnly));
    const std::uint32_t before = *store_->recordOf(keyFor(1));
    auto duplicate = store_->insert(keyFor(1), valueFor(11), fp::InsertMode::CreateOnly);
    ASSERT_FALSE(duplicate);
    EXPECT_EQ(duplicate.error().code, std::errc::file_exists);
    ASSERT_TRUE(store_->insert(keyFor(1), valueFor(12), fp::InsertMode::CreateOrReplace));
    const std::uint32_t after = *store_->recordOf(keyFor(1));
    // A fresh record published in one store: a packet sees the old entry or the new one.
    EXPECT_NE(after, before);
    EXPECT_EQ(records_[before].state, SVR_RECORD_FREE);
    EXPECT_EQ(records_[before].value.session_id, 0u);
    EXPECT_EQ(records_[after].state, SVR_RECORD_LIVE);
    EXPECT_EQ(programLookup(keyFor(1))->session_id, 12u);
    EXPECT_EQ(store_->used(), 1u);
    EXPECT_EQ(usedSlots(), 1u);
}

TEST_F(SessionStoreTest, EraseUnpublishesThenFreesAndZeroes)
{
    make(8);
    ASSERT_TRUE(store_->insert(keyFor(1), valueFor(10), fp::InsertMode::CreateOnly));
    const std::uint32_t record = *store_->recordOf(keyFor(1));
    EXPECT_TRUE(store_->erase(keyFor(1)));
    EXPECT_FALSE(store_->erase(keyFor(1)));
    EXPECT_EQ(programLookup(keyFor(1)), nullptr);
    EXPECT_EQ(usedSlots(), 0u);
    EXPECT_EQ(store_->used(), 0u);
    EXPECT_EQ(records_[record].state, SVR_RECORD_FREE);
    const svr_session_record zero{};
    EXPECT_EQ(std::memcmp(&records_[record], &zero, sizeof(zero)), 0); // bpftool shows it empty
}

TEST_F(SessionStoreTest, FullTableRefusesUntilARecordIsFreed)
{
    make(64);
    for (std::uint32_t n = 0; n < 64; ++n) {
        ASSERT_TRUE(store_->insert(keyFor(n), valueFor(n), fp::InsertMode::CreateOnly)) << n;
    }
    auto full = store_->insert(keyFor(64), valueFor(64), fp::InsertMode::CreateOnly);
    ASSERT_FALSE(full);
    EXPECT_NE(full.error().message.find("full"), std::string::npos) << full.error().message;
    EXPECT_EQ(store_->used(), 64u);
    // Replacing stays possible in a full table (in place).
    ASSERT_TRUE(store_->insert(keyFor(3), valueFor(300), fp::InsertMode::CreateOrReplace));
    EXPECT_EQ(programLookup(keyFor(3))->session_id, 300u);
    ASSERT_TRUE(store_->erase(keyFor(5)));
    ASSERT_TRUE(store_->insert(keyFor(64), valueFor(64), fp::InsertMode::CreateOnly));
    EXPECT_EQ(programLookup(keyFor(64))->session_id, 64u);
}

TEST_F(SessionStoreTest, ChurnAtFullLoadNeverFindsBothBucketsFull)
{
    // The table's promise: records, not buckets, limit it. 20 rounds of replacing half of a
    // full table of 8192 entries (every bucket pair checked on each insert).
    make(8192);
    std::uint32_t next = 0;
    std::vector<std::uint32_t> live;
    for (; next < 8192; ++next) {
        ASSERT_TRUE(store_->insert(keyFor(next), valueFor(next), fp::InsertMode::CreateOnly));
        live.push_back(next);
    }
    for (int round = 0; round < 20; ++round) {
        for (std::size_t i = round % 2; i < live.size(); i += 2) {
            ASSERT_TRUE(store_->erase(keyFor(live[i])));
            live[i] = next++;
            auto inserted = store_->insert(keyFor(live[i]), valueFor(live[i]),
                                           fp::InsertMode::CreateOnly);
            ASSERT_TRUE(inserted) << inserted.error().message;
        }
    }
    EXPECT_EQ(store_->entries().size(), 8192u);
    for (const std::uint32_t n : live) {
        ASSERT_NE(programLookup(keyFor(n)), nullptr) << n;
    }
}

TEST_F(SessionStoreTest, BucketsFillEvenly)
{
    make(4096);
    for (std::uint32_t n = 0; n < 4096; ++n) {
        ASSERT_TRUE(store_->insert(keyFor(n), valueFor(n), fp::InsertMode::CreateOnly));
    }
    // Two choices keep the fullest bucket far from its 8 slots at half load.
    std::size_t fullest = 0;
    for (const svr_session_bucket& bucket : buckets_) {
        fullest = std::max<std::size_t>(
            fullest, std::count_if(std::begin(bucket.slots), std::end(bucket.slots),
                                   [](std::uint64_t slot) { return slot != 0; }));
    }
    EXPECT_LE(fullest, 7u);
}

TEST_F(SessionStoreTest, TagCollisionIsResolvedByTheKey)
{
    make(16);
    ASSERT_TRUE(store_->insert(keyFor(1), valueFor(1), fp::InsertMode::CreateOnly));
    // Another key's slot with key 1's tag, ahead of key 1 in both of key 1's buckets.
    ASSERT_TRUE(store_->insert(keyFor(2), valueFor(2), fp::InsertMode::CreateOnly));
    const svr_session_key one = keyFor(1);
    const std::uint64_t hash = svr_session_hash(&one, info_.seed);
    const std::uint32_t other = *store_->recordOf(keyFor(2));
    for (const std::uint32_t bucket : {svr_session_bucket_a(hash, info_.bucket_mask),
                                       svr_session_bucket_b(hash, info_.bucket_mask)}) {
        auto& slots = buckets_[bucket].slots;
        std::rotate(std::begin(slots), std::end(slots) - 1, std::end(slots));
        if (slots[0] == 0) {
            slots[0] = svr_session_slot(svr_session_tag(hash), other);
        }
    }
    EXPECT_EQ(store_->lookup(keyFor(1))->session_id, 1u);
    EXPECT_EQ(programLookup(keyFor(1))->session_id, 1u);
}

TEST_F(SessionStoreTest, WritersAtOnceKeepEveryOtherEntryVisible)
{
    // svrd and svrctl write one table at once: records are claimed and slots published with
    // compare-and-swap. Two writers churn keys of their own while a reader checks that
    // entries nobody touches stay visible all along.
    make(4096);
    constexpr std::uint32_t kStable = 1000;
    for (std::uint32_t n = 0; n < kStable; ++n) {
        ASSERT_TRUE(store_->insert(keyFor(n), valueFor(n), fp::InsertMode::CreateOnly));
    }
    std::atomic<bool> done{false};
    std::atomic<std::uint32_t> failures{0};
    auto writer = [&](std::uint32_t base) {
        for (int round = 0; round < 200; ++round) {
            for (std::uint32_t n = base; n < base + 500; ++n) {
                if (!store_->insert(keyFor(n), valueFor(n), fp::InsertMode::CreateOnly)) {
                    ++failures;
                }
            }
            for (std::uint32_t n = base; n < base + 500; ++n) {
                if (!store_->erase(keyFor(n))) {
                    ++failures;
                }
            }
        }
    };
    std::uint32_t missing = 0;
    std::thread reader([&] {
        while (!done.load()) {
            for (std::uint32_t n = 0; n < kStable; n += 7) {
                const auto value = store_->lookup(keyFor(n));
                missing += !value || value->session_id != n ? 1 : 0;
            }
        }
    });
    std::thread first(writer, 10'000);
    std::thread second(writer, 20'000);
    first.join();
    second.join();
    done = true;
    reader.join();
    EXPECT_EQ(failures.load(), 0u);
    EXPECT_EQ(missing, 0u);
    EXPECT_EQ(store_->used(), kStable);
    EXPECT_EQ(usedSlots(), kStable);
    EXPECT_EQ(store_->entries().size(), kStable);
}

} // namespace
