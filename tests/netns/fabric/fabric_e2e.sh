#!/usr/bin/env bash
# SVR between two routers, end to end: client -> router A -> (WAN, no tunnel) -> router B ->
# server, with unmodified curl, iperf3 and nc over IPv4 and IPv6, both over wan1 (IPv4
# waypoints: A's first peer path in priority order, whatever the session's family; IPv6
# sessions are translated - fabric_xlate.sh covers IPv6 waypoints); the WAN capture checked
# packet by packet, and wan2 (the path not taken) silent; deny-all at B for a tenant A
# admits; forged, replayed and stranger first packets injected on the WAN; svrd on A killed
# and restarted under an iperf3 transfer. Topology: topology.sh.
#
# usage: fabric_e2e.sh SVRD SVRCTL XDP_PASS_OBJECT EXAMPLES_DIR
set -euo pipefail
SVRD=$1 SVRCTL=$2 XDP_PASS_OBJ=$3 EXAMPLES=$4
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/test_lib.sh"
fabric_require ip nsenter curl iperf3 nc tcpdump tshark python3 ethtool nft

FABRIC=sf$$$((RANDOM % 100))
FABRIC_WORK=$(mktemp -d /tmp/svr-fabric.XXXXXX)
source "$HERE/topology.sh"
trap fabric_test_cleanup EXIT INT TERM

step "fabric up ($FABRIC)"
fabric_up

fabric_capture br1 "$FABRIC_WORK/wan1.pcap"
fabric_capture br2 "$FABRIC_WORK/wan2.pcap"

marker="svr-fabric-marker"
for target in 10.2.1.10 "[fd00:2:1::10]"; do
  step "curl http://$target/ from the eng client"
  page=$(in_ns "$NS_ENG" curl -sS --max-time 10 "http://$target/") || fail "curl $target failed"
  [[ $page == *"$marker"* ]] || fail "unexpected page from $target: $page"
  step "curl a 1 MiB file from $target: the bytes arrive unchanged"
  in_ns "$NS_ENG" curl -sS --max-time 20 -o "$FABRIC_WORK/blob.got" "http://$target/blob" ||
    fail "curl blob from $target failed"
  cmp -s "$FABRIC_WORK/blob.got" "$FABRIC_WORK/www/blob" || fail "blob from $target differs"
done

for target in 10.2.1.11 fd00:2:1::11; do
  # udp-echo encrypts its payload end to end: svrd carries every packet at both edges.
  step "iperf3 UDP to $target (5 Mbit/s, payload-encrypted service)"
  in_ns "$NS_ENG" iperf3 -c "$target" -u -b 5M -t 2 -J >"$FABRIC_WORK/iperf-udp.json" ||
    fail "iperf3 UDP to $target failed: $(tail -5 "$FABRIC_WORK/iperf-udp.json")"
  python3 -I - "$FABRIC_WORK/iperf-udp.json" <<'EOF' || fail "iperf3 UDP to $target"
import json, sys
end = json.load(open(sys.argv[1]))["end"]["sum"]
print("   %d packets, %d lost (%.2f %%)" % (end["packets"], end["lost_packets"], end["lost_percent"]))
sys.exit(0 if end["packets"] > 500 and end["lost_percent"] < 2.0 else 1)
EOF
done
step "svrd counts the packets it carries for the encrypted service, and keeps them from aging"
python3 -I - "$(in_ns "$NS_A" "$SVRCTL" session list --router "$PIN_A" --json)" <<'EOF' ||
import json, sys
entries = [e for e in json.loads(sys.argv[1])
           if e["proto"] == "udp" and e["dport"] == 5201 and e["in_interface"] == "lan-eng"]
assert entries, "no iperf3 UDP session at router A"
for e in entries:
    print("   %s:%d -> %s:%d  %d packets, age %.1f s, idle %.1f s, action %s" % (
        e["src"], e["sport"], e["dst"], e["dport"], e["packets"], e["age_s"], e["idle_s"], e["action"]))
assert all(e["action"] == "punt" for e in entries), "encrypted sessions are carried by svrd"
assert all(e["packets"] > 500 and e["idle_s"] < e["age_s"] - 1 for e in entries), "not counted by svrd"
EOF
  fail "svrd-carried packets not counted"
for target in 10.2.1.11 fd00:2:1::11; do
  step "nc: UDP echo from $target:7"
  reply=$(echo "svr nc probe" | in_ns "$NS_ENG" nc -u -w 2 "$target" 7) || true
  [[ $reply == "svr nc probe" ]] || fail "nc echo via $target: got '$reply'"
done
fabric_stop_captures
# udp-echo is a payload-encrypted service (examples: payload-encryption e2e): its bytes must
# not cross the WAN in clear, while the unencrypted HTTP marker does (wan_check below).
for pcap in wan1 wan2; do
  if grep -aq "svr nc probe" "$FABRIC_WORK/$pcap.pcap"; then
    fail "the encrypted service's payload is readable on $pcap"
  fi
done
(( $(fabric_counter b drop.metadata.hmac-mismatch.payload) == 0 )) || fail "payload MAC failures"

# Bulk TCP after the captures: their check reads every packet.
for target in 10.2.1.10 fd00:2:1::10; do
  step "iperf3 TCP to $target"
  in_ns "$NS_ENG" iperf3 -c "$target" -t 2 -J >"$FABRIC_WORK/iperf-tcp.json" ||
    fail "iperf3 TCP to $target failed: $(tail -5 "$FABRIC_WORK/iperf-tcp.json")"
  python3 -I - "$FABRIC_WORK/iperf-tcp.json" <<'EOF' || fail "iperf3 TCP to $target"
import json, sys
end = json.load(open(sys.argv[1]))["end"]
received = end["sum_received"]["bytes"]
print("   received %.1f MB, %.0f Mbit/s" % (received / 1e6, end["sum_received"]["bits_per_second"] / 1e6))
sys.exit(0 if received > 1_000_000 else 1)
EOF
done
step "the WAN capture: no tunnel, waypoints on the wire, metadata on first packets only"
python3 -I "$HERE/wan_check.py" "$FABRIC_WORK/wan1.pcap" "$marker" 192.0.2.1 192.0.2.2 ||
  fail "wan1 capture"
wan2_packets=$(tshark -r "$FABRIC_WORK/wan2.pcap" -n \
  -Y "(ip and not ip.dst == 224.0.0.0/4) or (ipv6 and not icmpv6 and not ipv6.dst == ff00::/8)" \
  2>/dev/null | wc -l)
((wan2_packets == 0)) || fail "wan2 (after wan1 in priority order) carried $wan2_packets packets"

step "lost reverse metadata: retransmitted first packets carry it again, same waypoints"
# The WAN drops router B's SYN/ACKs for 1.5 s: the client's SYN and the server's SYN/ACK are
# retransmitted; both routers keep signalling and the session opens once.
b_created=$(fabric_counter b sessions.created)
fabric_capture br1 "$FABRIC_WORK/retransmit.pcap"
in_ns "$NS_WAN" nft -f - <<'EOF'
table bridge svrtest {
  chain forward {
    type filter hook forward priority 0;
    ip saddr 192.0.2.2 tcp flags & (syn | ack) == syn | ack counter drop
  }
}
EOF
in_ns "$NS_ENG" curl -sS --max-time 15 -o "$FABRIC_WORK/retransmit.html" http://10.2.1.10/ &
curl_pid=$!
sleep 1.5
in_ns "$NS_WAN" nft delete table bridge svrtest
wait "$curl_pid" || fail "curl across lost SYN/ACKs"
fabric_stop_captures
grep -q "$marker" "$FABRIC_WORK/retransmit.html" || fail "unexpected page after retransmissions"
(( $(fabric_counter b sessions.created) == b_created + 1 )) ||
  fail "retransmissions opened more than one session"
tshark -r "$FABRIC_WORK/retransmit.pcap" -n \
  -Y "tcp.flags.syn == 1 and tcp.payload[0:8] == 4c:48:db:c6:dd:f6:67:0c" \
  -T fields -e ip.src -e tcp.srcport -e tcp.dstport -e tcp.flags.ack >"$FABRIC_WORK/retransmit.txt" 2>/dev/null
python3 -I - "$FABRIC_WORK/retransmit.txt" <<'EOF' || fail "retransmitted first packets"
import sys
rows = [line.split("\t") for line in open(sys.argv[1]).read().split("\n") if line]
syns = [r for r in rows if r[0] == "192.0.2.1" and r[3] in ("0", "False")]
synacks = [r for r in rows if r[0] == "192.0.2.2" and r[3] in ("1", "True")]
print("   SYNs with metadata: %d, SYN/ACKs with metadata: %d" % (len(syns), len(synacks)))
assert len(syns) >= 2, "the client's retransmitted SYN carried no metadata"
assert len(synacks) >= 2, "the server's retransmitted SYN/ACK carried no reverse metadata"
assert len({(r[1], r[2]) for r in syns}) == 1, "retransmissions changed waypoint ports: %s" % syns
EOF

step "deny-all across the fabric: A admits the guest's HTTP, B refuses it"
a_created=$(fabric_counter a sessions.created)
b_refused=$(fabric_counter b drop.policy.no-matching-policy)
if in_ns "$NS_GUEST" curl -sS --max-time 3 http://10.2.1.10/ >/dev/null 2>&1; then
  fail "the guest reached the http service that router B admits to corp only"
fi
(( $(fabric_counter a sessions.created) > a_created )) || fail "router A did not admit the guest"
(( $(fabric_counter b drop.policy.no-matching-policy) > b_refused )) ||
  fail "router B did not count the refusal"

step "attacks on the WAN: forged HMAC, replayed first packet, unknown peer"
b_created=$(fabric_counter b sessions.created)
for mode in forged replay stranger; do
  in_ns "$NS_WAN" python3 -I "$HERE/inject.py" "$FABRIC_WORK/wan1.pcap" b-w1 "$mode"
done
sleep 1
(( $(fabric_counter b drop.metadata.hmac-mismatch) >= 1 )) || fail "forged HMAC not counted"
(( $(fabric_counter b drop.metadata.replayed-first-packet) >= 1 )) || fail "replay not counted"
(( $(fabric_counter b drop.metadata.unknown-peer) >= 1 )) || fail "unknown peer not counted"
(( $(fabric_counter b sessions.created) == b_created )) || fail "an injected packet created a session"

step "svrd on router A killed and restarted during an iperf3 transfer"
in_ns "$NS_ENG" iperf3 -c 10.2.1.10 -t 6 -J >"$FABRIC_WORK/iperf-restart.json" 2>&1 &
iperf_pid=$!
sleep 2
fabric_stop_svrd a KILL
sleep 1
fabric_start_svrd a
wait "$iperf_pid" || fail "iperf3 across the restart failed: $(tail -5 "$FABRIC_WORK/iperf-restart.json")"
python3 -I - "$FABRIC_WORK/iperf-restart.json" <<'EOF' || fail "iperf3 across the restart"
import json, sys
end = json.load(open(sys.argv[1]))["end"]
intervals = json.load(open(sys.argv[1]))["intervals"]
stalled = [i for i in intervals if i["sum"]["bytes"] == 0]
print("   received %.1f MB in %d intervals, %d without data" % (end["sum_received"]["bytes"] / 1e6, len(intervals), len(stalled)))
sys.exit(0 if end["sum_received"]["bytes"] > 1_000_000 and not stalled else 1)
EOF
page=$(in_ns "$NS_ENG" curl -sS --max-time 10 http://10.2.1.10/) || fail "new session after restart"
[[ $page == *"$marker"* ]] || fail "unexpected page after restart"

step "PASS"
