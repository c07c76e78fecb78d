// Packet builder: serialise the layers, then fill lengths and checksums from scratch.
#include "packet_builder.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace svr::test {

namespace {

constexpr std::uint8_t kProtoIcmp = 1;
constexpr std::uint8_t kProtoTcp = 6;
constexpr std::uint8_t kProtoUdp = 17;
constexpr std::uint8_t kProtoIcmpv6 = 58;
constexpr std::uint8_t kProtoNoNext = 59;

void put16(Bytes& out, std::uint16_t value)
{
    out.push_back(static_cast<std::uint8_t>(value >> 8));
    out.push_back(static_cast<std::uint8_t>(value));
}

void put32(Bytes& out, std::uint32_t value)
{
    put16(out, static_cast<std::uint16_t>(value >> 16));
    put16(out, static_cast<std::uint16_t>(value));
}

void set16(Bytes& out, std::size_t offset, std::uint16_t value)
{
    out.at(offset) = static_cast<std::uint8_t>(value >> 8);
    out.at(offset + 1) = static_cast<std::uint8_t>(value);
}

std::uint16_t get16(std::span<const std::uint8_t> in, std::size_t offset)
{
    return static_cast<std::uint16_t>(in[offset] << 8 | in[offset + 1]);
}

void append(Bytes& out, std::span<const std::uint8_t> bytes)
{
    out.insert(out.end(), bytes.begin(), bytes.end());
}

void padTo(Bytes& bytes, std::size_t multiple, std::size_t extra = 0)
{
    while ((bytes.size() + extra) % multiple != 0) {
        bytes.push_back(0);
    }
}

std::uint32_t sumWords(std::span<const std::uint8_t> bytes, std::uint32_t sum = 0)
{
    std::size_t i = 0;
    for (; i + 1 < bytes.size(); i += 2) {
        sum += static_cast<std::uint32_t>(bytes[i] << 8 | bytes[i + 1]);
    }
    if (i < bytes.size()) {
        sum += static_cast<std::uint32_t>(bytes[i] << 8);
    }
    return sum;
}

// Partial sum of the pseudo-header of an upper-layer checksum. `ip` points at the IP header.
std::uint32_t pseudoHeaderSum(std::span<const std::uint8_t> ip, bool is_v6, std::uint8_t proto,
                              std::uint32_t l4_length)
{
    std::uint32_t sum = 0;
    if (is_v6) {
        sum = sumWords(ip.subspan(8, 32));
    } else {
        sum = sumWords(ip.subspan(12, 8));
    }
    sum += l4_length >> 16;
    sum += l4_length & 0xffff;
    sum += proto;
    return sum;
}

} // namespace

std::uint16_t internetChecksum(std::span<const std::uint8_t> bytes, std::uint32_t initial)
{
    std::uint64_t sum = sumWords(bytes, 0) + static_cast<std::uint64_t>(initial);
    while (sum >> 16) {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    return static_cast<std::uint16_t>(~sum & 0xffff);
}

MacAddr mac(std::string_view text)
{
    MacAddr out{};
    unsigned int b[6];
    std::string copy(text);
    if (std::sscanf(copy.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) !=
        6) {
        throw std::invalid_argument("bad MAC literal: " + copy);
    }
    for (int i = 0; i < 6; ++i) {
        out[i] = static_cast<std::uint8_t>(b[i]);
    }
    return out;
}

Ipv4Addr ipv4(std::string_view text)
{
    Ipv4Addr out{};
    std::string copy(text);
    if (inet_pton(AF_INET, copy.c_str(), out.data()) != 1) {
        throw std::invalid_argument("bad IPv4 literal: " + copy);
    }
    return out;
}

Ipv6Addr ipv6(std::string_view text)
{
    Ipv6Addr out{};
    std::string copy(text);
    if (inet_pton(AF_INET6, copy.c_str(), out.data()) != 1) {
        throw std::invalid_argument("bad IPv6 literal: " + copy);
    }
    return out;
}

IcmpHeader icmpv4EchoRequest(std::uint16_t id, std::uint16_t seq)
{
    return {.type = 8, .code = 0, .rest_of_header = std::uint32_t{id} << 16 | seq};
}
IcmpHeader icmpv4EchoReply(std::uint16_t id, std::uint16_t seq)
{
    return {.type = 0, .code = 0, .rest_of_header = std::uint32_t{id} << 16 | seq};
}
IcmpHeader icmpv6EchoRequest(std::uint16_t id, std::uint16_t seq)
{
    return {.type = 128, .code = 0, .rest_of_header = std::uint32_t{id} << 16 | seq};
}
IcmpHeader icmpv6EchoReply(std::uint16_t id, std::uint16_t seq)
{
    return {.type = 129, .code = 0, .rest_of_header = std::uint32_t{id} << 16 | seq};
}
IcmpHeader icmpv4DestUnreachable(std::uint8_t code, std::uint16_t next_hop_mtu)
{
    return {.type = 3, .code = code, .rest_of_header = next_hop_mtu};
}
IcmpHeader icmpv4TimeExceeded()
{
    return {.type = 11, .code = 0, .rest_of_header = 0};
}
IcmpHeader icmpv6DestUnreachable(std::uint8_t code)
{
    return {.type = 1, .code = code, .rest_of_header = 0};
}
IcmpHeader icmpv6PacketTooBig(std::uint32_t mtu)
{
    return {.type = 2, .code = 0, .rest_of_header = mtu};
}
IcmpHeader icmpv6TimeExceeded()
{
    return {.type = 3, .code = 0, .rest_of_header = 0};
}

PacketBuilder& PacketBuilder::eth(MacAddr dst, MacAddr src, std::optional<std::uint16_t> ether_type)
{
    return eth(EthernetHeader{.dst = dst, .src = src, .ether_type = ether_type});
}
PacketBuilder& PacketBuilder::eth(const EthernetHeader& header)
{
    layers_.emplace_back(header);
    return *this;
}
PacketBuilder& PacketBuilder::vlan(std::uint16_t vid, std::uint16_t tpid)
{
    return vlan(VlanTag{.vid = vid, .tpid = tpid});
}
PacketBuilder& PacketBuilder::vlan(const VlanTag& tag)
{
    layers_.emplace_back(tag);
    return *this;
}
PacketBuilder& PacketBuilder::ipv4(const Ipv4Header& header)
{
    layers_.emplace_back(header);
    return *this;
}
PacketBuilder& PacketBuilder::ipv6(const Ipv6Header& header)
{
    layers_.emplace_back(header);
    return *this;
}
PacketBuilder& PacketBuilder::ipv6Extension(const Ipv6Extension& header)
{
    layers_.emplace_back(header);
    return *this;
}
PacketBuilder& PacketBuilder::ipv6Fragment(const Ipv6Fragment& header)
{
    layers_.emplace_back(header);
    return *this;
}
PacketBuilder& PacketBuilder::tcp(const TcpHeader& header)
{
    layers_.emplace_back(header);
    return *this;
}
PacketBuilder& PacketBuilder::udp(const UdpHeader& header)
{
    layers_.emplace_back(header);
    return *this;
}
PacketBuilder& PacketBuilder::icmp(const IcmpHeader& header)
{
    layers_.emplace_back(header);
    return *this;
}
PacketBuilder& PacketBuilder::payload(std::span<const std::uint8_t> bytes)
{
    layers_.emplace_back(Payload{Bytes(bytes.begin(), bytes.end())});
    return *this;
}
PacketBuilder& PacketBuilder::payload(std::initializer_list<std::uint8_t> bytes)
{
    layers_.emplace_back(Payload{Bytes(bytes)});
    return *this;
}

Bytes PacketBuilder::build() const
{
    const std::size_t count = layers_.size();
    auto etherTypeAfter = [&](std::size_t i) -> std::uint16_t {
        if (i >= count) {
            throw std::logic_error("PacketBuilder: ether type needed but no next layer");
        }
        if (auto* tag = std::get_if<VlanTag>(&layers_[i])) {
            return tag->tpid;
        }
        if (std::holds_alternative<Ipv4Header>(layers_[i])) {
            return kEtherTypeIpv4;
        }
        if (std::holds_alternative<Ipv6Header>(layers_[i])) {
            return kEtherTypeIpv6;
        }
        throw std::logic_error("PacketBuilder: set ether_type explicitly before a payload");
    };
    auto protoAfter = [&](std::size_t i, bool is_v6) -> std::uint8_t {
        if (i >= count) {
            return is_v6 ? kProtoNoNext : 255;
        }
        const Layer& next = layers_[i];
        if (auto* ext = std::get_if<Ipv6Extension>(&next)) {
            return ext->type;
        }
        if (std::holds_alternative<Ipv6Fragment>(next)) {
            return kIpv6Fragment;
        }
        if (std::holds_alternative<TcpHeader>(next)) {
            return kProtoTcp;
        }
        if (std::holds_alternative<UdpHeader>(next)) {
            return kProtoUdp;
        }
        if (std::holds_alternative<IcmpHeader>(next)) {
            return is_v6 ? kProtoIcmpv6 : kProtoIcmp;
        }
        return is_v6 ? kProtoNoNext : 255;
    };

    Bytes out;
    std::vector<std::size_t> offsets(count);
    for (std::size_t i = 0; i < count; ++i) {
        offsets[i] = out.size();
        const Layer& layer = layers_[i];
        if (auto* e = std::get_if<EthernetHeader>(&layer)) {
            append(out, e->dst);
            append(out, e->src);
            put16(out, e->ether_type ? *e->ether_type : etherTypeAfter(i + 1));
        } else if (auto* v = std::get_if<VlanTag>(&layer)) {
            put16(out, static_cast<std::uint16_t>(v->pcp << 13 | (v->vid & 0x0fff)));
            put16(out, v->inner_type ? *v->inner_type : etherTypeAfter(i + 1));
        } else if (auto* h4 = std::get_if<Ipv4Header>(&layer)) {
            Bytes options = h4->options;
            padTo(options, 4);
            const auto ihl = h4->ihl.value_or(static_cast<std::uint8_t>(5 + options.size() / 4));
            out.push_back(static_cast<std::uint8_t>(h4->version.value_or(4) << 4 | (ihl & 0xf)));
            out.push_back(h4->tos);
            put16(out, 0); // total length: fixed up below
            put16(out, h4->id);
            put16(out, static_cast<std::uint16_t>((h4->dont_fragment ? 0x4000 : 0) |
                                                  (h4->more_fragments ? 0x2000 : 0) |
                                                  (h4->fragment_offset & 0x1fff)));
            out.push_back(h4->ttl);
            out.push_back(h4->protocol.value_or(protoAfter(i + 1, false)));
            put16(out, 0); // checksum: fixed up below
            append(out, h4->src);
            append(out, h4->dst);
            append(out, options);
        } else if (auto* h6 = std::get_if<Ipv6Header>(&layer)) {
            put32(out, static_cast<std::uint32_t>(h6->version.value_or(6)) << 28 |
                           static_cast<std::uint32_t>(h6->traffic_class) << 20 |
                           (h6->flow_label & 0xfffff));
            put16(out, 0); // payload length: fixed up below
            out.push_back(h6->next_header.value_or(protoAfter(i + 1, true)));
            out.push_back(h6->hop_limit);
            append(out, h6->src);
            append(out, h6->dst);
        } else if (auto* ext = std::get_if<Ipv6Extension>(&layer)) {
            Bytes body = ext->body;
            padTo(body, 8, 2);
            out.push_back(ext->next_header.value_or(protoAfter(i + 1, true)));
            out.push_back(static_cast<std::uint8_t>((body.size() + 2) / 8 - 1));
            append(out, body);
        } else if (auto* frag = std::get_if<Ipv6Fragment>(&layer)) {
            out.push_back(frag->next_header.value_or(protoAfter(i + 1, true)));
            out.push_back(0);
            put16(out, static_cast<std::uint16_t>(frag->offset << 3 | (frag->more_fragments ? 1 : 0)));
            put32(out, frag->id);
        } else if (auto* t = std::get_if<TcpHeader>(&layer)) {
            Bytes options = t->options;
            padTo(options, 4);
            const auto doff = t->data_offset.value_or(static_cast<std::uint8_t>(5 + options.size() / 4));
            put16(out, t->src_port);
            put16(out, t->dst_port);
            put32(out, t->seq);
            put32(out, t->ack);
            out.push_back(static_cast<std::uint8_t>(doff << 4));
            out.push_back(t->flags);
            put16(out, t->window);
            put16(out, 0);
            put16(out, t->urgent);
            append(out, options);
        } else if (auto* u = std::get_if<UdpHeader>(&layer)) {
            put16(out, u->src_port);
            put16(out, u->dst_port);
            put16(out, 0);
            put16(out, 0);
        } else if (auto* c = std::get_if<IcmpHeader>(&layer)) {
            out.push_back(c->type);
            out.push_back(c->code);
            put16(out, 0);
            put32(out, c->rest_of_header);
        } else if (auto* p = std::get_if<Payload>(&layer)) {
            append(out, p->bytes);
        }
    }

    // Fix-ups from the innermost layer out: L4 checksums first, the IPv4 header sum last.
    auto enclosingIp = [&](std::size_t i) -> std::optional<std::size_t> {
        for (std::size_t j = i; j-- > 0;) {
            if (std::holds_alternative<Ipv4Header>(layers_[j]) ||
                std::holds_alternative<Ipv6Header>(layers_[j])) {
                return j;
            }
        }
        return std::nullopt;
    };
    for (std::size_t i = count; i-- > 0;) {
        const Layer& layer = layers_[i];
        const std::size_t off = offsets[i];
        const auto l4_length = static_cast<std::uint32_t>(out.size() - off);
        auto l4Sum = [&](std::uint8_t proto, bool pseudo) -> std::uint16_t {
            std::uint32_t initial = 0;
            if (pseudo) {
                const auto ip_index = enclosingIp(i);
                if (!ip_index) {
                    throw std::logic_error("PacketBuilder: L4 layer without an IP layer");
                }
                const bool v6 = std::holds_alternative<Ipv6Header>(layers_[*ip_index]);
                initial = pseudoHeaderSum(std::span(out).subspan(offsets[*ip_index]), v6, proto,
                                          l4_length);
            }
            return internetChecksum(std::span(out).subspan(off), initial);
        };
        if (auto* t = std::get_if<TcpHeader>(&layer)) {
            set16(out, off + 16, t->checksum ? *t->checksum : l4Sum(kProtoTcp, true));
        } else if (auto* u = std::get_if<UdpHeader>(&layer)) {
            set16(out, off + 4, u->length.value_or(static_cast<std::uint16_t>(l4_length)));
            std::uint16_t sum = 0;
            if (u->checksum) {
                sum = *u->checksum;
            } else {
                sum = l4Sum(kProtoUdp, true);
                if (sum == 0) {
                    sum = 0xffff; // 0 means "none" on the wire
                }
            }
            set16(out, off + 6, sum);
        } else if (auto* c = std::get_if<IcmpHeader>(&layer)) {
            const auto ip = enclosingIp(i);
            const bool v6 = ip && std::holds_alternative<Ipv6Header>(layers_[*ip]);
            set16(out, off + 2, c->checksum ? *c->checksum : l4Sum(kProtoIcmpv6, v6));
        } else if (auto* h4 = std::get_if<Ipv4Header>(&layer)) {
            set16(out, off + 2, h4->total_length.value_or(static_cast<std::uint16_t>(l4_length)));
            const std::size_t header_len = std::min<std::size_t>(
                std::size_t{20} + ((h4->options.size() + 3) / 4) * 4, out.size() - off);
            set16(out, off + 10,
                  h4->checksum ? *h4->checksum
                               : internetChecksum(std::span(out).subspan(off, header_len)));
        } else if (auto* h6 = std::get_if<Ipv6Header>(&layer)) {
            set16(out, off + 4,
                  h6->payload_length.value_or(static_cast<std::uint16_t>(l4_length - 40)));
        }
    }
    return out;
}

Bytes truncated(Bytes frame, std::size_t length)
{
    frame.resize(std::min(length, frame.size()));
    return frame;
}

Bytes quoted(const Bytes& ip_packet, std::size_t length)
{
    return truncated(ip_packet, length);
}

namespace {

// Verify the L4 checksum of the segment at `l4` (the rest of the IP payload).
void checkL4(std::span<const std::uint8_t> ip, bool is_v6, std::uint8_t proto,
             std::span<const std::uint8_t> l4, std::string& errors, const char* where);

void checkIpv4Header(std::span<const std::uint8_t> ip, std::string& errors, const char* where)
{
    const std::size_t ihl = (ip[0] & 0xf) * 4u;
    if (ihl < 20 || ihl > ip.size()) {
        return;
    }
    if (internetChecksum(ip.first(ihl)) != 0) {
        errors += std::string(where) + ": IPv4 header checksum wrong\n";
    }
}

void checkIp(std::span<const std::uint8_t> ip, std::string& errors, const char* where,
             bool quoted_packet)
{
    if (ip.empty()) {
        return;
    }
    const int version = ip[0] >> 4;
    if (version == 4 && ip.size() >= 20) {
        checkIpv4Header(ip, errors, where);
        if (quoted_packet) {
            return; // the quoted L4 part is only 8 bytes: its checksum cannot be checked
        }
        const std::size_t ihl = (ip[0] & 0xf) * 4u;
        const std::size_t total = std::min<std::size_t>(get16(ip, 2), ip.size());
        const bool fragment = (get16(ip, 6) & 0x3fff) != 0;
        if (ihl < 20 || total < ihl || fragment) {
            return;
        }
        checkL4(ip, false, ip[9], ip.subspan(ihl, total - ihl), errors, where);
    } else if (version == 6 && ip.size() >= 40 && !quoted_packet) {
        std::uint8_t next = ip[6];
        std::size_t off = 40;
        const std::size_t end = std::min<std::size_t>(40 + get16(ip, 4), ip.size());
        for (int hops = 0; hops < 8; ++hops) {
            if (next == kIpv6HopByHop || next == kIpv6Routing || next == kIpv6DestOptions) {
                if (off + 2 > end) {
                    return;
                }
                next = ip[off];
                off += (ip[off + 1] + 1u) * 8u;
            } else if (next == kIpv6Fragment) {
                if (off + 8 > end || (get16(ip, off + 2) & 0xfff9) != 0) {
                    return; // not the first fragment, or a fragment we cannot check
                }
                next = ip[off];
                off += 8;
            } else {
                break;
            }
        }
        if (off <= end) {
            checkL4(ip, true, next, ip.subspan(off, end - off), errors, where);
        }
    }
}

void checkL4(std::span<const std::uint8_t> ip, bool is_v6, std::uint8_t proto,
             std::span<const std::uint8_t> l4, std::string& errors, const char* where)
{
    const auto length = static_cast<std::uint32_t>(l4.size());
    if (proto == kProtoTcp && l4.size() >= 20) {
        if (internetChecksum(l4, pseudoHeaderSum(ip, is_v6, proto, length)) != 0) {
            errors += std::string(where) + ": TCP checksum wrong\n";
        }
    } else if (proto == kProtoUdp && l4.size() >= 8) {
        if (get16(l4, 6) == 0) {
            if (is_v6) {
                errors += std::string(where) + ": IPv6 UDP checksum is zero\n";
            }
            return;
        }
        if (internetChecksum(l4, pseudoHeaderSum(ip, is_v6, proto, length)) != 0) {
            errors += std::string(where) + ": UDP checksum wrong\n";
        }
    } else if ((proto == kProtoIcmp && !is_v6) || (proto == kProtoIcmpv6 && is_v6)) {
        if (l4.size() < 8) {
            return;
        }
        const std::uint32_t initial = is_v6 ? pseudoHeaderSum(ip, true, proto, length) : 0;
        if (internetChecksum(l4, initial) != 0) {
            errors += std::string(where) + (is_v6 ? ": ICMPv6" : ": ICMP") + " checksum wrong\n";
        }
        const std::uint8_t type = l4[0];
        const bool error_message = is_v6 ? type < 128 : (type == 3 || type == 11 || type == 12);
        if (error_message) {
            checkIp(l4.subspan(8), errors, "quoted packet", true);
        }
    }
}

} // namespace

std::string checksumErrors(std::span<const std::uint8_t> frame)
{
    std::string errors;
    if (frame.size() < 14) {
        return errors;
    }
    std::size_t off = 12;
    std::uint16_t type = get16(frame, off);
    for (int tags = 0; tags < 2 && (type == kEtherTypeVlan || type == kEtherTypeQinQ); ++tags) {
        off += 4;
        if (off + 2 > frame.size()) {
            return errors;
        }
        type = get16(frame, off);
    }
    off += 2;
    if (type == kEtherTypeIpv4 || type == kEtherTypeIpv6) {
        checkIp(frame.subspan(off), errors, "packet", false);
    }
    return errors;
}

std::string hexDump(std::span<const std::uint8_t> bytes)
{
    std::string out;
    char line[32];
    for (std::size_t i = 0; i < bytes.size(); i += 16) {
        std::snprintf(line, sizeof line, "%04zx:", i);
        out += line;
        for (std::size_t j = i; j < std::min(i + 16, bytes.size()); ++j) {
            std::snprintf(line, sizeof line, " %02x", bytes[j]);
            out += line;
        }
        out += '\n';
    }
    return out;
}

std::string hexDiff(std::span<const std::uint8_t> expected, std::span<const std::uint8_t> actual)
{
    std::string out = "offset  expected                                          | actual\n";
    const std::size_t longest = std::max(expected.size(), actual.size());
    char cell[32];
    for (std::size_t i = 0; i < longest; i += 16) {
        std::string left;
        std::string right;
        bool differs = false;
        for (std::size_t j = i; j < i + 16; ++j) {
            const bool have_e = j < expected.size();
            const bool have_a = j < actual.size();
            if (have_e) {
                std::snprintf(cell, sizeof cell, " %02x", expected[j]);
                left += cell;
            } else {
                left += "   ";
            }
            if (have_a) {
                std::snprintf(cell, sizeof cell, " %02x", actual[j]);
                right += cell;
            } else {
                right += "   ";
            }
            if (have_e != have_a || (have_e && expected[j] != actual[j])) {
                differs = true;
            }
        }
        std::snprintf(cell, sizeof cell, "%04zx%s", i, differs ? " ! " : "   ");
        out += cell + left + " |" + right + '\n';
    }
    return out;
}

} // namespace svr::test
