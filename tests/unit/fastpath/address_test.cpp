#include <gtest/gtest.h>

#include <netinet/in.h>

#include "fastpath/address.hpp"

namespace fp = svr::fastpath;

TEST(Address, ParsesIpv4IntoFirstFourBytes)
{
    auto address = fp::parseIpAddress("10.1.2.3");
    ASSERT_TRUE(address.ok()) << address.error().describe();
    EXPECT_EQ(address->family, SVR_FAMILY_IPV4);
    const std::array<std::uint8_t, 16> expected = {10, 1, 2, 3};
    EXPECT_EQ(address->bytes, expected);
}

TEST(Address, ParsesIpv6)
{
    auto address = fp::parseIpAddress("fd00::1:2");
    ASSERT_TRUE(address.ok());
    EXPECT_EQ(address->family, SVR_FAMILY_IPV6);
    EXPECT_EQ(address->bytes[0], 0xfd);
    EXPECT_EQ(address->bytes[13], 0x01);
    EXPECT_EQ(address->bytes[15], 0x02);
}

TEST(Address, RejectsGarbageNamingTheInput)
{
    for (const char* bad : {"", "10.1.2", "10.1.2.256", "fd00:::1", "host.example", "10.0.0.1 "}) {
        auto address = fp::parseIpAddress(bad);
        ASSERT_FALSE(address.ok()) << bad;
        EXPECT_NE(address.error().message.find(std::string("'") + bad + "'"), std::string::npos);
    }
}

TEST(Address, FormatsRoundTrip)
{
    for (const char* text : {"10.0.0.100", "0.0.0.0", "fd00::100", "2001:db8::1"}) {
        auto address = fp::parseIpAddress(text);
        ASSERT_TRUE(address.ok());
        EXPECT_EQ(fp::formatIpAddress(*address), text);
    }
    const std::uint8_t raw[16] = {};
    EXPECT_EQ(fp::formatIpAddress(9, raw), "<family 9>");
}

TEST(Mac, ParsesBothSeparatorsAndCase)
{
    auto mac = fp::parseMac("02:AB:cd:00:11:ff");
    ASSERT_TRUE(mac.ok());
    const fp::MacAddress expected = {0x02, 0xab, 0xcd, 0x00, 0x11, 0xff};
    EXPECT_EQ(*mac, expected);
    auto dashed = fp::parseMac("02-ab-cd-00-11-ff");
    ASSERT_TRUE(dashed.ok());
    EXPECT_EQ(*dashed, expected);
    EXPECT_EQ(fp::formatMac(expected.data()), "02:ab:cd:00:11:ff");
}

TEST(Mac, RejectsMalformed)
{
    for (const char* bad : {"", "02:ab:cd:00:11", "02:ab:cd:00:11:ff:00", "02:ab:cd:00:11:fg",
                            "02ab:cd:00:11:ff:", "02:ab:cd:00:11:f", "+2:ab:cd:00:11:ff"}) {
        EXPECT_FALSE(fp::parseMac(bad).ok()) << bad;
    }
}

TEST(Protocol, NamesAndNumbers)
{
    EXPECT_EQ(*fp::parseProtocol("tcp", SVR_FAMILY_IPV4), IPPROTO_TCP);
    EXPECT_EQ(*fp::parseProtocol("udp", SVR_FAMILY_IPV6), IPPROTO_UDP);
    EXPECT_EQ(*fp::parseProtocol("icmp", SVR_FAMILY_IPV4), IPPROTO_ICMP);
    EXPECT_EQ(*fp::parseProtocol("icmp", SVR_FAMILY_IPV6), IPPROTO_ICMPV6);
    EXPECT_EQ(*fp::parseProtocol("47", SVR_FAMILY_IPV4), 47);
    EXPECT_FALSE(fp::parseProtocol("256", SVR_FAMILY_IPV4).ok());
    EXPECT_FALSE(fp::parseProtocol("sctpx", SVR_FAMILY_IPV4).ok());
    EXPECT_FALSE(fp::parseProtocol("", SVR_FAMILY_IPV4).ok());
    EXPECT_EQ(fp::formatProtocol(IPPROTO_ICMPV6), "icmpv6");
    EXPECT_EQ(fp::formatProtocol(47), "47");
}

TEST(Port, Range)
{
    EXPECT_EQ(*fp::parsePort("0"), 0);
    EXPECT_EQ(*fp::parsePort("65535"), 65535);
    EXPECT_FALSE(fp::parsePort("65536").ok());
    EXPECT_FALSE(fp::parsePort("-1").ok());
    EXPECT_FALSE(fp::parsePort("80x").ok());
    EXPECT_FALSE(fp::parsePort("").ok());
}

TEST(Address, AddrKeyHasZeroPadding)
{
    auto address = fp::parseIpAddress("192.0.2.1");
    ASSERT_TRUE(address.ok());
    const svr_addr_key key = fp::makeAddrKey(*address);
    EXPECT_EQ(key.family, SVR_FAMILY_IPV4);
    EXPECT_EQ(key.pad[0] | key.pad[1] | key.pad[2], 0);
    EXPECT_EQ(key.addr[0], 192);
    EXPECT_EQ(key.addr[4], 0);
}
