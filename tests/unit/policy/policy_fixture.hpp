// A configuration exercising every policy rule, loaded through the real loader so the tests
// see exactly what svrd would.
#pragma once

#include <gtest/gtest.h>

#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "config/loader.hpp"

namespace svr::policy::test {

// Tenants: corp > eng.corp > lab.eng.corp, corp > sales.corp, guest, partners > vip.partners.
// lan-eng and lan-guest give their tenant; lan-any has none, so source prefixes decide.
inline constexpr const char* kPolicyConfig = R"json({
  "svr:config": {
    "authority": { "name": "test" },
    "tenants": { "tenant": [
      { "name": "corp" },
      { "name": "eng.corp" },
      { "name": "lab.eng.corp", "source-prefix": ["10.1.3.128/25"] },
      { "name": "sales.corp", "source-prefix": ["10.1.3.0/25"] },
      { "name": "guest" },
      { "name": "partners", "source-prefix": ["172.16.0.0/12", "fd00:ab::/32"] },
      { "name": "vip.partners", "source-prefix": ["172.16.5.0/24", "fd00:ab:5::/48"] }
    ] },
    "services": { "service": [
      { "name": "wiki", "address": ["10.2.1.0/24", "fd00:2:1::/64"],
        "transport": [ { "protocol": "tcp", "port-range": [ { "start": 80 }, { "start": 443 } ] } ],
        "access-policy": [ { "source": "corp" }, { "source": "sales.corp", "permission": "deny" } ] },
      { "name": "build", "address": ["10.2.1.10/32"],
        "transport": [ { "protocol": "tcp", "port-range": [ { "start": 8000, "end": 8099 } ] } ],
        "access-policy": [ { "source": "eng.corp" } ] },
      { "name": "dns", "address": ["10.2.0.53/32", "fd00:2::53/128"],
        "transport": [ { "protocol": "udp", "port-range": [ { "start": 53 } ] } ],
        "access-policy": [ { "source": "corp" }, { "source": "guest" }, { "source": "partners" } ] },
      { "name": "lab", "address": ["10.2.9.0/24"],
        "access-policy": [ { "source": "lab.eng.corp" } ] },
      { "name": "partner-portal", "address": ["10.2.2.0/24"],
        "transport": [ { "protocol": "tcp", "port-range": [ { "start": 443 } ] } ],
        "access-policy": [ { "source": "vip.partners" }, { "source": "172.16.9.0/24" } ] },
      { "name": "ping", "address": ["10.2.1.0/24"],
        "transport": [ { "protocol": "icmp" } ],
        "access-policy": [ { "source": "corp" } ] },
      { "name": "internet", "address": ["0.0.0.0/0", "::/0"],
        "access-policy": [ { "source": "corp" }, { "source": "guest" },
                           { "source": "10.1.2.66/32", "permission": "deny" } ] }
    ] },
    "service-routes": { "service-route": [
      { "name": "wiki-backup", "service": "wiki", "priority": 20, "next-hop": { "interface": "wan0" } },
      { "name": "wiki-local", "service": "wiki", "priority": 10, "next-hop": { "interface": "srv0" } },
      { "name": "build-local", "service": "build", "next-hop": { "interface": "srv0" } },
      { "name": "dns-local", "service": "dns", "next-hop": { "interface": "srv0" } },
      { "name": "portal-local", "service": "partner-portal", "next-hop": { "interface": "srv0" } },
      { "name": "ping-local", "service": "ping", "next-hop": { "interface": "srv0" } },
      { "name": "internet-nat", "service": "internet",
        "next-hop": { "interface": "wan0", "gateway": "203.0.113.254", "source-nat": true } }
    ] },
    "router": { "name": "policy-test", "interface": [
      { "name": "lan-eng", "tenant": "eng.corp", "address": ["10.1.1.1/24"] },
      { "name": "lan-guest", "tenant": "guest", "address": ["10.1.2.1/24"] },
      { "name": "lan-any", "address": ["10.1.3.1/24", "fd00:1:3::1/64"] },
      { "name": "srv0", "address": ["10.2.0.1/16", "fd00:2::1/48"] },
      { "name": "wan0", "address": ["203.0.113.1/24", "2001:db8::1/64"],
        "nat-ports": { "min": 40000, "max": 40009 } }
    ] }
  }
})json";

inline std::shared_ptr<const config::Config> loadOrFail(const std::string& json)
{
    auto report = config::checkConfig(json);
    if (!report.valid()) {
        std::string issues;
        for (const auto& issue : report.issues) {
            issues += "\n  " + issue.describe();
        }
        throw std::runtime_error("test configuration rejected:" + issues); // test defect
    }
    return std::make_shared<const config::Config>(std::move(*report.config));
}

inline std::string exampleText(const std::string& name)
{
    std::ifstream stream(std::string(SVR_EXAMPLES_DIR) + "/" + name);
    if (!stream) {
        throw std::runtime_error("missing example " + name);
    }
    std::ostringstream text;
    text << stream.rdbuf();
    return text.str();
}

inline config::IpAddress ip(const char* text)
{
    auto address = config::IpAddress::parse(text);
    if (!address) {
        throw std::runtime_error(std::string("bad test address ") + text);
    }
    return *address;
}

inline config::IpPrefix prefix(const char* text)
{
    auto parsed = config::IpPrefix::parse(text);
    if (!parsed) {
        throw std::runtime_error(std::string("bad test prefix ") + text);
    }
    return *parsed;
}

} // namespace svr::policy::test
