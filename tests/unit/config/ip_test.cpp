#include <gtest/gtest.h>

#include "config/ip.hpp"

namespace svr::config {
namespace {

TEST(IpAddress, ParsesBothFamilies)
{
    const auto v4 = IpAddress::parse("10.1.2.3");
    ASSERT_TRUE(v4);
    EXPECT_EQ(v4->family, Family::v4);
    EXPECT_EQ(v4->bytes[0], 10);
    EXPECT_EQ(v4->bytes[3], 3);
    EXPECT_EQ(*v4, IpAddress::v4(0x0A010203));

    const auto v6 = IpAddress::parse("fd00::1");
    ASSERT_TRUE(v6);
    EXPECT_EQ(v6->family, Family::v6);
    EXPECT_EQ(v6->bytes[0], 0xfd);
    EXPECT_EQ(v6->bytes[15], 1);
    EXPECT_EQ(v6->toString(), "fd00::1");
}

TEST(IpAddress, RejectsGarbage)
{
    for (const char* text : {"", "10.1.2", "10.1.2.256", "fd00::1::2", "fe80::1%eth0", "host",
                             "10.1.2.3/24"}) {
        EXPECT_FALSE(IpAddress::parse(text)) << text;
    }
}

TEST(IpPrefix, ParsesAndContains)
{
    const auto prefix = IpPrefix::parse("10.1.0.0/16");
    ASSERT_TRUE(prefix);
    EXPECT_TRUE(prefix->contains(*IpAddress::parse("10.1.255.7")));
    EXPECT_FALSE(prefix->contains(*IpAddress::parse("10.2.0.1")));
    EXPECT_FALSE(prefix->contains(*IpAddress::parse("::ffff:10.1.0.1"))) << "families never mix";

    const auto odd = IpPrefix::parse("192.168.0.0/23");
    ASSERT_TRUE(odd);
    EXPECT_TRUE(odd->contains(*IpAddress::parse("192.168.1.200")));
    EXPECT_FALSE(odd->contains(*IpAddress::parse("192.168.2.1")));

    const auto v6 = IpPrefix::parse("fd00:1::/33");
    ASSERT_TRUE(v6);
    EXPECT_TRUE(v6->contains(*IpAddress::parse("fd00:1:7fff::1")));
    EXPECT_FALSE(v6->contains(*IpAddress::parse("fd00:1:8000::1")));

    const auto everything = IpPrefix::parse("::/0");
    ASSERT_TRUE(everything);
    EXPECT_TRUE(everything->contains(*IpAddress::parse("2001:db8::1")));
}

TEST(IpPrefix, RejectsBadLengths)
{
    for (const char* text : {"10.0.0.0/33", "10.0.0.0/", "10.0.0.0", "fd00::/129", "10.0.0.0/-1",
                             "10.0.0.0/8x"}) {
        EXPECT_FALSE(IpPrefix::parse(text)) << text;
    }
}

TEST(IpPrefix, HostBitsAndNetwork)
{
    const auto address = *IpPrefix::parse("10.1.2.3/24");
    EXPECT_TRUE(address.hasHostBits());
    EXPECT_EQ(address.network().toString(), "10.1.2.0/24");
    EXPECT_FALSE(IpPrefix::parse("10.1.2.0/24")->hasHostBits());
    EXPECT_TRUE(IpPrefix::parse("fd00::1/64")->hasHostBits());
    EXPECT_EQ(IpPrefix::parse("fd00::1/64")->network().toString(), "fd00::/64");
}

TEST(IpPrefix, Overlaps)
{
    EXPECT_TRUE(IpPrefix::parse("10.0.0.0/8")->overlaps(*IpPrefix::parse("10.1.0.0/16")));
    EXPECT_TRUE(IpPrefix::parse("10.1.0.0/16")->overlaps(*IpPrefix::parse("10.0.0.0/8")));
    EXPECT_FALSE(IpPrefix::parse("10.1.0.0/16")->overlaps(*IpPrefix::parse("10.2.0.0/16")));
    EXPECT_FALSE(IpPrefix::parse("0.0.0.0/0")->overlaps(*IpPrefix::parse("::/0")));
}

} // namespace
} // namespace svr::config
