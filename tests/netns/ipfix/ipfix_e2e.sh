#!/usr/bin/env bash
# IPFIX session records end to end: svrd (examples/single-router.json plus router/ipfix)
# exports to a collector namespace behind a management interface the router's svr
# configuration does not use; tshark captures there and decodes the records with its IPFIX
# dissector (-d udp.port==4739,cflow). UDP flows of known shape are sent through svrd:
#  A  IPv4, client -> server echo port 7, 5 x 100 bytes: idle timeout end (reason 1)
#  B  IPv4 source NAT to the internet namespace, 3 x 200 bytes: pre- and post-NAT 5-tuples
#  C  IPv6, client -> server echo port 7, 4 x 300 bytes
#  D  IPv4, 12 x 50 bytes over ~6 s with active-timeout 2 s: periodic records (reason 2)
#     whose deltas add up to what was sent
#  E  IPv4 source NAT, removed by a SIGHUP that withdraws the service: forced end (4)
#  F  TCP (curl to the server's web service): end of flow detected (3) after the FINs
# check_records.py compares addresses, ports, packets, IP octets, times, tenant and service
# of every record with the traffic, and checks sequence numbers and template refresh.
# usage: ipfix_e2e.sh SVRD SVRCTL XDP_PASS_OBJECT EXAMPLES_DIR
source "$(dirname "$0")/../svrd/lib.sh" "$@"
IPFIX_HERE=$(cd "$(dirname "$0")" && pwd)
command -v tshark >/dev/null || fail "missing tool 'tshark' (ci/install-deps installs it)"

COLLECTOR=sdx$ID
ipfix_cleanup() {
  local rc=$?
  ip netns del "$COLLECTOR" 2>/dev/null
  (exit $rc)
  cleanup
}
trap ipfix_cleanup EXIT INT TERM

setup_topology
ip netns add "$COLLECTOR"
ip -n "$COLLECTOR" link set lo up
link "$ROUTER" mgmt0 "$COLLECTOR" x0
# The router's mgmt0 address (its route to the collector) comes only after svrd started.
ip -n "$COLLECTOR" addr add 192.0.2.2/24 dev x0

write_config
"$PY" -I - "$CONFIG" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
root = config["svr:config"]
root["router"]["ipfix"] = {"collector": "192.0.2.2", "active-timeout": 2,
                           "template-refresh": 3, "observation-domain-id": 77}
# UDP sessions end 3 s after their last packet, so the test sees idle-timeout records soon.
root["session-types"]["session-type"].append({"name": "short", "udp": 3})
for service in root["services"]["service"]:
    if service["name"] in ("echo", "internet"):
        service["session-type"] = "short"
json.dump(config, open(sys.argv[1], "w"), indent=1)
PY

step "collector: a UDP socket on 4739 and tshark capturing"
bg_in_ns "$WORK/sink.log" "$COLLECTOR" "$PY" -I "$IPFIX_HERE/udp_sink.py" 192.0.2.2 4739
bg_in_ns "$WORK/tshark.log" "$COLLECTOR" tshark -i x0 -f "udp port 4739" -w "$WORK/ipfix.pcapng"
TSHARK_PID=${BACKGROUND[-1]}
wait_for 20 grep -q "Capturing on" "$WORK/tshark.log" || fail "tshark did not start: $(cat "$WORK/tshark.log")"

bg_in_ns "$WORK/echo7.log" "$SERVER" "$PY" -I "$IPFIX_HERE/udp_echo.py" :: 7
bg_in_ns "$WORK/echo5201.log" "$SERVER" "$PY" -I "$IPFIX_HERE/udp_echo.py" :: 5201
bg_in_ns "$WORK/echo9999.log" "$INTERNET" "$PY" -I "$IPFIX_HERE/udp_echo.py" 198.51.100.7 9999
bg_in_ns "$WORK/http-server.log" "$SERVER" "$PY" -I "$HERE/http_server.py" :: 80
for log in echo7 echo5201 echo9999; do
  wait_for 10 grep -q listening "$WORK/$log.log" || fail "echo server $log did not start"
done
web_ready() { in_ns "$SERVER" curl -s -o /dev/null http://127.0.0.1:80/; }
wait_for 10 web_ready || fail "http server did not start"

START_MS=$(date +%s%3N)
start_svrd
grep -q "event=ipfix.exporting collector=192.0.2.2 port=4739 domain=77" "$SVRD_LOG" ||
  fail "svrd did not set up the export: $(grep ipfix "$SVRD_LOG")"

step "collector without a route at start: svrd keeps trying, exports once the route exists"
wait_for 10 grep -q "event=ipfix.send-failed" "$SVRD_LOG" ||
  fail "no failed export logged while the collector had no route: $(grep ipfix "$SVRD_LOG")"
ip -n "$ROUTER" addr add 192.0.2.1/24 dev mgmt0
wait_for 10 grep -q "event=ipfix.send-recovered" "$SVRD_LOG" ||
  fail "svrd did not export once the collector had a route: $(grep ipfix "$SVRD_LOG")"

flow() { in_ns "$CLIENT" "$PY" -I "$IPFIX_HERE/udp_flow.py" "$@"; }
step "flows A-D and F through svrd"
flow 40004 10.10.2.10 5201 12 50 0.5 >"$WORK/flow-d.txt" &
FLOW_D=$!
code=$(in_ns "$CLIENT" curl -sS -m 5 --local-port 40010 -o /dev/null -w '%{http_code}' \
  http://10.10.2.10/) || fail "curl through svrd"
[[ $code == 200 ]] || fail "curl: HTTP $code"
RECEIVED_A=$(flow 40001 10.10.2.10 7 5 100 0.1)
RECEIVED_B=$(flow 40002 198.51.100.7 9999 3 200 0.1)
RECEIVED_C=$(flow 40003 fd00:10:2::10 7 4 300 0.1)
wait "$FLOW_D" || fail "flow D"
RECEIVED_D=$(cat "$WORK/flow-d.txt")
echo "echoes received: A $RECEIVED_A/5 B $RECEIVED_B/3 C $RECEIVED_C/4 D $RECEIVED_D/12"
(( RECEIVED_A > 0 && RECEIVED_B > 0 && RECEIVED_C > 0 && RECEIVED_D > 0 )) ||
  fail "a flow got no echo back: the path through svrd is broken"

step "the sessions end by idle timeout (3 s)"
udp_gone() { (( $(session_count 's["proto"] == "udp"') == 0 )); }
wait_for 20 udp_gone || fail "UDP sessions did not expire: $(sessions_json)"

step "flow E, then a SIGHUP withdrawing the internet service removes it"
RECEIVED_E=$(flow 40005 198.51.100.7 9999 2 100 0.1)
(( $(session_count 's["proto"] == "udp"') == 2 )) || fail "flow E has no session"
"$PY" -I - "$CONFIG" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
for service in config["svr:config"]["services"]["service"]:
    if service["name"] == "internet":
        service["access-policy"] = [{"source": "10.99.0.0/16"}]
json.dump(config, open(sys.argv[1], "w"), indent=1)
PY
kill -HUP "$SVRD_PID"
wait_for 10 grep -q "configuration reloaded" "$SVRD_LOG" || fail "reload not applied"
(( $(session_count 's["proto"] == "udp"') == 0 )) || fail "flow E not removed by the reload"
step "the web session ends ~10 s after its FINs"
tcp_gone() { (( $(session_count 's["proto"] == "tcp"') == 0 )); }
wait_for 25 tcp_gone || fail "web session did not expire: $(sessions_json)"
# Two more template refresh intervals, so the capture also holds record-less refreshes.
sleep 2
END_MS=$(date +%s%3N)
kill -INT "$TSHARK_PID"
wait "$TSHARK_PID" 2>/dev/null || true

step "decode with tshark's IPFIX dissector and compare"
tshark -r "$WORK/ipfix.pcapng" -d udp.port==4739,cflow -T pdml >"$WORK/ipfix.pdml" 2>"$WORK/decode.log" ||
  fail "tshark could not read the capture: $(cat "$WORK/decode.log")"
cat >"$WORK/expected.json" <<JSON
{"start_ms": $START_MS, "end_ms": $END_MS, "domain": 77, "flows": [
 {"name": "A", "family": 4, "client": "10.10.1.10", "client_port": 40001, "server": "10.10.2.10",
  "server_port": 7, "service": "echo", "count": 5, "payload": 100, "received": $RECEIVED_A,
  "end_reason": 1, "nat": null},
 {"name": "B", "family": 4, "client": "10.10.1.10", "client_port": 40002, "server": "198.51.100.7",
  "server_port": 9999, "service": "internet", "count": 3, "payload": 200, "received": $RECEIVED_B,
  "end_reason": 1, "nat": "203.0.113.1"},
 {"name": "C", "family": 6, "client": "fd00:10:1::10", "client_port": 40003, "server": "fd00:10:2::10",
  "server_port": 7, "service": "echo", "count": 4, "payload": 300, "received": $RECEIVED_C,
  "end_reason": 1, "nat": null},
 {"name": "D", "family": 4, "client": "10.10.1.10", "client_port": 40004, "server": "10.10.2.10",
  "server_port": 5201, "service": "echo", "count": 12, "payload": 50, "received": $RECEIVED_D,
  "end_reason": 1, "nat": null, "min_active_records": 2},
 {"name": "E", "family": 4, "client": "10.10.1.10", "client_port": 40005, "server": "198.51.100.7",
  "server_port": 9999, "service": "internet", "count": 2, "payload": 100, "received": $RECEIVED_E,
  "end_reason": 4, "nat": "203.0.113.1"},
 {"name": "F", "family": 4, "client": "10.10.1.10", "client_port": 40010, "server": "10.10.2.10",
  "server_port": 80, "service": "web", "count": null, "payload": null, "received": null,
  "end_reason": 3, "nat": null, "protocol": 6}
]}
JSON
"$PY" -I "$IPFIX_HERE/check_records.py" "$WORK/ipfix.pdml" "$WORK/expected.json" ||
  fail "IPFIX records do not match the traffic (capture: $WORK/ipfix.pcapng)"
stop_svrd
echo "PASS"
