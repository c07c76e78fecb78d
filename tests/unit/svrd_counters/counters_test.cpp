// svrd::Counters: the status file and /metrics read all() (sorted names); add() and get()
// find names through a hash index that points into the map, so copies and moves must keep a
// consistent index.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <utility>

#include "svrd/router_state.hpp"

using svr::svrd::Counters;

TEST(Counters, AddsByNameFromLiteralsViewsAndBuiltStrings)
{
    Counters counters;
    counters.add("sessions.created");
    counters.add(std::string_view("sessions.created"), 2);
    const std::string built = std::string("sessions.") + "created";
    counters.add(built);
    EXPECT_EQ(counters.get("sessions.created"), 4u);
    EXPECT_EQ(counters.get("sessions.expired"), 0u);
    EXPECT_EQ(counters.all().size(), 1u); // an unknown name read is not created
}

TEST(Counters, AllListsEveryNameSorted)
{
    Counters counters;
    counters.add("tx.packets");
    counters.add("drop.parse.truncated", 3);
    counters.add("punt.received", 5);
    std::string previous;
    std::size_t names = 0;
    for (const auto& [name, value] : counters.all()) {
        EXPECT_LT(previous, name);
        previous = name;
        ++names;
    }
    EXPECT_EQ(names, 3u);
    EXPECT_EQ(counters.all().at("drop.parse.truncated"), 3u);
    EXPECT_EQ(counters.all().at("punt.received"), 5u);
}

TEST(Counters, CopyCountsOnItsOwn)
{
    Counters original;
    original.add("punt.received", 2);
    Counters copy = original;
    copy.add("punt.received");
    copy.add("tx.packets");
    EXPECT_EQ(original.get("punt.received"), 2u);
    EXPECT_EQ(original.get("tx.packets"), 0u);
    EXPECT_EQ(copy.get("punt.received"), 3u);
    EXPECT_EQ(copy.get("tx.packets"), 1u);

    Counters assigned;
    assigned.add("other");
    assigned = original;
    assigned.add("punt.received");
    EXPECT_EQ(assigned.get("punt.received"), 3u);
    EXPECT_EQ(assigned.get("other"), 0u);
    EXPECT_EQ(original.get("punt.received"), 2u);
}

TEST(Counters, MovedCountersKeepCounting)
{
    Counters original;
    original.add("sessions.created", 7);
    Counters moved = std::move(original);
    moved.add("sessions.created");
    EXPECT_EQ(moved.get("sessions.created"), 8u);
    EXPECT_EQ(moved.all().at("sessions.created"), 8u);

    Counters target;
    target.add("x");
    target = std::move(moved);
    target.add("sessions.created");
    EXPECT_EQ(target.get("sessions.created"), 9u);
    EXPECT_EQ(target.get("x"), 0u);
}
