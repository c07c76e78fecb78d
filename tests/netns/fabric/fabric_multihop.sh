#!/usr/bin/env bash
# Multi-hop SVR: client -> router A -> router B -> router C -> server. B verifies A's metadata,
# allocates its own waypoint ports towards C, re-signs for C with the B-C key and installs its
# own sessions; the reverse direction crosses B again (symmetry). C restores the session and
# source-NATs it to its own address. A TCP session (curl, iperf3)
# crosses; both WAN links are captured and checked; each router's session table is read.
#
#  eng client -- A == br1 (192.0.2.0/24) == B == br3 (192.0.3.0/24) == C -- server
#
# The configurations are the examples with B's http route pointed at router-c, and C made from
# B's example (generated below). With BC_FAMILY ipv6 the B-C hop has IPv6 waypoints: B
# translates the IPv4 session between its two hops (A-B stays IPv4).
# usage: fabric_multihop.sh SVRD SVRCTL XDP_PASS_OBJECT EXAMPLES_DIR [BC_FAMILY: ipv4|ipv6]
set -euo pipefail
SVRD=$1 SVRCTL=$2 XDP_PASS_OBJ=$3 EXAMPLES=$4 BC_FAMILY=${5:-ipv4}
if [[ $BC_FAMILY == ipv6 ]]; then
  BC_B=2001:db8:3::1 BC_C=2001:db8:3::2 BC_LEN=64
else
  BC_B=192.0.3.1 BC_C=192.0.3.2 BC_LEN=24
fi
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/test_lib.sh"
fabric_require ip nsenter curl iperf3 tcpdump tshark python3 ethtool

FABRIC=sm$$$((RANDOM % 100))
FABRIC_WORK=$(mktemp -d /tmp/svr-multihop.XXXXXX)
source "$HERE/topology.sh"
FABRIC_NAMESPACES=("$NS_ENG" "$NS_A" "$NS_WAN" "$NS_B" "$NS_C" "$NS_SRV")
FABRIC_ROUTERS=(a b c)
trap fabric_test_cleanup EXIT INT TERM

step "configurations: A as the example, B routes http to router-c, C serves it"
python3 -I - "$EXAMPLES" "$FABRIC_WORK" "$BC_B" "$BC_C" "$BC_LEN" <<'EOF'
import copy, json, sys
examples, work, bc_b, bc_c, bc_len = sys.argv[1:6]
a = json.load(open(examples + "/fabric-router-a.json"))
b = json.load(open(examples + "/fabric-router-b.json"))
bc_key = {"generation": 1,
          "hmac-key": "1f2e3d4c5b6a79887766554433221100ffeeddccbbaa99887766554433221100",
          "metadata-key": "00112233445566778899aabbccddeeff0123456789abcdef0123456789abcdef"}
c = copy.deepcopy(b)
# Only the links of this topology: A keeps lan-eng and wan1, B wan1 (and gets wan3).
ac = a["svr:config"]
ac["router"]["interface"] = [i for i in ac["router"]["interface"] if i["name"] in ("lan-eng", "wan1")]
b["svr:config"]["router"]["interface"] = [
    i for i in b["svr:config"]["router"]["interface"] if i["name"] == "wan1"]
b["svr:config"]["service-routes"]["service-route"] = [
    r for r in b["svr:config"]["service-routes"]["service-route"] if r["service"] == "http"]
# B: the http service now lives behind router-c, reached through wan3.
bc = b["svr:config"]
for route in bc["service-routes"]["service-route"]:
    if route["service"] == "http":
        route.pop("next-hop")
        route["name"], route["peer"] = "http-via-c", "router-c"
bc["peers"]["peer"].append({"name": "router-c", "key-generation": 1})
bc["security"]["peer-key"].append(dict(bc_key, peer="router-c"))
bc["router"]["interface"].append({
    "name": "wan3", "address": ["%s/%s" % (bc_b, bc_len)], "waypoint": {"address": bc_b},
    "neighborhood": [{"name": "dc", "adjacency": [
        {"peer-waypoint": bc_c, "peer": "router-c"}]}]})
# C: B's services and server side, peered with router-b only.
cc = c["svr:config"]
cc["router"]["name"] = "router-c"
cc["router"]["description"] = "router in front of the servers, behind router-b"
cc["peers"]["peer"] = [{"name": "router-b", "key-generation": 1}]
cc["security"]["peer-key"] = [dict(bc_key, peer="router-b")]
cc["router"]["interface"] = [i for i in cc["router"]["interface"] if i["name"] == "srv0"] + [{
    "name": "wan3", "address": ["%s/%s" % (bc_c, bc_len)], "waypoint": {"address": bc_c},
    "neighborhood": [{"name": "dc", "adjacency": [
        {"peer-waypoint": bc_b, "peer": "router-b"}]}]}]
# C, the egress router, hides the client behind its own server-side address (source NAT).
for route in cc["service-routes"]["service-route"]:
    if route["service"] == "http":
        route["next-hop"]["source-nat"] = True
for name, config in (("a", a), ("b", b), ("c", c)):
    json.dump(config, open("%s/router-%s.json" % (work, name), "w"), indent=1)
EOF
for r in a b c; do
  "$SVRD" --check-config "$FABRIC_WORK/router-$r.json" >/dev/null || fail "router-$r config invalid"
done

step "topology"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
for ns in "${FABRIC_NAMESPACES[@]}"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done
fabric_link "$NS_A" lan-eng "$NS_ENG" c0
fabric_link "$NS_A" wan1 "$NS_WAN" a-w1
fabric_link "$NS_B" wan1 "$NS_WAN" b-w1
fabric_link "$NS_B" wan3 "$NS_WAN" b-w3
fabric_link "$NS_C" wan3 "$NS_WAN" c-w3
fabric_link "$NS_C" srv0 "$NS_SRV" s0
for link in 1 3; do
  ip -n "$NS_WAN" link add "br$link" type bridge
done
for port in a-w1:br1 b-w1:br1 b-w3:br3 c-w3:br3; do
  ip -n "$NS_WAN" link set "${port%%:*}" master "${port##*:}"
done
ip -n "$NS_WAN" link set br1 up
ip -n "$NS_WAN" link set br3 up
fabric_addresses "$NS_A" lan-eng 10.1.1.1/24 fd00:1:1::1/64
fabric_addresses "$NS_A" wan1 192.0.2.1/24
fabric_addresses "$NS_B" wan1 192.0.2.2/24
fabric_addresses "$NS_B" wan3 "$BC_B/$BC_LEN"
fabric_addresses "$NS_C" wan3 "$BC_C/$BC_LEN"
fabric_addresses "$NS_C" srv0 10.2.1.1/24
fabric_addresses "$NS_ENG" c0 10.1.1.10/24
fabric_addresses "$NS_SRV" s0 10.2.1.10/24
ip -n "$NS_ENG" route add default via 10.1.1.1
ip -n "$NS_SRV" route add default via 10.2.1.1
for ns in "$NS_A" "$NS_B" "$NS_C"; do
  in_ns "$ns" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
done
mkdir -p "$FABRIC_WORK/www"
echo "served behind router C (svr-multihop-marker)" >"$FABRIC_WORK/www/index.html"
(cd "$FABRIC_WORK/www" && fabric_bg "$FABRIC_WORK/http.log" "$NS_SRV" \
  python3 "$HERE/../svrd/http_server.py" 10.2.1.10 80)
fabric_bg "$FABRIC_WORK/iperf3.log" "$NS_SRV" iperf3 -s -B 10.2.1.10
for _ in $(seq 100); do
  in_ns "$NS_SRV" ss -ltn | grep -q '10.2.1.10:80 ' && in_ns "$NS_SRV" ss -ltn | grep -q ':5201 ' && break
  sleep 0.1
done
for r in a b c; do fabric_start_svrd "$r"; done

fabric_capture br1 "$FABRIC_WORK/ab.pcap"
fabric_capture br3 "$FABRIC_WORK/bc.pcap"

step "curl http://10.2.1.10/ through A, B and C"
page=$(in_ns "$NS_ENG" curl -sS --max-time 10 http://10.2.1.10/) || fail "curl through three routers"
[[ $page == *svr-multihop-marker* ]] || fail "unexpected page: $page"
sleep 0.5
fabric_stop_captures

grep -q '^10\.2\.1\.1 ' "$FABRIC_WORK/http.log" ||
  fail "the server did not see router C's source-NAT address: $(cat "$FABRIC_WORK/http.log")"

step "each hop on the wire: its own waypoints, metadata on the SYN and SYN/ACK only"
python3 -I "$HERE/wan_check.py" "$FABRIC_WORK/ab.pcap" svr-multihop-marker 192.0.2.1 192.0.2.2 ||
  fail "A-B capture"
python3 -I "$HERE/wan_check.py" "$FABRIC_WORK/bc.pcap" svr-multihop-marker "$BC_B" "$BC_C" ||
  fail "B-C capture"

step "iperf3 TCP through three routers; meanwhile B holds its sessions on both hops"
in_ns "$NS_ENG" iperf3 -c 10.2.1.10 -t 4 -J >"$FABRIC_WORK/iperf.json" 2>&1 &
iperf_pid=$!
sleep 2 # the transfer runs: its sessions are established and cannot have aged out
sessions_b=$(in_ns "$NS_B" "$SVRCTL" session list --router "$FABRIC-b" --json)
python3 -I - "$sessions_b" "$BC_B" "$BC_C" <<'EOF' || fail "router B's sessions"
import json, sys
entries, bc_b, bc_c = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
def find(src, dst):
    return [e for e in entries if e["proto"] == "tcp" and e["src"] == src and e["dst"] == dst]
forward = find("192.0.2.1", "192.0.2.2")  # from A's waypoint, rewritten to B -> C waypoints
reverse = {e["session_id"]: e for e in find(bc_c, bc_b)}  # from C, towards A
pairs = [(f, reverse[f["session_id"]]) for f in forward if f["session_id"] in reverse]
assert pairs, entries
for f, r in pairs:
    assert (f["new_src"], f["new_dst"], f["out_interface"]) == (bc_b, bc_c, "wan3"), f
    assert (r["new_src"], r["new_dst"], r["out_interface"]) == ("192.0.2.2", "192.0.2.1", "wan1"), r
f, r = max(pairs, key=lambda pair: pair[0]["packets"])
assert f["packets"] > 100 and r["packets"] > 100, "XDP forwarded both directions at B"
print("   B: %s:%d -> %s:%d | reverse %s:%d -> %s:%d (%d sessions)" % (f["src"], f["sport"],
      f["new_dst"], f["new_dport"], r["src"], r["sport"], r["new_dst"], r["new_dport"], len(pairs)))
EOF
wait "$iperf_pid" || fail "iperf3 through three routers: $(tail -5 "$FABRIC_WORK/iperf.json")"
python3 -I -c '
import json, sys
end = json.load(open(sys.argv[1]))["end"]["sum_received"]
print("   received %.1f MB, %.0f Mbit/s" % (end["bytes"] / 1e6, end["bits_per_second"] / 1e6))
sys.exit(0 if end["bytes"] > 1_000_000 else 1)' "$FABRIC_WORK/iperf.json" || fail "iperf3 volume"
(( $(fabric_counter c metadata.accepted) >= 1 )) || fail "router C accepted no metadata (from B)"
(( $(fabric_counter b metadata.forward-sent) >= 1 )) || fail "router B signed nothing for C"

step "PASS"
