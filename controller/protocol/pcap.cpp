#include "protocol/pcap.hpp"

#include <algorithm>

#include "protocol/bytes.hpp"
#include "protocol/errors.hpp"

namespace svr::protocol::pcap {
namespace {

constexpr std::uint32_t kLinkNull = 0, kLinkEthernet = 1, kLinkRaw = 101, kLinkRawAlt = 12, kLinkIpv4 = 228,
                        kLinkIpv6 = 229, kLinkLinuxSll = 113, kLinkLinuxSll2 = 276;

struct Reader {
    std::span<const std::uint8_t> data;
    bool bigEndian = false;
    std::uint32_t u32(std::size_t at) const
    {
        const std::uint32_t be = bytes::load32(data.data() + at);
        return bigEndian ? be : __builtin_bswap32(be);
    }
    std::uint16_t u16(std::size_t at) const
    {
        const std::uint16_t be = bytes::load16(data.data() + at);
        return bigEndian ? be : static_cast<std::uint16_t>((be >> 8) | (be << 8));
    }
};

Result<std::vector<Record>> parseClassic(std::span<const std::uint8_t> file, bool bigEndian)
{
    constexpr std::size_t kFileHeader = 24, kRecordHeader = 16;
    if (file.size() < kFileHeader) {
        return protocolError(Errc::PcapTruncated);
    }
    Reader reader{file, bigEndian};
    const std::uint32_t linkType = reader.u32(20) & 0x0fffffff;
    std::vector<Record> records;
    std::size_t at = kFileHeader;
    while (at < file.size()) {
        if (file.size() - at < kRecordHeader) {
            return protocolError(Errc::PcapTruncated);
        }
        const std::size_t captured = reader.u32(at + 8);
        at += kRecordHeader;
        if (file.size() - at < captured) {
            return protocolError(Errc::PcapTruncated);
        }
        records.push_back(Record{records.size() + 1, linkType, file.subspan(at, captured)});
        at += captured;
    }
    return records;
}

Result<std::vector<Record>> parseNg(std::span<const std::uint8_t> file)
{
    constexpr std::uint32_t kSectionHeader = 0x0a0d0d0a, kInterface = 1, kSimplePacket = 3, kEnhancedPacket = 6;
    Reader reader{file, false};
    std::vector<std::uint32_t> interfaces;
    std::vector<Record> records;
    std::size_t at = 0;
    while (at < file.size()) {
        if (file.size() - at < 12) {
            return protocolError(Errc::PcapTruncated);
        }
        const std::uint32_t rawType = bytes::load32(file.data() + at);
        if (rawType == kSectionHeader) {
            const std::uint32_t magic = bytes::load32(file.data() + at + 8);
            if (magic == 0x1a2b3c4d) {
                reader.bigEndian = true;
            } else if (magic == 0x4d3c2b1a) {
                reader.bigEndian = false;
            } else {
                return protocolError(Errc::PcapBadMagic);
            }
            interfaces.clear();
        }
        const std::uint32_t type = reader.u32(at);
        const std::size_t length = reader.u32(at + 4);
        if (length < 12 || length % 4 != 0 || length > file.size() - at) {
            return protocolError(Errc::PcapTruncated);
        }
        const auto body = file.subspan(at + 8, length - 12);
        if (type == kInterface) {
            if (body.size() < 2) {
                return protocolError(Errc::PcapTruncated);
            }
            interfaces.push_back(reader.u16(at + 8));
        } else if (type == kEnhancedPacket) {
            if (body.size() < 20) {
                return protocolError(Errc::PcapTruncated);
            }
            const std::uint32_t interface = reader.u32(at + 8);
            const std::size_t captured = reader.u32(at + 8 + 12);
            if (interface >= interfaces.size() || captured > body.size() - 20) {
                return protocolError(Errc::PcapTruncated);
            }
            records.push_back(Record{records.size() + 1, interfaces[interface], body.subspan(20, captured)});
        } else if (type == kSimplePacket) {
            if (body.size() < 4 || interfaces.empty()) {
                return protocolError(Errc::PcapTruncated);
            }
            const std::size_t original = reader.u32(at + 8);
            records.push_back(
                Record{records.size() + 1, interfaces[0], body.subspan(4, std::min(original, body.size() - 4))});
        }
        at += length;
    }
    return records;
}

} // namespace

Result<std::vector<Record>> parse(std::span<const std::uint8_t> file)
{
    if (file.size() < 4) {
        return protocolError(Errc::PcapTruncated);
    }
    switch (bytes::load32(file.data())) {
    case 0xa1b2c3d4:
    case 0xa1b23c4d: return parseClassic(file, true);
    case 0xd4c3b2a1:
    case 0x4d3cb2a1: return parseClassic(file, false);
    case 0x0a0d0d0a: return parseNg(file);
    default: return protocolError(Errc::PcapBadMagic);
    }
}

bool supportedLinkType(std::uint32_t linkType)
{
    switch (linkType) {
    case kLinkNull:
    case kLinkEthernet:
    case kLinkRaw:
    case kLinkRawAlt:
    case kLinkIpv4:
    case kLinkIpv6:
    case kLinkLinuxSll:
    case kLinkLinuxSll2: return true;
    default: return false;
    }
}

std::optional<std::size_t> ipOffset(std::uint32_t linkType, std::span<const std::uint8_t> frame)
{
    auto isIpEtherType = [](std::uint16_t etherType) { return etherType == 0x0800 || etherType == 0x86dd; };
    switch (linkType) {
    case kLinkRaw:
    case kLinkRawAlt:
    case kLinkIpv4:
    case kLinkIpv6: return frame.empty() ? std::nullopt : std::optional<std::size_t>(0);
    case kLinkNull: return frame.size() > 4 ? std::optional<std::size_t>(4) : std::nullopt;
    case kLinkEthernet: {
        std::size_t at = 12;
        for (int tags = 0; tags < 3; ++tags) {
            if (frame.size() < at + 2) {
                return std::nullopt;
            }
            const std::uint16_t etherType = bytes::load16(frame.data() + at);
            if (etherType == 0x8100 || etherType == 0x88a8) {
                at += 4;
                continue;
            }
            return isIpEtherType(etherType) ? std::optional<std::size_t>(at + 2) : std::nullopt;
        }
        return std::nullopt;
    }
    case kLinkLinuxSll:
        if (frame.size() < 16 || !isIpEtherType(bytes::load16(frame.data() + 14))) {
            return std::nullopt;
        }
        return 16;
    case kLinkLinuxSll2:
        if (frame.size() < 20 || !isIpEtherType(bytes::load16(frame.data()))) {
            return std::nullopt;
        }
        return 20;
    default: return std::nullopt;
    }
}

} // namespace svr::protocol::pcap
