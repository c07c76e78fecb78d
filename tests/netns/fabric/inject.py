"""Injects tampered copies of a captured SVR first packet onto a WAN link (an attacker there).

usage: python3 inject.py PCAP DEVICE MODE

Takes the first IPv4 TCP or UDP frame of PCAP whose L4 payload starts with the SVR cookie and
that is a session's first packet (a TCP SYN without ACK, or the first UDP packet of its flow),
changes it and sends it out of DEVICE (AF_PACKET) towards the peer router. MODE:
  replay    the same packet from another waypoint source port: a new waypoint tuple, so it
            reaches the peer as a new session's first packet; the HMAC still verifies (outer
            headers are not signed), only the replay protection can refuse it
  forged    as replay, and one byte of the HMAC tag flipped
  stranger  as replay, from an address that is no configured peer waypoint
Checksums (IPv4 header, TCP/UDP) are recomputed so only the SVR checks can refuse it.
"""
import socket
import struct
import sys

COOKIE = bytes.fromhex("4c48dbc6ddf6670c")


def frames(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic != 0xa1b2c3d4 and magic != 0xa1b23c4d:
        raise SystemExit("inject.py: %s: not a little-endian pcap (tcpdump -w writes one)" % path)
    offset = 24
    while offset + 16 <= len(data):
        length = struct.unpack("<I", data[offset + 8:offset + 12])[0]
        yield bytearray(data[offset + 16:offset + 16 + length])
        offset += 16 + length


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return ~total & 0xffff


def first_packet(path):
    for frame in frames(path):
        if struct.unpack("!H", frame[12:14])[0] != 0x0800:
            continue
        ihl = (frame[14] & 0xf) * 4
        proto = frame[23]
        l4 = 14 + ihl
        if proto == 6:
            flags = frame[l4 + 13]
            payload = l4 + (frame[l4 + 12] >> 4) * 4
            if not (flags & 0x02) or (flags & 0x10):
                continue
        elif proto == 17:
            payload = l4 + 8
        else:
            continue
        if frame[payload:payload + 8] == COOKIE:
            return frame, l4, proto
    raise SystemExit("inject.py: no SVR first packet in %s" % path)


def main():
    pcap, device, mode = sys.argv[1:4]
    frame, l4, proto = first_packet(pcap)
    ip_end = 14 + struct.unpack("!H", frame[16:18])[0]
    frame = frame[:ip_end]
    # Another waypoint source port (even, as the initiator picks): a new waypoint tuple.
    sport = struct.unpack("!H", frame[l4:l4 + 2])[0]
    struct.pack_into("!H", frame, l4, 16384 + (sport + 2000) % 40000 // 2 * 2)
    if mode == "forged":
        frame[-1] ^= 0x01  # the last byte of the L4 payload is the tag's
    elif mode == "stranger":
        frame[26:30] = socket.inet_aton("192.0.2.99")
    elif mode != "replay":
        raise SystemExit("inject.py: unknown mode " + mode)
    frame[24:26] = b"\0\0"
    struct.pack_into("!H", frame, 24, checksum(bytes(frame[14:l4])))
    segment = frame[l4:]
    csum_at = 16 if proto == 6 else 6
    segment[csum_at:csum_at + 2] = b"\0\0"
    pseudo = bytes(frame[26:34]) + struct.pack("!BBH", 0, proto, len(segment))
    value = checksum(pseudo + bytes(segment))
    if proto == 17 and value == 0:
        value = 0xffff
    struct.pack_into("!H", segment, csum_at, value)
    frame[l4:] = segment
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((device, 0))
    sock.send(bytes(frame))
    print("inject.py: sent %s (%d bytes, IP protocol %d) on %s" % (mode, len(frame), proto, device))


if __name__ == "__main__":
    main()
