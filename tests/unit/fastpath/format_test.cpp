#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "fastpath/format.hpp"

namespace fp = svr::fastpath;

namespace {

std::string namer(std::uint32_t ifindex)
{
    return "if" + std::to_string(ifindex);
}

fp::SessionEntry sampleEntry()
{
    fp::SessionSpec spec;
    spec.ingressIfindex = 3;
    spec.proto = IPPROTO_TCP;
    spec.source = *fp::parseIpAddress("10.1.0.2");
    spec.destination = *fp::parseIpAddress("10.1.0.100");
    spec.sourcePort = 40000;
    spec.destinationPort = 5201;
    spec.newSource = *fp::parseIpAddress("10.2.0.1");
    spec.newDestination = *fp::parseIpAddress("10.2.0.2");
    spec.nextHop.egressIfindex = 4;
    spec.nextHop.dstMac = {2, 0, 0, 0, 0, 0x44};
    spec.sessionId = 9;
    spec.createdNs = 1'000'000'000;
    auto entry = fp::buildForwardSession(spec);
    EXPECT_TRUE(entry.ok());
    entry->value.packets = 12;
    entry->value.bytes = 3456;
    entry->value.tcp_state = SVR_TCP_SEEN_SYN | SVR_TCP_SEEN_ACK;
    entry->value.last_seen_ns = 3'000'000'000;
    return *entry;
}

} // namespace

TEST(Format, ReasonNamesCoverEveryEnum)
{
    EXPECT_STREQ(fp::verdictName(SVR_VERDICT_FORWARD), "forward");
    EXPECT_STREQ(fp::verdictName(SVR_VERDICT_DROP), "drop");
    EXPECT_STREQ(fp::dropReasonName(SVR_DROP_NO_PUNT_SOCKET), "no_punt_socket");
    EXPECT_STREQ(fp::dropReasonName(SVR_DROP_ADJUST_FAILED), "adjust_failed");
    EXPECT_STREQ(fp::passReasonName(SVR_PASS_FRAG_NEEDED), "frag_needed");
    EXPECT_STREQ(fp::puntReasonName(SVR_PUNT_MISS), "miss");
    EXPECT_STREQ(fp::puntReasonName(SVR_PUNT_ICMP_ERROR), "icmp_error");
    EXPECT_STREQ(fp::puntReasonName(SVR_PUNT_REASON_MAX), "unknown");
    EXPECT_STREQ(fp::actionName(SVR_ACTION_PASS), "pass");
}

TEST(Format, TcpStateAndDurations)
{
    EXPECT_EQ(fp::tcpStateText(0), "-");
    EXPECT_EQ(fp::tcpStateText(SVR_TCP_SEEN_SYN | SVR_TCP_SEEN_FIN), "syn,fin");
    EXPECT_EQ(fp::formatDuration(1'500'000'000), "1.5s");
    EXPECT_EQ(fp::formatDuration(123'000'000'000), "2m03s");
    EXPECT_EQ(fp::formatDuration(3'720'000'000'000), "1h02m");
    EXPECT_EQ(fp::formatDuration(100'800'000'000'000), "1d04h");
}

TEST(Format, SessionJsonFields)
{
    const nlohmann::json json = fp::sessionToJson(sampleEntry(), 5'000'000'000, namer);
    EXPECT_EQ(json["session_id"], 9);
    EXPECT_EQ(json["in_interface"], "if3");
    EXPECT_EQ(json["proto"], "tcp");
    EXPECT_EQ(json["src"], "10.1.0.2");
    EXPECT_EQ(json["sport"], 40000);
    EXPECT_EQ(json["dst"], "10.1.0.100");
    EXPECT_EQ(json["dport"], 5201);
    EXPECT_EQ(json["new_src"], "10.2.0.1");
    EXPECT_EQ(json["new_dst"], "10.2.0.2");
    EXPECT_EQ(json["new_dport"], 5201);
    EXPECT_EQ(json["out_interface"], "if4");
    EXPECT_EQ(json["next_hop_mac"], "02:00:00:00:00:44");
    EXPECT_EQ(json["packets"], 12);
    EXPECT_EQ(json["bytes"], 3456);
    EXPECT_EQ(json["tcp_state"], nlohmann::json::array({"syn", "ack"}));
    EXPECT_EQ(json["dscp"], "keep");
    EXPECT_DOUBLE_EQ(json["age_s"].get<double>(), 4.0);
    EXPECT_DOUBLE_EQ(json["idle_s"].get<double>(), 2.0);
    EXPECT_EQ(json["rewrite_src"], true);
}

TEST(Format, SessionTableHasHeaderAndRow)
{
    const std::string table = fp::formatSessionTable({sampleEntry()}, 5'000'000'000, namer);
    const auto newline = table.find('\n');
    ASSERT_NE(newline, std::string::npos);
    const std::string header = table.substr(0, newline);
    for (const char* column : {"ID", "IN-IF", "PROTO", "SRC", "DST", "NEW-SRC", "NEW-DST",
                               "OUT-IF", "PACKETS", "BYTES", "TCP", "AGE", "IDLE"}) {
        EXPECT_NE(header.find(column), std::string::npos) << column;
    }
    const std::string row = table.substr(newline + 1);
    for (const char* cell : {"10.1.0.2:40000", "10.1.0.100:5201", "-> ", "10.2.0.1:40000",
                             "10.2.0.2:5201", "if3", "if4", "3456", "syn,ack", "4.0s", "2.0s"}) {
        EXPECT_NE(row.find(cell), std::string::npos) << cell << " in\n" << row;
    }
}

TEST(Format, SessionTableOrdersBySessionId)
{
    fp::SessionEntry first = sampleEntry();
    fp::SessionEntry second = sampleEntry();
    second.value.session_id = 2;
    const std::string table = fp::formatSessionTable({first, second}, 5'000'000'000, namer);
    const auto idTwo = table.find("\n       2 ");
    const auto idNine = table.find("\n       9 ");
    ASSERT_NE(idTwo, std::string::npos) << table;
    ASSERT_NE(idNine, std::string::npos) << table;
    EXPECT_LT(idTwo, idNine);
}

TEST(Format, Ipv6EndpointsBracketed)
{
    fp::SessionSpec spec;
    spec.ingressIfindex = 1;
    spec.proto = IPPROTO_UDP;
    spec.source = *fp::parseIpAddress("fd00::1");
    spec.destination = *fp::parseIpAddress("fd00::2");
    spec.sourcePort = 1;
    spec.destinationPort = 2;
    spec.nextHop.useFib = true;
    auto entry = fp::buildForwardSession(spec);
    ASSERT_TRUE(entry.ok());
    const std::string table = fp::formatSessionTable({*entry}, 0, namer);
    EXPECT_NE(table.find("[fd00::1]:1"), std::string::npos) << table;
    EXPECT_NE(table.find(" fib "), std::string::npos) << table;
}

TEST(Format, StatsJsonHasStableKeys)
{
    svr_stats stats{};
    stats.verdict_packets[SVR_VERDICT_FORWARD] = 5;
    stats.verdict_bytes[SVR_VERDICT_FORWARD] = 500;
    stats.drop_packets[SVR_DROP_NO_PUNT_SOCKET] = 2;
    stats.punt_packets[SVR_PUNT_MISS] = 3;
    const nlohmann::json json = fp::statsToJson(stats);
    EXPECT_EQ(json["verdicts"]["forward"]["packets"], 5);
    EXPECT_EQ(json["verdicts"]["forward"]["bytes"], 500);
    EXPECT_EQ(json["verdicts"]["drop"]["packets"], 0);
    EXPECT_EQ(json["drop"]["no_punt_socket"], 2);
    EXPECT_EQ(json["drop"].size(), static_cast<std::size_t>(SVR_DROP_REASON_MAX));
    EXPECT_EQ(json["pass"].size(), static_cast<std::size_t>(SVR_PASS_REASON_MAX));
    EXPECT_EQ(json["punt"]["miss"], 3);
    EXPECT_EQ(json["tc"]["local_packets"], 0);
}

TEST(Format, StatsTextShowsOnlyNonZeroReasons)
{
    svr_stats stats{};
    stats.drop_packets[SVR_DROP_DOS_LIMIT] = 7;
    const std::string text = fp::formatStats(stats);
    EXPECT_NE(text.find("drop dos_limit"), std::string::npos);
    EXPECT_EQ(text.find("drop eth_truncated"), std::string::npos);
    EXPECT_NE(text.find("forward"), std::string::npos);
}

TEST(Format, PuntMetaJson)
{
    svr_punt_meta meta{};
    meta.magic = SVR_PUNT_MAGIC;
    meta.ingress_ifindex = 4;
    meta.reason = SVR_PUNT_MISS;
    const nlohmann::json json = fp::puntMetaToJson(meta);
    EXPECT_EQ(json["magic_ok"], true);
    EXPECT_EQ(json["ingress_ifindex"], 4);
    EXPECT_EQ(json["reason"], "miss");
}
