#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

#include "fastpath/session.hpp"

namespace fp = svr::fastpath;

namespace {

fp::IpAddress ip(const char* text)
{
    auto address = fp::parseIpAddress(text);
    EXPECT_TRUE(address.ok()) << text;
    return address.ok() ? *address : fp::IpAddress{};
}

bool sameAddress(const std::uint8_t* raw, const char* text)
{
    const fp::IpAddress expected = ip(text);
    return std::memcmp(raw, expected.bytes.data(), SVR_ADDR_LEN) == 0;
}

// Client 10.1.0.2:40000 -> service 10.1.0.100:80 on if 3, DNAT to 10.2.0.2:8080, SNAT to
// 10.2.0.1:50000, out if 4.
fp::SessionSpec natSpec()
{
    fp::SessionSpec spec;
    spec.ingressIfindex = 3;
    spec.proto = IPPROTO_TCP;
    spec.source = ip("10.1.0.2");
    spec.destination = ip("10.1.0.100");
    spec.sourcePort = 40000;
    spec.destinationPort = 80;
    spec.newSource = ip("10.2.0.1");
    spec.newSourcePort = 50000;
    spec.newDestination = ip("10.2.0.2");
    spec.newDestinationPort = 8080;
    spec.nextHop = {.egressIfindex = 4,
                    .srcMac = {2, 0, 0, 0, 0, 4},
                    .dstMac = {2, 0, 0, 0, 0, 0x44},
                    .useFib = false,
                    .egressVlan = 0};
    spec.sessionId = 77;
    spec.idleTimeoutSeconds = 30;
    spec.createdNs = 1000;
    return spec;
}

fp::NextHop backHop()
{
    return {.egressIfindex = 3,
            .srcMac = {2, 0, 0, 0, 0, 3},
            .dstMac = {2, 0, 0, 0, 0, 0x33},
            .useFib = false,
            .egressVlan = 0};
}

} // namespace

TEST(Session, ForwardKeyAndRewrite)
{
    auto forward = fp::buildForwardSession(natSpec());
    ASSERT_TRUE(forward.ok()) << forward.error().describe();
    const svr_session_key& key = forward->key;
    EXPECT_EQ(key.ingress_ifindex, 3u);
    EXPECT_EQ(key.family, SVR_FAMILY_IPV4);
    EXPECT_EQ(key.proto, IPPROTO_TCP);
    EXPECT_TRUE(sameAddress(key.src_addr, "10.1.0.2"));
    EXPECT_TRUE(sameAddress(key.dst_addr, "10.1.0.100"));
    EXPECT_EQ(key.src_port, htons(40000));
    EXPECT_EQ(key.dst_port, htons(80));
    const svr_session_value& value = forward->value;
    EXPECT_TRUE(sameAddress(value.new_src_addr, "10.2.0.1"));
    EXPECT_TRUE(sameAddress(value.new_dst_addr, "10.2.0.2"));
    EXPECT_EQ(value.new_src_port, htons(50000));
    EXPECT_EQ(value.new_dst_port, htons(8080));
    EXPECT_EQ(value.flags, SVR_SESSION_F_REWRITE_SRC | SVR_SESSION_F_REWRITE_DST);
    EXPECT_EQ(value.egress_ifindex, 4u);
    EXPECT_EQ(value.dst_mac[5], 0x44);
    EXPECT_EQ(value.src_mac[5], 4);
    EXPECT_EQ(value.action, SVR_ACTION_FORWARD);
    EXPECT_EQ(value.dscp, SVR_DSCP_KEEP);
    EXPECT_EQ(value.session_id, 77u);
    EXPECT_EQ(value.created_ns, 1000u);
    EXPECT_EQ(value.last_seen_ns, 1000u);
    EXPECT_EQ(value.packets, 0u);
}

TEST(Session, NoRewriteWithoutNewFields)
{
    fp::SessionSpec spec = natSpec();
    spec.newSource.reset();
    spec.newSourcePort.reset();
    spec.newDestination.reset();
    spec.newDestinationPort.reset();
    auto forward = fp::buildForwardSession(spec);
    ASSERT_TRUE(forward.ok());
    EXPECT_EQ(forward->value.flags, 0);
    // The effective addresses are still there, so the reverse can be derived.
    EXPECT_TRUE(sameAddress(forward->value.new_dst_addr, "10.1.0.100"));
    EXPECT_EQ(forward->value.new_dst_port, htons(80));
}

TEST(Session, PortOnlyRewriteSetsFlag)
{
    fp::SessionSpec spec = natSpec();
    spec.newSource.reset();
    spec.newDestination.reset();
    spec.newDestinationPort.reset();
    auto forward = fp::buildForwardSession(spec);
    ASSERT_TRUE(forward.ok());
    EXPECT_EQ(forward->value.flags, SVR_SESSION_F_REWRITE_SRC);
    EXPECT_TRUE(sameAddress(forward->value.new_src_addr, "10.1.0.2"));
    EXPECT_EQ(forward->value.new_src_port, htons(50000));
}

TEST(Session, ReverseSwapsAndRestores)
{
    auto forward = fp::buildForwardSession(natSpec());
    ASSERT_TRUE(forward.ok());
    const fp::SessionEntry reverse = fp::buildReverseSession(*forward, backHop());
    const svr_session_key& key = reverse.key;
    EXPECT_EQ(key.ingress_ifindex, 4u);
    EXPECT_TRUE(sameAddress(key.src_addr, "10.2.0.2"));
    EXPECT_TRUE(sameAddress(key.dst_addr, "10.2.0.1"));
    EXPECT_EQ(key.src_port, htons(8080));
    EXPECT_EQ(key.dst_port, htons(50000));
    const svr_session_value& value = reverse.value;
    EXPECT_TRUE(sameAddress(value.new_src_addr, "10.1.0.100"));
    EXPECT_TRUE(sameAddress(value.new_dst_addr, "10.1.0.2"));
    EXPECT_EQ(value.new_src_port, htons(80));
    EXPECT_EQ(value.new_dst_port, htons(40000));
    EXPECT_EQ(value.flags, SVR_SESSION_F_REWRITE_SRC | SVR_SESSION_F_REWRITE_DST);
    EXPECT_EQ(value.egress_ifindex, 3u);
    EXPECT_EQ(value.dst_mac[5], 0x33);
    EXPECT_EQ(value.src_mac[5], 3);
    EXPECT_EQ(value.session_id, 77u);
    EXPECT_EQ(value.idle_timeout_s, 30u);
}

TEST(Session, ReverseOfReverseIsForwardKey)
{
    auto forward = fp::buildForwardSession(natSpec());
    ASSERT_TRUE(forward.ok());
    const fp::SessionEntry reverse = fp::buildReverseSession(*forward, backHop());
    fp::NextHop outAgain;
    outAgain.egressIfindex = forward->value.egress_ifindex;
    const fp::SessionEntry again = fp::buildReverseSession(reverse, outAgain);
    EXPECT_EQ(std::memcmp(&again.key, &forward->key, sizeof(svr_session_key)), 0);
    EXPECT_EQ(std::memcmp(again.value.new_src_addr, forward->value.new_src_addr, SVR_ADDR_LEN), 0);
    EXPECT_EQ(again.value.new_dst_port, forward->value.new_dst_port);
    EXPECT_EQ(again.value.flags, forward->value.flags);
}

TEST(Session, ReverseOnlyDnatRewritesSourceOnly)
{
    fp::SessionSpec spec = natSpec();
    spec.newSource.reset();
    spec.newSourcePort.reset();
    auto forward = fp::buildForwardSession(spec);
    ASSERT_TRUE(forward.ok());
    const fp::SessionEntry reverse = fp::buildReverseSession(*forward, backHop());
    EXPECT_EQ(reverse.value.flags, SVR_SESSION_F_REWRITE_SRC);
    EXPECT_TRUE(sameAddress(reverse.key.dst_addr, "10.1.0.2"));
    EXPECT_EQ(reverse.key.dst_port, htons(40000));
}

TEST(Session, ReverseVlanFollowsEgressVlan)
{
    fp::SessionSpec spec = natSpec();
    spec.vlanId = 10;
    spec.nextHop.egressVlan = 20;
    auto forward = fp::buildForwardSession(spec);
    ASSERT_TRUE(forward.ok());
    fp::NextHop back = backHop();
    back.egressVlan = 10;
    const fp::SessionEntry reverse = fp::buildReverseSession(*forward, back);
    EXPECT_EQ(forward->key.vlan_id, 10);
    EXPECT_EQ(forward->value.egress_vlan, 20);
    EXPECT_EQ(reverse.key.vlan_id, 20);
    EXPECT_EQ(reverse.value.egress_vlan, 10);
}

TEST(Session, IcmpEchoKeepsIdentifierInSourcePort)
{
    fp::SessionSpec spec = natSpec();
    spec.proto = IPPROTO_ICMP;
    spec.sourcePort = 0x1234; // identifier
    spec.destinationPort = 0;
    spec.newSourcePort = 0x4321;
    spec.newDestinationPort.reset();
    auto forward = fp::buildForwardSession(spec);
    ASSERT_TRUE(forward.ok()) << forward.error().describe();
    const fp::SessionEntry reverse = fp::buildReverseSession(*forward, backHop());
    EXPECT_EQ(reverse.key.src_port, htons(0x4321));
    EXPECT_EQ(reverse.key.dst_port, 0);
    EXPECT_EQ(reverse.value.new_src_port, htons(0x1234));
    EXPECT_EQ(reverse.value.new_dst_port, 0);
    EXPECT_TRUE(reverse.value.flags & SVR_SESSION_F_REWRITE_SRC);
}

TEST(Session, IcmpRejectsDestinationPort)
{
    fp::SessionSpec spec = natSpec();
    spec.proto = IPPROTO_ICMP;
    spec.newDestinationPort.reset();
    EXPECT_FALSE(fp::buildForwardSession(spec).ok()); // destinationPort 80
}

TEST(Session, Ipv6ReverseAndFib)
{
    fp::SessionSpec spec;
    spec.ingressIfindex = 5;
    spec.proto = IPPROTO_UDP;
    spec.source = ip("fd00:1::2");
    spec.destination = ip("fd00:1::100");
    spec.sourcePort = 5000;
    spec.destinationPort = 53;
    spec.newDestination = ip("fd00:2::2");
    spec.nextHop.useFib = true;
    auto forward = fp::buildForwardSession(spec);
    ASSERT_TRUE(forward.ok()) << forward.error().describe();
    EXPECT_EQ(forward->key.family, SVR_FAMILY_IPV6);
    EXPECT_TRUE(forward->value.flags & SVR_SESSION_F_USE_FIB);
    fp::NextHop back;
    back.useFib = true;
    const fp::SessionEntry reverse = fp::buildReverseSession(*forward, back);
    EXPECT_TRUE(sameAddress(reverse.key.src_addr, "fd00:2::2"));
    EXPECT_TRUE(sameAddress(reverse.value.new_src_addr, "fd00:1::100"));
    EXPECT_EQ(reverse.value.flags, SVR_SESSION_F_USE_FIB | SVR_SESSION_F_REWRITE_SRC);
}

TEST(Session, RejectsMixedFamilies)
{
    fp::SessionSpec spec = natSpec();
    spec.newDestination = ip("fd00::2");
    auto forward = fp::buildForwardSession(spec);
    ASSERT_FALSE(forward.ok());
    EXPECT_NE(forward.error().message.find("IPv4 and IPv6"), std::string::npos);
}

TEST(Session, RejectsIcmpVersionMismatch)
{
    fp::SessionSpec spec = natSpec();
    spec.proto = IPPROTO_ICMPV6;
    spec.destinationPort = 0;
    spec.newDestinationPort.reset();
    EXPECT_FALSE(fp::buildForwardSession(spec).ok());
}

TEST(Session, RejectsOutOfRangeFields)
{
    fp::SessionSpec vlan = natSpec();
    vlan.vlanId = 4095;
    EXPECT_FALSE(fp::buildForwardSession(vlan).ok());
    fp::SessionSpec egressVlan = natSpec();
    egressVlan.nextHop.egressVlan = 5000;
    EXPECT_FALSE(fp::buildForwardSession(egressVlan).ok());
    fp::SessionSpec dscp = natSpec();
    dscp.dscp = 64;
    EXPECT_FALSE(fp::buildForwardSession(dscp).ok());
    fp::SessionSpec action = natSpec();
    action.action = 9;
    EXPECT_FALSE(fp::buildForwardSession(action).ok());
    fp::SessionSpec noEgress = natSpec();
    noEgress.nextHop.egressIfindex = 0;
    EXPECT_FALSE(fp::buildForwardSession(noEgress).ok());
    fp::SessionSpec noFamily = natSpec();
    noFamily.source = {};
    EXPECT_FALSE(fp::buildForwardSession(noFamily).ok());
}

TEST(Session, MonotonicClockAdvances)
{
    const std::uint64_t first = fp::monotonicNowNs();
    const std::uint64_t second = fp::monotonicNowNs();
    EXPECT_GT(first, 0u);
    EXPECT_GE(second, first);
}
