// Longest-prefix match over IPv4 and IPv6 prefixes: one binary trie per family, nodes in a
// vector (no per-node allocation). Lookups walk at most 32 or 128 nodes and never allocate.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

#include "config/ip.hpp"

namespace svr::policy {

template <typename Value>
class PrefixTable {
public:
    // The value stored at the prefix's network (host bits ignored), created if absent.
    Value& at(const config::IpPrefix& prefix)
    {
        auto& nodes = trie(prefix.family());
        std::uint32_t index = 0;
        for (unsigned depth = 0; depth < prefix.length; ++depth) {
            const unsigned bit = prefix.address.bit(depth);
            if (nodes[index].child[bit] == kNone) {
                nodes[index].child[bit] = static_cast<std::uint32_t>(nodes.size());
                nodes.emplace_back();
            }
            index = nodes[index].child[bit];
        }
        if (!nodes[index].value) {
            nodes[index].value.emplace();
        }
        return *nodes[index].value;
    }

    const Value* longestMatch(const config::IpAddress& address) const
    {
        const Value* best = nullptr;
        forEachMatch(address, [&best](const Value& value) {
            best = &value;
            return true;
        });
        return best;
    }

    // Calls visit(value) for every prefix containing the address, longest first, until
    // visit returns true. Returns whether a visit returned true.
    template <typename Visit>
    bool forEachMatch(const config::IpAddress& address, Visit&& visit) const
    {
        const auto& nodes = trie(address.family);
        std::array<std::uint32_t, 129> path{}; // depth 0..128
        unsigned count = 0;
        std::uint32_t index = 0;
        for (unsigned depth = 0;; ++depth) {
            if (nodes[index].value) {
                path[count++] = index;
            }
            if (depth == address.widthBits()) {
                break;
            }
            const std::uint32_t next = nodes[index].child[address.bit(depth)];
            if (next == kNone) {
                break;
            }
            index = next;
        }
        while (count > 0) {
            if (visit(*nodes[path[--count]].value)) {
                return true;
            }
        }
        return false;
    }

private:
    static constexpr std::uint32_t kNone = 0; // the root is never a child

    struct Node {
        std::array<std::uint32_t, 2> child{kNone, kNone};
        std::optional<Value> value;
    };

    std::vector<Node>& trie(config::Family family) { return family == config::Family::v4 ? v4_ : v6_; }
    const std::vector<Node>& trie(config::Family family) const
    {
        return family == config::Family::v4 ? v4_ : v6_;
    }

    std::vector<Node> v4_ = std::vector<Node>(1);
    std::vector<Node> v6_ = std::vector<Node>(1);
};

} // namespace svr::policy
