#!/usr/bin/env bash
# Family translation across the fabric: sessions cross the first usable peer path in priority
# order whatever their family. Phase 1: router A prefers wan2 (IPv6 waypoints) - an IPv4
# client session over IPv6 waypoints (curl, iperf3 TCP, an unencrypted UDP exchange in the
# fast path, the encrypted UDP echo carried by svrd) and an IPv6 one over the same IPv6 path.
# Phase 2: svrd on A restarted with the example's order (wan1, IPv4 waypoints, first) - an
# IPv6 client session over IPv4 waypoints, same checks. The WAN captures show only waypoint
# addresses of the path's family, never a client or server address, and nothing on the path
# not taken. An IPv4 datagram with DF that no longer fits once IPv6 gets ICMP fragmentation
# needed from router A, and the client's path MTU follows. Topology: topology.sh.
#
# usage: fabric_xlate.sh SVRD SVRCTL XDP_PASS_OBJECT EXAMPLES_DIR
set -euo pipefail
SVRD=$1 SVRCTL=$2 XDP_PASS_OBJ=$3 EXAMPLES=$4
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/test_lib.sh"
fabric_require ip nsenter curl iperf3 nc tcpdump tshark python3 ethtool

FABRIC=sx$$$((RANDOM % 100))
FABRIC_WORK=$(mktemp -d /tmp/svr-xlate.XXXXXX)
source "$HERE/topology.sh"
trap fabric_test_cleanup EXIT INT TERM

step "configurations: A's wan2 (IPv6 waypoints) first; http also carries UDP 5201 unencrypted"
python3 -I - "$EXAMPLES" "$FABRIC_WORK" <<'PY'
import json, sys
examples, work = sys.argv[1], sys.argv[2]
for router in ("a", "b"):
    config = json.load(open("%s/fabric-router-%s.json" % (examples, router)))
    root = config["svr:config"]
    for service in root["services"]["service"]:
        if service["name"] == "http":  # 10.2.1.10 / fd00:2:1::10: iperf3 UDP in the fast path
            service["transport"].append({"protocol": "udp", "port-range": [{"start": 5201}]})
    json.dump(config, open("%s/router-%s-default.json" % (work, router), "w"), indent=1)
    if router == "a":
        for interface in root["router"]["interface"]:
            for hood in interface.get("neighborhood", []):
                for adjacency in hood["adjacency"]:
                    if interface["name"] == "wan2":
                        adjacency["priority"] = 5  # before wan1's 10
    json.dump(config, open("%s/router-%s.json" % (work, router), "w"), indent=1)
PY

step "fabric up ($FABRIC)"
fabric_up

marker="svr-fabric-marker"
# traffic TARGET ECHO_TARGET: from the eng client, curl (page, 1 MiB blob), iperf3 UDP 2 s
# (fast path), nc to the UDP echo (svrd carries the encrypted service).
traffic() {
  local target=$1 echo_target=$2 url=$1
  [[ $target == *:* ]] && url="[$target]"
  step "curl http://$url/ (page and 1 MiB blob)"
  page=$(in_ns "$NS_ENG" curl -sS --max-time 10 "http://$url/") || fail "curl $target failed"
  [[ $page == *"$marker"* ]] || fail "unexpected page from $target: $page"
  in_ns "$NS_ENG" curl -sS --max-time 20 -o "$FABRIC_WORK/blob.got" "http://$url/blob" ||
    fail "curl blob from $target failed"
  cmp -s "$FABRIC_WORK/blob.got" "$FABRIC_WORK/www/blob" || fail "blob from $target differs"
  step "iperf3 UDP to $target (5 Mbit/s, fast path)"
  in_ns "$NS_ENG" iperf3 -c "$target" -u -b 5M -t 2 -J >"$FABRIC_WORK/iperf-udp.json" ||
    fail "iperf3 UDP to $target: $(tail -5 "$FABRIC_WORK/iperf-udp.json")"
  python3 -I - "$FABRIC_WORK/iperf-udp.json" <<'PY' || fail "iperf3 UDP to $target"
import json, sys
end = json.load(open(sys.argv[1]))["end"]["sum"]
print("   %d packets, %d lost (%.2f %%)" % (end["packets"], end["lost_packets"], end["lost_percent"]))
sys.exit(0 if end["packets"] > 500 and end["lost_percent"] < 2.0 else 1)
PY
  step "nc: UDP echo from $echo_target:7 (svrd carries the encrypted service)"
  reply=$(echo "svr xlate probe" | in_ns "$NS_ENG" nc -u -w 2 "$echo_target" 7) || true
  [[ $reply == "svr xlate probe" ]] || fail "nc echo via $echo_target: got '$reply'"
}

# bulk TARGET: iperf3 TCP for 2 s, outside the captures (their checks read every packet).
bulk() {
  step "iperf3 TCP to $1"
  in_ns "$NS_ENG" iperf3 -c "$1" -t 2 -J >"$FABRIC_WORK/iperf-tcp.json" ||
    fail "iperf3 TCP to $1: $(tail -5 "$FABRIC_WORK/iperf-tcp.json")"
  python3 -I - "$FABRIC_WORK/iperf-tcp.json" <<'PY' || fail "iperf3 TCP to $1"
import json, sys
end = json.load(open(sys.argv[1]))["end"]
received = end["sum_received"]["bytes"]
print("   received %.1f MB, %.0f Mbit/s" % (received / 1e6, end["sum_received"]["bits_per_second"] / 1e6))
sys.exit(0 if received > 1_000_000 else 1)
PY
}

# sessions_over CLIENT_FAMILY WAYPOINT_FAMILY SINCE: router A's sessions of the client family
# on lan-eng opened since SINCE (date +%s) leave with new addresses of the waypoint family
# (svrctl's view of the entries).
sessions_over() {
  local age=$(( $(date +%s) - $3 + 1 ))
  python3 -I - "$(in_ns "$NS_A" "$SVRCTL" session list --router "$PIN_A" --json)" "$1" "$2" "$age" <<'PY'
import json, sys
entries, client, waypoint = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
mine = [e for e in entries if e["in_interface"] == "lan-eng" and e["family"] == client
        and e["proto"] in ("tcp", "udp") and e["age_s"] <= float(sys.argv[4])]
assert mine, "no %s session from lan-eng at router A" % client
wrong = [e for e in mine if e["new_family"] != waypoint]
print("   %d %s sessions at A, all leave as %s" % (len(mine), client, waypoint))
assert not wrong, "sessions not translated: %s" % wrong[:2]
PY
}

# packets PCAP FILTER: how many packets of the capture match the display filter.
packets() { tshark -r "$1" -n -Y "$2" 2>/dev/null | wc -l; }
# What the routers send each other; not the link's own ND and IGMP/MLD chatter.
forwarded='(ip and not ip.dst == 224.0.0.0/4) or (ipv6 and not icmpv6 and not ipv6.dst == ff00::/8)'

step "phase 1: IPv4 and IPv6 sessions over IPv6 waypoints (wan2)"
fabric_capture br1 "$FABRIC_WORK/p1-wan1.pcap"
fabric_capture br2 "$FABRIC_WORK/p1-wan2.pcap"
a_sent=$(fabric_counter a tx.packets)
since=$(date +%s)
traffic 10.2.1.10 10.2.1.11
traffic fd00:2:1::10 fd00:2:1::11
fabric_stop_captures
bulk 10.2.1.10
bulk fd00:2:1::10
sessions_over ipv4 ipv6 "$since" || fail "IPv4 sessions are not carried over IPv6 waypoints"
(( $(fabric_counter a tx.packets) > a_sent )) || fail "svrd on A sent no first packets"
python3 -I "$HERE/wan_check.py" "$FABRIC_WORK/p1-wan2.pcap" "$marker" 2001:db8:2::1 2001:db8:2::2 ||
  fail "wan2 capture (IPv6 waypoints only, no client or server address)"
# IPv4 multicast is the link's own IGMP chatter (reports when an interface comes up), not
# the routers' traffic: it showed up in one run here.
(( $(packets "$FABRIC_WORK/p1-wan2.pcap" "ip and not ip.dst == 224.0.0.0/4") == 0 )) ||
  fail "IPv4 packets on the IPv6 waypoint path: $(tshark -r "$FABRIC_WORK/p1-wan2.pcap" -n -Y ip 2>/dev/null | head -3)"
(( $(packets "$FABRIC_WORK/p1-wan1.pcap" "$forwarded") == 0 )) || fail "traffic on wan1, not taken"

step "a 1500-byte IPv4 datagram with DF no longer fits as IPv6: A answers fragmentation needed"
# Unencrypted UDP echo on 10.2.1.10:5201 (the http service, UDP added above): the session is
# opened and confirmed with small datagrams, so the big one meets the fast path.
fabric_bg "$FABRIC_WORK/echo5201.log" "$NS_SRV" python3 "$HERE/udp_echo.py" 5201 10.2.1.10
sleep 0.5
icmp_sent=$(fabric_counter a icmp.fragmentation-needed-sent)
in_ns "$NS_ENG" python3 -I - <<'PY' || fail "path MTU discovery across the translation"
import socket, time
IP_MTU_DISCOVER, IP_PMTUDISC_DO, IP_MTU = 10, 2, 14
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sock.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, IP_PMTUDISC_DO)
sock.settimeout(2)
sock.connect(("10.2.1.10", 5201))
for attempt in range(3):  # the first packets carry metadata through svrd until it confirms
    sock.send(b"small %d" % attempt)
    assert sock.recv(100) == b"small %d" % attempt, "no echo"
    time.sleep(0.2)
before = sock.getsockopt(socket.IPPROTO_IP, IP_MTU)
sock.send(b"x" * (1500 - 28))  # DF, fits the client's link, not the IPv6 waypoint path
time.sleep(1)
after = sock.getsockopt(socket.IPPROTO_IP, IP_MTU)
pending = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)  # the ICMP's EMSGSIZE, cleared
print("   path MTU to 10.2.1.10 seen by the client: %d -> %d (socket error %d)" % (before, after, pending))
assert before == 1500 and after == 1480, (before, after)
try:
    sock.send(b"x" * (1500 - 28))
    raise AssertionError("the kernel still sends 1500-byte datagrams")
except OSError:
    pass
sock.send(b"y" * (1480 - 28))  # fits once translated: echoed
assert sock.recv(2000) == b"y" * (1480 - 28), "no echo of the largest datagram that fits"
PY
(( $(fabric_counter a icmp.fragmentation-needed-sent) > icmp_sent )) ||
  fail "router A counted no fragmentation needed"

step "phase 2: svrd on A restarted with wan1 (IPv4 waypoints) first"
cp "$FABRIC_WORK/router-a-default.json" "$FABRIC_WORK/router-a.json"
fabric_stop_svrd a
fabric_start_svrd a
fabric_capture br1 "$FABRIC_WORK/p2-wan1.pcap"
fabric_capture br2 "$FABRIC_WORK/p2-wan2.pcap"
since=$(date +%s)
traffic fd00:2:1::10 fd00:2:1::11
fabric_stop_captures
bulk fd00:2:1::10
sessions_over ipv6 ipv4 "$since" || fail "IPv6 sessions are not carried over IPv4 waypoints"
python3 -I "$HERE/wan_check.py" "$FABRIC_WORK/p2-wan1.pcap" "$marker" 192.0.2.1 192.0.2.2 ||
  fail "wan1 capture (IPv4 waypoints only, no client or server address)"
(( $(packets "$FABRIC_WORK/p2-wan1.pcap" "ipv6 and not icmpv6 and not ipv6.dst == ff00::/8") == 0 )) ||
  fail "IPv6 packets on the IPv4 waypoint path"
# Sessions of phase 1 may still send their last packets on wan2: only new ones count.
(( $(packets "$FABRIC_WORK/p2-wan2.pcap" "tcp.flags.syn == 1 or udp") == 0 )) ||
  fail "a new session took wan2 in phase 2"

step "the fast path refused no translation (xlate_unsupported) on A or B"
for router in a b; do
  ns=$(fabric_router_ns $router)
  python3 -I - "$(in_ns "$ns" "$SVRCTL" stats --router "$FABRIC-$router" --json)" <<'PY' ||
import json, sys
stats = json.loads(sys.argv[1])
bad = {}
def walk(node, path):
    if isinstance(node, dict):
        for key, value in node.items():
            walk(value, path + [key])
    elif isinstance(node, list):
        for i, value in enumerate(node):
            walk(value, path + [str(i)])
    elif len(path) > 1 and path[-1] == "xlate_unsupported" and node:
        bad["/".join(path)] = node
print("   refusals: %s" % (bad or "none"))
sys.exit(1 if bad else 0)
PY
    fail "router $router refused translations"
done

step "PASS"
