// Invalid configurations: each case applies one JSON Patch (RFC 6902) to a valid example, so
// the only defect is the one under test, and asserts that the error names its data path.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "config/loader.hpp"
#include "test_files.hpp"

namespace svr::config {
namespace {

struct InvalidCase {
    const char* name;
    const char* example; // the valid configuration the patch breaks
    const char* patch;   // JSON Patch
    const char* path;    // the path the error must name
};

// clang-format off
const InvalidCase kInvalidCases[] = {
    // Rejected by libyang (YANG types, must, leafref, unique, mandatory, range).
    {"TenantWithoutParent", "single-router.json",
     R"([{"op":"add","path":"/svr:config/tenants/tenant/-","value":{"name":"lab.research"}}])",
     "/svr:config/tenants/tenant[name='lab.research']/name"},
    {"TenantNameNotLowercase", "single-router.json",
     R"([{"op":"add","path":"/svr:config/tenants/tenant/-","value":{"name":"Guests"}}])",
     "/svr:config/tenants/tenant/name"},
    {"ServiceWithoutAddress", "single-router.json",
     R"([{"op":"add","path":"/svr:config/services/service/-","value":{"name":"empty"}}])",
     "/svr:config/services/service[name='empty']/address"},
    {"PortRangeEndBelowStart", "single-router.json",
     R"([{"op":"add","path":"/svr:config/services/service/0/transport/0/port-range/-","value":{"start":90,"end":80}}])",
     "/svr:config/services/service[name='web']/transport[protocol='tcp']/port-range[start='90']/end"},
    {"IcmpWithPorts", "single-router.json",
     R"([{"op":"add","path":"/svr:config/services/service/2/transport/0/port-range","value":[{"start":1}]}])",
     "/svr:config/services/service[name='ping']/transport[protocol='icmp']/port-range[start='1']"},
    {"AccessPolicyUnknownTenant", "single-router.json",
     R"([{"op":"add","path":"/svr:config/services/service/0/access-policy/-","value":{"source":"nobody"}}])",
     "/svr:config/services/service[name='web']/access-policy[source='nobody']/source"},
    {"InterfaceTenantUnknown", "single-router.json",
     R"([{"op":"replace","path":"/svr:config/router/interface/0/tenant","value":"visitors"}])",
     "/svr:config/router/interface[name='lan0']/tenant"},
    {"RouteToUnknownService", "single-router.json",
     R"([{"op":"replace","path":"/svr:config/service-routes/service-route/0/service","value":"ftp"}])",
     "/svr:config/service-routes/service-route[name='web-local']/service"},
    {"RouteToPeerWithoutAdjacency", "fabric-router-a.json",
     R"([{"op":"add","path":"/svr:config/peers/peer/-","value":{"name":"router-c","key-generation":1}},
         {"op":"add","path":"/svr:config/security/peer-key/-","value":{"peer":"router-c","generation":1,
          "hmac-key":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
          "metadata-key":"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}},
         {"op":"replace","path":"/svr:config/service-routes/service-route/0/peer","value":"router-c"}])",
     "/svr:config/service-routes/service-route[name='http-via-b']/peer"},
    {"PeerKeyGenerationWithoutKey", "fabric-router-a.json",
     R"([{"op":"replace","path":"/svr:config/peers/peer/0/key-generation","value":2}])",
     "/svr:config/peers/peer[name='router-b']/key-generation"},
    {"HmacKeyTooShort", "fabric-router-a.json",
     R"([{"op":"replace","path":"/svr:config/security/peer-key/0/hmac-key","value":"6b1f0c7a"}])",
     "/svr:config/security/peer-key[peer='router-b'][generation='1']/hmac-key"},
    {"NeighborhoodWithoutWaypoint", "fabric-router-a.json",
     R"([{"op":"remove","path":"/svr:config/router/interface/2/waypoint"}])",
     "/svr:config/router/interface[name='wan1']/neighborhood[name='mpls']"},
    {"WaypointPortsInverted", "fabric-router-a.json",
     R"([{"op":"replace","path":"/svr:config/router/interface/3/waypoint/ports","value":{"min":40000,"max":30000}}])",
     "/svr:config/router/interface[name='wan2']/waypoint/ports/max"},
    {"WaypointPortBelow1024", "fabric-router-a.json",
     R"([{"op":"replace","path":"/svr:config/router/interface/3/waypoint/ports","value":{"min":80,"max":30000}}])",
     "/svr:config/router/interface[name='wan2']/waypoint/ports/min"},
    {"DosBurstZero", "single-router.json",
     R"([{"op":"replace","path":"/svr:config/dos/burst","value":0}])",
     "/svr:config/dos/burst"},
    {"SessionTimeoutZero", "single-router.json",
     R"([{"op":"replace","path":"/svr:config/session-types/session-type/0/tcp","value":0}])",
     "/svr:config/session-types/session-type[name='web']/tcp"},
    {"UnknownLeaf", "single-router.json",
     R"([{"op":"add","path":"/svr:config/router/mtu","value":1500}])",
     "/svr:config/router"},
    {"PrefixLengthTooLong", "single-router.json",
     R"([{"op":"add","path":"/svr:config/services/service/2/address/-","value":"10.10.3.0/33"}])",
     "/svr:config/services/service[name='ping']/address"},
    {"MissingRouterName", "single-router.json",
     R"([{"op":"remove","path":"/svr:config/router/name"}])",
     "/svr:config/router/name"},
    {"RouteWithoutTarget", "single-router.json",
     R"([{"op":"remove","path":"/svr:config/service-routes/service-route/0/next-hop"}])",
     "/svr:config/service-routes/service-route[name='web-local']/target"},

    {"AdjacencyWithoutPeer", "fabric-router-a.json",
     R"([{"op":"remove","path":"/svr:config/router/interface/3/neighborhood/0/adjacency/0/peer"}])",
     "/svr:config/router/interface[name='wan2']/neighborhood[name='broadband']/adjacency[peer-waypoint='2001:db8:2::2']/peer"},
    {"PeerKeyWithoutMetadataKey", "fabric-router-a.json",
     R"([{"op":"remove","path":"/svr:config/security/peer-key/0/metadata-key"}])",
     "/svr:config/security/peer-key[peer='router-b'][generation='1']/metadata-key"},

    // libyang names one entry in the path and both in the message.
    {"DuplicateWaypointAddress", "fabric-router-a.json",
     R"([{"op":"replace","path":"/svr:config/router/interface/3/waypoint/address","value":"192.0.2.1"}])",
     "/svr:config/router/interface[name='wan1']"},

    // Rejected by the semantic checks (controller/config/semantic_checks.cpp).
    {"ServicePrefixHostBits", "single-router.json",
     R"([{"op":"replace","path":"/svr:config/services/service/2/address/0","value":"10.10.2.1/24"}])",
     "/svr:config/services/service[name='ping']/address[.='10.10.2.1/24']"},
    {"TwoServicesSamePrefixAndPort", "single-router.json",
     R"([{"op":"add","path":"/svr:config/services/service/-","value":{"name":"web2","address":["10.10.2.10/32"],
          "transport":[{"protocol":"tcp","port-range":[{"start":8000,"end":8080},{"start":80}]}]}}])",
     "/svr:config/services/service[name='web2']/address[.='10.10.2.10/32']"},
    {"OverlappingPortRanges", "single-router.json",
     R"([{"op":"add","path":"/svr:config/services/service/0/transport/0/port-range/-","value":{"start":79,"end":81}}])",
     "/svr:config/services/service[name='web']/transport[protocol='tcp']/port-range[start='79']"},
    {"AccessPolicyPrefixHostBits", "single-router.json",
     R"([{"op":"add","path":"/svr:config/services/service/0/access-policy/-","value":{"source":"10.10.1.5/24","permission":"deny"}}])",
     "/svr:config/services/service[name='web']/access-policy[source='10.10.1.5/24']/source"},
    {"SourcePrefixInTwoTenants", "single-router.json",
     R"([{"op":"add","path":"/svr:config/tenants/tenant/-","value":{"name":"others","source-prefix":["10.10.1.0/24"]}}])",
     "/svr:config/tenants/tenant[name='others']/source-prefix[.='10.10.1.0/24']"},
    {"WaypointNotOnInterface", "fabric-router-a.json",
     R"([{"op":"replace","path":"/svr:config/router/interface/2/waypoint/address","value":"192.0.2.9"}])",
     "/svr:config/router/interface[name='wan1']/waypoint/address"},
    {"WaypointRangeOfOnePort", "fabric-router-a.json",
     R"([{"op":"replace","path":"/svr:config/router/interface/3/waypoint/ports","value":{"min":30000,"max":30000}}])",
     "/svr:config/router/interface[name='wan2']/waypoint/ports/max"},
    {"SourceNatPortsOverlapWaypointPorts", "fabric-router-a.json",
     R"([{"op":"add","path":"/svr:config/service-routes/service-route/-","value":{"name":"out","service":"http","priority":200,"next-hop":{"interface":"wan1","source-nat":true}}}])",
     "/svr:config/router/interface[name='wan1']/nat-ports"},
    {"AdjacencyFamilyMismatch", "fabric-router-a.json",
     R"([{"op":"add","path":"/svr:config/router/interface/2/neighborhood/0/adjacency/-","value":{"peer-waypoint":"2001:db8:1::2","peer":"router-b"}}])",
     "/svr:config/router/interface[name='wan1']/neighborhood[name='mpls']/adjacency[peer-waypoint='2001:db8:1::2']/peer-waypoint"},
    {"GatewayOffLink", "single-router.json",
     R"([{"op":"replace","path":"/svr:config/service-routes/service-route/3/next-hop/gateway","value":"198.18.0.1"}])",
     "/svr:config/service-routes/service-route[name='internet-nat']/next-hop/gateway"},
    {"SourceNatWithoutIpv6Address", "single-router.json",
     R"([{"op":"replace","path":"/svr:config/router/interface/2/address","value":["203.0.113.1/24"]}])",
     "/svr:config/service-routes/service-route[name='internet-nat']/next-hop/source-nat"},
    {"TargetAddressOfOtherFamily", "single-router.json",
     R"([{"op":"add","path":"/svr:config/service-routes/service-route/0/next-hop/target-address","value":"10.10.2.20"}])",
     "/svr:config/service-routes/service-route[name='web-local']/next-hop/target-address"},
    {"InterfaceSubnetsOverlap", "single-router.json",
     R"([{"op":"replace","path":"/svr:config/router/interface/1/address/0","value":"10.10.1.5/24"}])",
     "/svr:config/router/interface[name='srv0']/address[.='10.10.1.5/24']"},
    {"InterfaceAddressIsANetwork", "single-router.json",
     R"([{"op":"replace","path":"/svr:config/router/interface/0/address/0","value":"10.10.1.0/24"}])",
     "/svr:config/router/interface[name='lan0']/address[.='10.10.1.0/24']"},
    {"TwoRoutesSamePriority", "single-router.json",
     R"([{"op":"add","path":"/svr:config/service-routes/service-route/-","value":{"name":"web-backup","service":"web","next-hop":{"interface":"wan0"}}}])",
     "/svr:config/service-routes/service-route[name='web-backup']/priority"},
};
// clang-format on

class InvalidConfig : public ::testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidConfig, IsRejectedNamingThePath)
{
    const InvalidCase& testCase = GetParam();
    // ordered_json keeps members in file order: list keys stay ahead of the other leaves.
    const auto valid = nlohmann::ordered_json::parse(test::exampleText(testCase.example));
    const auto broken = valid.patch(nlohmann::ordered_json::parse(testCase.patch));

    // The base really is valid, so the patch alone causes the rejection.
    ASSERT_TRUE(checkConfig(valid.dump()).valid()) << testCase.example;

    const auto report = checkConfig(broken.dump());
    ASSERT_FALSE(report.valid());
    ASSERT_FALSE(report.issues.empty());
    std::string all;
    bool named = false;
    for (const auto& issue : report.issues) {
        all += "\n  " + issue.describe();
        named = named || issue.path == testCase.path;
    }
    EXPECT_TRUE(named) << "expected the path " << testCase.path << "; got:" << all;
}

INSTANTIATE_TEST_SUITE_P(Config, InvalidConfig, ::testing::ValuesIn(kInvalidCases),
                         [](const auto& info) { return std::string(info.param.name); });

// A malformed key is a secret typed wrongly: the error names the leaf but must not echo the
// value (svrd --check-config prints it, svrd logs it).
struct BadKeyCase {
    const char* name;
    const char* pointer; // JSON Pointer of the key leaf in fabric-router-a.json
    const char* value;
    const char* path;
};

// clang-format off
const BadKeyCase kBadKeyCases[] = {
    {"HmacKeyOneDigitShort", "/svr:config/security/peer-key/0/hmac-key",
     "3f9a1c7e5b2d4f6081a3c5e7092b4d6f8a1c3e5f7092b4d6f8a1c3e5f7092b4",
     "/svr:config/security/peer-key[peer='router-b'][generation='1']/hmac-key"},
    {"MetadataKeyNotHex", "/svr:config/security/peer-key/0/metadata-key",
     "c4e6a8b0d2f416385a7c9e0b2d4f6a8c0e2b4d6f8a0c2e4b6d8f0a2c4e6b8d0z",
     "/svr:config/security/peer-key[peer='router-b'][generation='1']/metadata-key"},
    {"PayloadKeyOneDigitLong", "/svr:config/security/payload-policy/0/key",
     "91d3f5a7c9e1b3d5f7a9c1e3b5d7f9a1c3e5b7d9f1a3c5e7b9d1f3a5c7e9b1d3f",
     "/svr:config/security/payload-policy[name='e2e']/key"},
};
// clang-format on

class BadKey : public ::testing::TestWithParam<BadKeyCase> {};

TEST_P(BadKey, IsRejectedWithoutEchoingTheValue)
{
    const BadKeyCase& testCase = GetParam();
    auto config = nlohmann::ordered_json::parse(test::exampleText("fabric-router-a.json"));
    const nlohmann::ordered_json::json_pointer pointer(testCase.pointer);
    ASSERT_TRUE(config.contains(pointer)) << testCase.pointer;
    config[pointer] = testCase.value;

    const auto report = checkConfig(config.dump());
    ASSERT_FALSE(report.valid());
    std::string all;
    bool named = false;
    for (const auto& issue : report.issues) {
        all += "\n  " + issue.describe();
        named = named || issue.path == testCase.path;
    }
    EXPECT_TRUE(named) << "expected the path " << testCase.path << "; got:" << all;
    const std::string value = testCase.value;
    for (std::size_t start = 0; start + 8 <= value.size(); ++start) {
        const std::string piece = value.substr(start, 8);
        ASSERT_EQ(all.find(piece), std::string::npos) << "the error quotes '" << piece << "' of the key:" << all;
    }
}

INSTANTIATE_TEST_SUITE_P(Config, BadKey, ::testing::ValuesIn(kBadKeyCases),
                         [](const auto& info) { return std::string(info.param.name); });

} // namespace
} // namespace svr::config
