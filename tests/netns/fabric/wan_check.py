"""Checks a capture of an SVR WAN link (tshark decodes it).

usage: python3 wan_check.py PCAP MARKER WAYPOINT...

Fails (exit 1, one line per problem) unless:
  - every unicast IP packet (not the link's own ND/IGMP/MLD) is TCP or UDP between two of the given waypoint addresses: no tunnel, no
    encapsulation, no client or server address on the wire;
  - every port is a waypoint port (>= 16384), never the service ports;
  - in every flow, SVR metadata (the cookie at the start of the L4 payload) rides only on the
    first packets of each direction (a prefix of that direction), in both directions, and for
    TCP only on the SYN and the SYN/ACK;
  - the payload MARKER (from the HTTP server) crosses the link in clear.
Prints a one-line summary.
"""
import collections
import subprocess
import sys

COOKIE = "4c48dbc6ddf6670c"
# What the routers send each other; the link's own chatter (IPv6 neighbour discovery, IGMP or
# MLD reports to multicast groups) is no forwarded traffic.
LINK_TRAFFIC = ("(ip and not ip.dst == 224.0.0.0/4) or "
                "(ipv6 and not icmpv6 and not ipv6.dst == ff00::/8)")
FIELDS = ["frame.number", "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.proto", "ipv6.nxt",
          "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "tcp.flags.syn",
          "tcp.flags.ack", "tcp.payload", "udp.payload"]


def main():
    pcap, marker, waypoints = sys.argv[1], sys.argv[2].encode(), set(sys.argv[3:])
    command = ["tshark", "-r", pcap, "-n", "-Y", LINK_TRAFFIC, "-T", "fields",
               "-E", "separator=\t", "-E", "occurrence=f"]
    for field in FIELDS:
        command += ["-e", field]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    problems = []
    flows = collections.OrderedDict()  # canonical 5-tuple -> list of (forward?, meta?, syn, ack)
    marker_seen = False
    packets = 0
    for line in out.splitlines():
        row = dict(zip(FIELDS, line.split("\t")))
        packets += 1
        src = row["ip.src"] or row["ipv6.src"]
        dst = row["ip.dst"] or row["ipv6.dst"]
        proto = row["ip.proto"] or row["ipv6.nxt"]
        where = "frame %s" % row["frame.number"]
        if src not in waypoints or dst not in waypoints:
            problems.append("%s: %s -> %s is not between waypoints" % (where, src, dst))
        if proto not in ("6", "17"):
            problems.append("%s: IP protocol %s (encapsulation?)" % (where, proto))
            continue
        tcp = proto == "6"
        sport = int(row["tcp.srcport" if tcp else "udp.srcport"] or 0)
        dport = int(row["tcp.dstport" if tcp else "udp.dstport"] or 0)
        if sport < 16384 or dport < 16384:
            problems.append("%s: ports %d -> %d are not waypoint ports" % (where, sport, dport))
        payload = (row["tcp.payload"] if tcp else row["udp.payload"]).replace(":", "")
        meta = payload.startswith(COOKIE)
        if marker.hex() in payload:
            marker_seen = True
        a, b = (src, sport), (dst, dport)
        key = (proto,) + (tuple(sorted([a, b])))
        flow = flows.setdefault(key, {"first": a, "packets": []})
        syn = row["tcp.flags.syn"] in ("1", "True")
        ack = row["tcp.flags.ack"] in ("1", "True")
        flow["packets"].append((a == flow["first"], meta, syn, ack))
    metadata_packets = 0
    for key, flow in flows.items():
        for forward in (True, False):
            direction = [p for p in flow["packets"] if p[0] == forward]
            flags = [p[1] for p in direction]
            name = "%s %s" % ("forward" if forward else "reverse", key)
            if not direction:
                continue
            if not flags[0]:
                problems.append("%s: first packet carries no metadata" % name)
            first_plain = flags.index(False) if False in flags else len(flags)
            if any(flags[first_plain:]):
                problems.append("%s: metadata after a packet without it: %s" % (name, flags))
            metadata_packets += flags.count(True)
            if key[0] == "6":
                for (_, meta, syn, ack) in direction:
                    if meta and not (syn and (ack != forward)):
                        problems.append("%s: metadata on a TCP packet that is not the %s" %
                                        (name, "SYN" if forward else "SYN/ACK"))
    if not marker_seen:
        problems.append("payload marker %r not seen in clear" % marker.decode())
    if packets == 0:
        problems.append("no IP packets captured")
    for problem in problems:
        print("FAIL:", problem)
    print("wan_check: %d packets, %d flows, %d with metadata, %s" %
          (packets, len(flows), metadata_packets, "ok" if not problems else "problems"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
