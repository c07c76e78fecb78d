#!/usr/bin/env bash
# svrd's operations endpoints on one router (examples/single-router.json, the topology of
# tests/netns/svrd/lib.sh), the HTTP endpoint moved to port 9470 by the configuration:
#  - /metrics fetched with curl passes `promtool check metrics`, and its values match the
#    traffic: 3 web flows (curl) and 2 pings make exactly 3 + 2 created sessions by tenant
#    and service, the web ones expire after their FINs and are counted as expired;
#  - svrctl show sessions (each filter), peers, services, stats: human and --json;
#  - svrctl delete session through the API, then an unknown id is refused;
#  - svrd stopped: show sessions/stats fall back to the pinned maps (with --router) and
#    say so, show peers/services fail naming the reason, delete works on the maps;
#  - --http-listen overrides the configuration ([::1]:PORT).
# usage: svrd_ops.sh SVRD SVRCTL XDP_PASS_OBJECT EXAMPLES_DIR
source "$(dirname "$0")/../svrd/lib.sh" "$@"

command -v promtool >/dev/null || fail "missing promtool (Debian package prometheus, ci/install-deps)"
PORT=9470
API=http://127.0.0.1:$PORT

metrics() { in_ns "$ROUTER" curl -sS -m 5 "$API/metrics"; }
# metric 'NAME{LABELS}': its value in a fresh scrape (0 when absent).
metric() {
  metrics | "$PY" -I -c '
import sys
found = 0
for line in sys.stdin.read().splitlines():
    name, _, value = line.rpartition(" ")
    if name == sys.argv[1]:
        found = int(float(value))
print(found)' "$1"
}
show() { svrctl show "$@" --api "$API"; }
json_len() { "$PY" -I -c 'import json,sys; print(len(json.load(sys.stdin)))'; }

setup_topology
write_config
"$PY" -I - "$CONFIG" "$PORT" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["svr:config"]["router"]["management"] = {"http": {"port": int(sys.argv[2])}}
json.dump(config, open(sys.argv[1], "w"))
PY

step "svrd starts; /metrics answers on the configured port"
start_svrd
endpoint_up() { in_ns "$ROUTER" curl -s -o /dev/null "$API/metrics"; }
wait_for 10 endpoint_up || fail "no HTTP endpoint on 127.0.0.1:$PORT: $(tail -5 "$SVRD_LOG")"
! in_ns "$ROUTER" curl -s -o /dev/null -m 2 http://127.0.0.1:9464/metrics ||
  fail "the default port answers although the configuration moved it"
ctype=$(in_ns "$ROUTER" curl -sS -o /dev/null -w '%{content_type}' "$API/metrics")
[[ $ctype == "text/plain; version=0.0.4; charset=utf-8" ]] || fail "content type $ctype"

step "traffic: 3 web flows and 2 pings"
bg_in_ns "$WORK/http-server.log" "$SERVER" "$PY" -I "$HERE/http_server.py" :: 80
server_ready() { in_ns "$SERVER" curl -s -o /dev/null http://127.0.0.1:80/; }
wait_for 10 server_ready || fail "http server did not start"
for i in 1 2 3; do
  code=$(in_ns "$CLIENT" curl -sS -m 5 -o /dev/null -w '%{http_code}' http://10.10.2.10/) || fail "curl $i"
  [[ $code == 200 ]] || fail "curl $i: HTTP $code"
done
# Up to 5 s for the first reply (neighbour discovery on a loaded machine); the echoes of
# one ping share its identifier, so each ping is still one session.
in_ns "$CLIENT" ping -c 1 -w 5 10.10.2.10 >/dev/null || fail "IPv4 ping"
in_ns "$CLIENT" ping -6 -c 1 -w 5 fd00:10:2::10 >/dev/null || fail "IPv6 ping"
# The snapshot behind /metrics is published every second.
all_created() {
  (( $(metric 'svr_sessions_created_total{tenant="clients",service="web"}') == 3 &&
     $(metric 'svr_sessions_created_total{tenant="clients",service="ping"}') == 2 ))
}
wait_for 5 all_created || fail "sessions created: $(metrics | grep svr_sessions_created_total)"

step "/metrics passes promtool and matches the traffic"
metrics >"$WORK/metrics.txt" || fail "scrape failed"
promtool check metrics <"$WORK/metrics.txt" >"$WORK/promtool.txt" 2>&1 ||
  fail "promtool check metrics: $(cat "$WORK/promtool.txt")"
[[ ! -s $WORK/promtool.txt ]] || fail "promtool lint findings: $(cat "$WORK/promtool.txt")"
value() { "$PY" -I -c '
import sys
for line in open(sys.argv[1]):
    name, _, value = line.rstrip("\n").rpartition(" ")
    if name == sys.argv[2]:
        print(int(float(value))); break
else:
    print(0)' "$WORK/metrics.txt" "$1"; }
(( $(value 'svr_sessions_created_total{tenant="clients",service="web"}') == 3 )) || fail "created web != 3"
(( $(value 'svr_sessions_created_total{tenant="clients",service="ping"}') == 2 )) || fail "created ping != 2"
(( $(value 'svr_sessions_active{tenant="clients",service="ping"}') == 2 )) || fail "active ping != 2"
(( $(value 'svr_sessions_expired_total{tenant="clients",service="web"}') == 0 )) || fail "web expired too early"
(( $(value 'svr_interface_punted_packets_total{interface="lan0",reason="miss"}') >= 5 )) || fail "punts not counted"
(( $(value 'svr_interface_packets_total{interface="lan0",verdict="forward"}') >= 10 )) || fail "forwarded packets not counted"
(( $(value 'svr_interface_packets_total{interface="srv0",verdict="forward"}') >= 10 )) || fail "replies not counted"
(( $(value 'svr_first_packet_duration_seconds_count') >= 5 )) || fail "first packets not in the histogram"
(( $(value 'svr_first_packet_duration_seconds_bucket{le="+Inf"}') == $(value 'svr_first_packet_duration_seconds_count') )) ||
  fail "histogram +Inf bucket differs from its count"
(( $(value 'svr_interface_up{interface="wan0"}') == 1 )) || fail "wan0 not up"
grep -q '^svr_dos_dropped_packets_total{interface="lan0"} 0$' "$WORK/metrics.txt" || fail "no DoS drop counter"
grep -q "^svr_info{router=\"$SVR_ROUTER\"} 1\$" "$WORK/metrics.txt" || fail "no svr_info"

step "svrctl show sessions: every filter, both formats"
show sessions >"$WORK/sessions.txt" || fail "show sessions"
grep -q '^ *ID  *TENANT  *SERVICE' "$WORK/sessions.txt" || fail "no table header: $(head -3 "$WORK/sessions.txt")"
(( $(grep -c ' clients  *web ' "$WORK/sessions.txt") == 6 )) || fail "expected 6 web entries: $(cat "$WORK/sessions.txt")"
(( $(show sessions --json | json_len) == 10 )) || fail "expected 10 entries (5 sessions)"
(( $(show sessions --json --service web | json_len) == 6 )) || fail "--service web"
(( $(show sessions --json --service ping --tenant clients | json_len) == 4 )) || fail "--service ping --tenant clients"
(( $(show sessions --json --tenant nobody | json_len) == 0 )) || fail "--tenant nobody"
(( $(show sessions --json --address fd00:10:1::10 | json_len) == 2 )) || fail "--address fd00:10:1::10"
(( $(show sessions --json --address 10.10.2.10 | json_len) == 8 )) || fail "--address 10.10.2.10"
show sessions --address 10.10.2.10 | grep -q '10.10.2.10' || fail "human --address"
out=$(show sessions --address 10.10.300.1 2>&1) && fail "bad address accepted"
grep -q "address" <<<"$out" || fail "bad address not named: $out"

step "svrctl show peers, services, stats: both formats"
show peers | grep -q "no peers configured" || fail "show peers: $(show peers)"
[[ $(show peers --json | json_len) == 0 ]] || fail "show peers --json"
show services >"$WORK/services.txt" || fail "show services"
grep -Eq '^web +[0-9]+ +3 +0 ' "$WORK/services.txt" || fail "show services web row: $(cat "$WORK/services.txt")"
show services --json | "$PY" -I -c '
import json, sys
services = {s["name"]: s for s in json.load(sys.stdin)}
assert services["ping"]["sessions_created"] == 2, services["ping"]
assert services["ping"]["sessions_active"] == 2, services["ping"]
assert services["internet"]["routes"][0]["target"] == "via wan0 gateway 203.0.113.254 source-nat"
' || fail "show services --json"
show stats >"$WORK/stats.txt" || fail "show stats"
grep -q '^interface lan0 (ifindex [0-9]*), up:' "$WORK/stats.txt" || fail "show stats: $(head -5 "$WORK/stats.txt")"
grep -Eq '^  sessions.created +5$' "$WORK/stats.txt" || fail "show stats counters: $(cat "$WORK/stats.txt")"
show stats --json | "$PY" -I -c '
import json, sys
stats = json.load(sys.stdin)
assert stats["router"] == sys.argv[1]
assert stats["counters"]["sessions.created"] == 5
assert stats["interfaces"]["lan0"]["fastpath"]["punt"]["miss"] >= 5
' "$SVR_ROUTER" || fail "show stats --json"

step "svrctl delete session through svrd"
ping_id=$(show sessions --json --service ping --address fd00:10:1::10 | "$PY" -I -c 'import json,sys; print(json.load(sys.stdin)[0]["session_id"])')
show delete >/dev/null 2>&1 && fail "show delete is not a command"
svrctl delete session "$ping_id" --api "$API" | grep -q "session $ping_id deleted (2 entries)" || fail "delete session $ping_id"
(( $(session_count "s[\"session_id\"] == $ping_id") == 0 )) || fail "session $ping_id still in the table"
(( $(counter sessions.deleted-by-operator) == 1 )) || fail "operator delete not counted"
out=$(svrctl delete session "$ping_id" --api "$API" 2>&1) && fail "deleting twice succeeded"
grep -q "no session with id $ping_id" <<<"$out" || fail "second delete: $out"
(( $(show sessions --json --service ping | json_len) == 2 )) || fail "the other ping session went too"

step "web sessions expire after their FINs and are counted by tenant and service"
expired_web() { (( $(metric 'svr_sessions_expired_total{tenant="clients",service="web"}') == 3 )); }
wait_for 30 expired_web || fail "web expiries: $(metrics | grep svr_sessions_expired_total)"
(( $(metric 'svr_sessions_active{tenant="clients",service="web"}') == 0 )) || fail "web sessions still active"

step "svrd stopped: the maps alone"
# A fresh session: without svrd nothing ages it out.
in_ns "$CLIENT" ping -c 1 -W 2 10.10.2.10 >/dev/null || fail "ping before the stop"
(( $(session_count 's["proto"] == "icmp"') == 2 )) || fail "no ping session before the stop: $(sessions_json)"
stop_svrd
out=$(show sessions 2>&1) && fail "show sessions without svrd and without --router succeeded"
grep -q "not reachable at $API" <<<"$out" && grep -q -- "--router" <<<"$out" || fail "unclear message: $out"
show sessions --router "$SVR_ROUTER" >"$WORK/maps-sessions.txt" 2>"$WORK/maps-sessions.err" || fail "show sessions from the maps"
grep -q "pinned maps of router $SVR_ROUTER" "$WORK/maps-sessions.err" || fail "fallback not announced: $(cat "$WORK/maps-sessions.err")"
grep -q '^ *ID  *TENANT' "$WORK/maps-sessions.txt" || fail "maps table: $(cat "$WORK/maps-sessions.txt")"
show sessions --router "$SVR_ROUTER" --json 2>/dev/null | "$PY" -I -c '
import json, sys
sessions = json.load(sys.stdin)
assert len(sessions) == 2, sessions
assert all(s["tenant"] is None and s["proto"] in ("icmp", "icmpv6") for s in sessions), sessions
' || fail "show sessions --json from the maps"
(( $(show sessions --router "$SVR_ROUTER" --json --address 10.10.1.10 2>/dev/null | json_len) == 2 )) || fail "--address from the maps"
out=$(show sessions --router "$SVR_ROUTER" --service ping 2>&1) && fail "--service without svrd succeeded"
grep -q "need svrd" <<<"$out" || fail "unclear --service message: $out"
show stats --router "$SVR_ROUTER" 2>/dev/null | grep -q '^interface lan0 (ifindex [0-9]*):' || fail "show stats from the maps"
show stats --router "$SVR_ROUTER" --json 2>/dev/null | "$PY" -I -c '
import json, sys
stats = json.load(sys.stdin)
assert stats["interfaces"]["lan0"]["fastpath"]["punt"]["miss"] >= 5, stats
' || fail "show stats --json from the maps"
out=$(svrctl show sessions --router "$SVR_ROUTER" --api http://127.0.0.1:0 2>&1) && fail "a bad --api fell back to the maps"
grep -q "port must be 1..65535" <<<"$out" || fail "bad --api not named: $out"
for what in peers services; do
  out=$(show "$what" 2>&1) && fail "show $what without svrd succeeded"
  grep -q "show $what needs svrd" <<<"$out" || fail "unclear show $what message: $out"
done
v4_id=$(show sessions --router "$SVR_ROUTER" --json 2>/dev/null | "$PY" -I -c 'import json,sys; print(json.load(sys.stdin)[0]["session_id"])')
svrctl delete session "$v4_id" --api "$API" --router "$SVR_ROUTER" 2>/dev/null | grep -q "deleted from the pinned table (2 entries)" ||
  fail "delete from the maps"
(( $(session_count 'True') == 0 )) || fail "table not empty: $(sessions_json)"

step "--http-listen overrides the configuration"
nsenter --net="/run/netns/$ROUTER" -- "$SVRD" --config "$CONFIG" --router "$SVR_ROUTER" \
  --status-file "$STATUS" --http-listen '[::1]:9471' >>"$SVRD_LOG" 2>&1 &
SVRD_PID=$!
v6_up() { in_ns "$ROUTER" curl -s -o /dev/null 'http://[::1]:9471/metrics'; }
wait_for 10 v6_up || fail "no endpoint on [::1]:9471: $(tail -5 "$SVRD_LOG")"
svrctl show stats --api 'http://[::1]:9471' --json | "$PY" -I -c 'import json,sys; assert json.load(sys.stdin)["router"] == sys.argv[1]' "$SVR_ROUTER" ||
  fail "show stats over IPv6"
stop_svrd
echo "PASS"
