#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "policy/prefix_table.hpp"
#include "policy_fixture.hpp"

namespace svr::policy {
namespace {

using test::ip;
using test::prefix;

PrefixTable<std::string> sampleTable()
{
    PrefixTable<std::string> table;
    table.at(prefix("0.0.0.0/0")) = "default4";
    table.at(prefix("10.0.0.0/8")) = "ten";
    table.at(prefix("10.1.0.0/16")) = "ten-one";
    table.at(prefix("10.1.2.0/24")) = "ten-one-two";
    table.at(prefix("10.1.2.3/32")) = "host";
    table.at(prefix("192.168.0.0/23")) = "odd-length";
    table.at(prefix("fd00::/8")) = "ula";
    table.at(prefix("fd00:1::/32")) = "ula-1";
    table.at(prefix("fd00:1:2:3::/64")) = "ula-subnet";
    table.at(prefix("fd00:1:2:3::1/128")) = "ula-host";
    return table;
}

const std::string* match(const PrefixTable<std::string>& table, const char* address)
{
    return table.longestMatch(ip(address));
}

TEST(PrefixTable, LongestMatchIpv4)
{
    const auto table = sampleTable();
    EXPECT_EQ(*match(table, "10.1.2.3"), "host");
    EXPECT_EQ(*match(table, "10.1.2.4"), "ten-one-two");
    EXPECT_EQ(*match(table, "10.1.3.4"), "ten-one");
    EXPECT_EQ(*match(table, "10.200.0.1"), "ten");
    EXPECT_EQ(*match(table, "11.0.0.1"), "default4");
    EXPECT_EQ(*match(table, "192.168.1.255"), "odd-length");
    EXPECT_EQ(*match(table, "192.168.2.0"), "default4");
}

TEST(PrefixTable, LongestMatchIpv6)
{
    const auto table = sampleTable();
    EXPECT_EQ(*match(table, "fd00:1:2:3::1"), "ula-host");
    EXPECT_EQ(*match(table, "fd00:1:2:3::2"), "ula-subnet");
    EXPECT_EQ(*match(table, "fd00:1:2:4::1"), "ula-1");
    EXPECT_EQ(*match(table, "fd42::1"), "ula");
    EXPECT_EQ(match(table, "2001:db8::1"), nullptr) << "no IPv6 default route in this table";
}

TEST(PrefixTable, FamiliesAreSeparate)
{
    PrefixTable<int> table;
    table.at(prefix("::/0")) = 6;
    EXPECT_EQ(table.longestMatch(ip("10.0.0.1")), nullptr);
    ASSERT_NE(table.longestMatch(ip("::1")), nullptr);
    EXPECT_EQ(*table.longestMatch(ip("::1")), 6);
    table.at(prefix("0.0.0.0/0")) = 4;
    EXPECT_EQ(*table.longestMatch(ip("10.0.0.1")), 4);
    EXPECT_EQ(*table.longestMatch(ip("::ffff:10.0.0.1")), 6);
}

TEST(PrefixTable, HostBitsOfTheKeyAreIgnored)
{
    PrefixTable<int> table;
    table.at(prefix("10.1.2.3/24")) = 1;
    EXPECT_EQ(&table.at(prefix("10.1.2.0/24")), table.longestMatch(ip("10.1.2.200")));
}

TEST(PrefixTable, VisitsMatchesLongestFirstAndStops)
{
    const auto table = sampleTable();
    std::vector<std::string> visited;
    const bool stopped = table.forEachMatch(ip("10.1.2.3"), [&](const std::string& value) {
        visited.push_back(value);
        return false;
    });
    EXPECT_FALSE(stopped);
    EXPECT_EQ(visited,
              (std::vector<std::string>{"host", "ten-one-two", "ten-one", "ten", "default4"}));

    visited.clear();
    EXPECT_TRUE(table.forEachMatch(ip("10.1.2.3"), [&](const std::string& value) {
        visited.push_back(value);
        return value == "ten-one";
    }));
    EXPECT_EQ(visited.back(), "ten-one");
    EXPECT_EQ(visited.size(), 3U);
}

TEST(PrefixTable, EmptyTableMatchesNothing)
{
    const PrefixTable<int> table;
    EXPECT_EQ(table.longestMatch(ip("10.0.0.1")), nullptr);
    EXPECT_EQ(table.longestMatch(ip("fd00::1")), nullptr);
}

} // namespace
} // namespace svr::policy
