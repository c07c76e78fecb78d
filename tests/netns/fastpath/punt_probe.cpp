// Test helper for the netns test: binds a PuntSocket on a router interface, prints one JSON
// line per punted frame (the svr_punt_meta plus the IPv4/L4 header fields) and exits 0 once
// --count frames arrived, 2 on timeout, 1 on error. Prints "ready" on stderr once bound.
#include <arpa/inet.h>
#include <netinet/in.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "fastpath/format.hpp"
#include "fastpath/maps.hpp"
#include "fastpath/punt_socket.hpp"

namespace fp = svr::fastpath;

namespace {

// Header fields of an untagged IPv4 frame; empty object for anything else.
nlohmann::json describeFrame(const std::vector<std::uint8_t>& frame)
{
    constexpr std::size_t kEth = 14;
    nlohmann::json out = {{"length", frame.size()}};
    if (frame.size() < kEth + 20 || frame[12] != 0x08 || frame[13] != 0x00) {
        return out;
    }
    const std::uint8_t* ip = frame.data() + kEth;
    const std::size_t ihl = (ip[0] & 0x0f) * 4u;
    char src[INET_ADDRSTRLEN] = {};
    char dst[INET_ADDRSTRLEN] = {};
    inet_ntop(AF_INET, ip + 12, src, sizeof(src));
    inet_ntop(AF_INET, ip + 16, dst, sizeof(dst));
    out["src"] = src;
    out["dst"] = dst;
    out["proto"] = fp::formatProtocol(ip[9]);
    if ((ip[9] == IPPROTO_UDP || ip[9] == IPPROTO_TCP) && frame.size() >= kEth + ihl + 4) {
        const std::uint8_t* l4 = ip + ihl;
        out["sport"] = (l4[0] << 8) | l4[1];
        out["dport"] = (l4[2] << 8) | l4[3];
    }
    return out;
}

} // namespace

int main(int argc, char** argv)
{
    CLI::App app{"svr punt probe: print frames punted to an AF_XDP socket"};
    std::string router;
    std::string ifname;
    int count = 1;
    int timeoutMs = 10000;
    app.add_option("--router", router)->required();
    app.add_option("--interface", ifname)->required();
    app.add_option("--count", count);
    app.add_option("--timeout-ms", timeoutMs);
    CLI11_PARSE(app, argc, argv);

    auto maps = fp::PinnedMaps::open(fp::defaultPinRoot(router));
    if (!maps) {
        fmt::print(stderr, "punt_probe: {}\n", maps.error().describe());
        return 1;
    }
    auto socket = fp::PuntSocket::open(maps->fds(), ifname);
    if (!socket) {
        fmt::print(stderr, "punt_probe: {}\n", socket.error().describe());
        return 1;
    }
    fmt::print(stderr, "ready slot {}\n", (*socket)->slot());
    std::fflush(stderr);

    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeoutMs);
    int seen = 0;
    while (seen < count) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            fmt::print(stderr, "punt_probe: timeout after {} of {} frames\n", seen, count);
            return 2;
        }
        auto frames = (*socket)->receive(static_cast<int>(left.count()));
        if (!frames) {
            fmt::print(stderr, "punt_probe: {}\n", frames.error().describe());
            return 1;
        }
        for (const fp::PuntFrame& frame : *frames) {
            nlohmann::json line = describeFrame(frame.data);
            line["has_meta"] = frame.hasMeta;
            line["meta"] = fp::puntMetaToJson(frame.meta);
            fmt::print("{}\n", line.dump());
            std::fflush(stdout);
            ++seen;
        }
    }
    return 0;
}
