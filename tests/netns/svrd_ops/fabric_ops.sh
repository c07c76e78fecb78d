#!/usr/bin/env bash
# svrd's operations endpoints on the demo fabric (tests/netns/fabric/topology.sh, routers A
# and B with SVR between them):
#  - svrctl show peers on A lists router-b's two paths (wan1, wan2) up, human and --json;
#  - a session through the fabric shows up on both routers with tenant and service names;
#  - svr_peer_path_up follows the local interface: wan2 down on A turns its path to 0,
#    wan1 stays 1; /metrics passes promtool on both routers.
# usage: fabric_ops.sh SVRD SVRCTL XDP_PASS_OBJECT EXAMPLES_DIR
set -euo pipefail
SVRD=$1 SVRCTL=$2 XDP_PASS_OBJ=$3 EXAMPLES=$4
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../fabric/test_lib.sh"
fabric_require ip nsenter curl python3 ethtool promtool
PY=/usr/bin/python3

FABRIC=so$$$((RANDOM % 100))
FABRIC_WORK=$(mktemp -d /tmp/svr-fabric-ops.XXXXXX)
source "$HERE/../fabric/topology.sh"
trap fabric_test_cleanup EXIT INT TERM

API=http://127.0.0.1:9464
metric() { # metric NS 'NAME{LABELS}': its value now (empty when absent)
  in_ns "$1" curl -sS -m 5 "$API/metrics" | "$PY" -I -c '
import sys
found = ""
for line in sys.stdin.read().splitlines():
    name, _, value = line.rpartition(" ")
    if name == sys.argv[1]:
        found = value
print(found)' "$2"
}
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

step "fabric up ($FABRIC)"
fabric_up
endpoints_up() { in_ns "$NS_A" curl -s -o /dev/null "$API/metrics" && in_ns "$NS_B" curl -s -o /dev/null "$API/metrics"; }
wait_for 10 endpoints_up || fail "HTTP endpoints not up"

step "show peers on A: router-b over wan1 and wan2, up"
in_ns "$NS_A" "$SVRCTL" show peers >"$FABRIC_WORK/peers.txt" || fail "show peers"
grep -Eq '^router-b +[0-9]+ +wan1 +mpls +192\.0\.2\.2 +10 +up' "$FABRIC_WORK/peers.txt" ||
  fail "wan1 path: $(cat "$FABRIC_WORK/peers.txt")"
grep -Eq '^router-b +[0-9]+ +wan2 .* up' "$FABRIC_WORK/peers.txt" || fail "wan2 path: $(cat "$FABRIC_WORK/peers.txt")"
in_ns "$NS_A" "$SVRCTL" show peers --json | "$PY" -I -c '
import json, sys
peers = json.load(sys.stdin)
assert [p["name"] for p in peers] == ["router-b"], peers
paths = {p["interface"]: p for p in peers[0]["paths"]}
assert paths["wan1"]["peer_waypoint"] == "192.0.2.2" and paths["wan1"]["up"], paths
assert paths["wan2"]["up"], paths
' || fail "show peers --json"

step "a session through the fabric carries names on both routers"
code=$(in_ns "$NS_ENG" curl -sS -m 5 -o /dev/null -w '%{http_code}' http://10.2.1.10/) || fail "curl through the fabric"
[[ $code == 200 ]] || fail "curl: HTTP $code"
for ns in "$NS_A" "$NS_B"; do
  (( $(in_ns "$ns" "$SVRCTL" show sessions --json --tenant eng.corp --service http |
       "$PY" -I -c 'import json,sys; print(len(json.load(sys.stdin)))') == 2 )) ||
    fail "eng.corp/http session on $ns: $(in_ns "$ns" "$SVRCTL" show sessions)"
  created() { [[ $(metric "$1" 'svr_sessions_created_total{tenant="eng.corp",service="http"}') == 1 ]]; }
  wait_for 5 created "$ns" || fail "created counter on $ns"
done

step "svr_peer_path_up follows the local interface"
[[ $(metric "$NS_A" 'svr_peer_path_up{peer="router-b",interface="wan2",peer_waypoint="2001:db8:2::2"}') == 1 ]] ||
  fail "wan2 path not up"
ip -n "$NS_A" link set wan2 down
wan2_down() { [[ $(metric "$NS_A" 'svr_peer_path_up{peer="router-b",interface="wan2",peer_waypoint="2001:db8:2::2"}') == 0 ]]; }
wait_for 5 wan2_down || fail "wan2 path still up after the link went down"
[[ $(metric "$NS_A" 'svr_peer_path_up{peer="router-b",interface="wan1",peer_waypoint="192.0.2.2"}') == 1 ]] ||
  fail "wan1 path went down too"
[[ $(metric "$NS_A" 'svr_interface_up{interface="wan2"}') == 0 ]] || fail "svr_interface_up of wan2"
in_ns "$NS_A" "$SVRCTL" show peers | grep -Eq '^router-b +[0-9]+ +wan2 .* down' || fail "show peers: wan2 not down"
ip -n "$NS_A" link set wan2 up
for ns in "$NS_A" "$NS_B"; do
  in_ns "$ns" curl -sS -m 5 "$API/metrics" | promtool check metrics || fail "promtool on $ns"
done
echo "PASS"
