#!/usr/bin/env bash
# Hitless restart: svrd stopped (SIGTERM, as `systemctl stop`) and started again under two
# steady UDP streams of 2000 pps each (client -> server, and client -> internet through
# source NAT), sequence numbers in the payload:
#  - the receivers miss ZERO sequence numbers of the established sessions, from the moment
#    the sessions were established to the end of the streams;
#  - svrd runs as its systemd unit runs it: only the unit's CapabilityBoundingSet and
#    locked-memory limit (read from packaging/systemd/svrd@.service.in), NOTIFY_SOCKET and
#    a watchdog for its pid; a fake service manager checks READY=1, STATUS=, WATCHDOG=1 and
#    STOPPING=1;
#  - the restarted svrd re-adopts the sessions, and a new session after the restart works;
#  - a SIGHUP reload in the middle (RELOADING=1, then READY=1) loses nothing either.
# usage: hitless_restart.sh SVRD SVRCTL XDP_PASS_OBJECT EXAMPLES_DIR UNIT_TEMPLATE STREAM_TOOL
UNIT_TEMPLATE=$5
STREAM_TOOL=$6
source "$(dirname "$0")/../svrd/lib.sh" "$1" "$2" "$3" "$4"
for tool in setpriv prlimit; do
  command -v "$tool" >/dev/null || fail "missing tool '$tool' (util-linux)"
done
[[ -f $UNIT_TEMPLATE && -f $STREAM_TOOL ]] || fail "unit template or stream tool missing"

RATE=2000
SECONDS_TOTAL=10
NOTIFY_LOG=$WORK/notify.log

# The unit's capabilities as a setpriv bounding set: root keeps exactly these across exec.
unit_caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$UNIT_TEMPLATE")
[[ -n $unit_caps ]] || fail "no CapabilityBoundingSet in $UNIT_TEMPLATE"
BOUNDING="-all"
for cap in $unit_caps; do
  cap=${cap#CAP_}
  BOUNDING+=",+${cap,,}"
done
# and its locked-memory limit (AF_XDP UMEM), systemd's default 8 MiB when it sets none
MEMLOCK=$(sed -n 's/^LimitMEMLOCK=//p' "$UNIT_TEMPLATE")
MEMLOCK=${MEMLOCK:-8388608}
[[ $MEMLOCK == infinity ]] && MEMLOCK=unlimited

# start_unit_svrd: like lib.sh's start_svrd, under the unit's conditions. The bash -c is
# replaced by nsenter, setpriv and svrd in turn: $$ there is svrd's pid, for WATCHDOG_PID.
start_unit_svrd() {
  local runs
  runs=$(grep -c "event=daemon.running" "$SVRD_LOG" 2>/dev/null || true)
  NOTIFY_SOCKET=$WORK/notify WATCHDOG_USEC=3000000 bash -c \
    'export WATCHDOG_PID=$$; exec nsenter --net="/run/netns/$1" -- prlimit --memlock="$2:$2" -- setpriv --bounding-set "$3" -- "${@:4}"' \
    _ "$ROUTER" "$MEMLOCK" "$BOUNDING" "$SVRD" --config "$CONFIG" --router "$SVR_ROUTER" \
    --status-file "$STATUS" >>"$SVRD_LOG" 2>&1 &
  SVRD_PID=$!
  for _ in $(seq 100); do
    (( $(grep -c "event=daemon.running" "$SVRD_LOG" 2>/dev/null || true) > ${runs:-0} )) && return 0
    kill -0 "$SVRD_PID" 2>/dev/null || fail "svrd exited during start: $(tail -5 "$SVRD_LOG")"
    sleep 0.1
  done
  fail "svrd did not start: $(tail -5 "$SVRD_LOG")"
}

notified() { grep -q "$1" "$NOTIFY_LOG" 2>/dev/null; }

setup_topology
write_config
# A fake service manager: the notify datagrams, one line each ("\n" inside shown as "|").
bg_in_ns "$WORK/notify-manager.log" "$ROUTER" "$PY" -I -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode().replace("\n", "|") + "\n")' "$WORK/notify" "$NOTIFY_LOG"
wait_for 5 test -S "$WORK/notify" || fail "fake service manager did not start"

step "svrd with the unit's capabilities ($unit_caps) and locked-memory limit ($MEMLOCK)"
start_unit_svrd
# Its effective capabilities are exactly the unit's (numbers from linux/capability.h).
"$PY" -I -c '
import sys
numbers = {"CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_SYS_ADMIN": 21,
           "CAP_PERFMON": 38, "CAP_BPF": 39}
wanted = sum(1 << numbers[name] for name in sys.argv[2].split())
status = dict(line.split(":\t", 1) for line in open("/proc/%s/status" % sys.argv[1]))
effective = int(status["CapEff"], 16)
sys.exit(0 if effective == wanted else "svrd runs with capabilities %x, the unit gives %x"
         % (effective, wanted))' "$SVRD_PID" "$unit_caps" || fail "svrd not confined to the unit's capabilities"
wait_for 5 notified "^READY=1|STATUS=" || fail "no READY=1 from svrd: $(cat "$NOTIFY_LOG")"

stream_receiver() { # NS BIND NAME
  bg_in_ns "$WORK/$3-receiver.log" "$1" "$PY" -I "$STREAM_TOOL" receive --bind "$2" \
    --progress "$WORK/$3.progress" --report "$WORK/$3.report"
  eval "RECEIVER_$3=\$!"
}
stream_sender() { # SOURCE TO STREAM SECONDS RATE NAME
  bg_in_ns "$WORK/$6-sender.log" "$CLIENT" "$PY" -I "$STREAM_TOOL" send --source "$1" \
    --to "$2" --stream "$3" --seconds "$4" --rate "$5"
  eval "SENDER_$6=\$!"
}
stream_receiver "$SERVER" 10.10.2.10:7 local
stream_receiver "$INTERNET" 198.51.100.7:9999 nat
wait_for 5 test -f "$WORK/local.progress" -a -f "$WORK/nat.progress" || fail "receivers did not start"

step "two streams of $RATE pps for $SECONDS_TOTAL s"
stream_sender 10.10.1.10:41001 10.10.2.10:7 1 "$SECONDS_TOTAL" "$RATE" local
stream_sender 10.10.1.10:41002 198.51.100.7:9999 2 "$SECONDS_TOTAL" "$RATE" nat
udp_sessions() { (( $(session_count 's["proto"] == "udp" and s["sport"] in (41001, 41002)') >= 2 )); }
wait_for 10 udp_sessions || fail "no sessions for the streams"
# highest NAME STREAM: highest sequence number the receiver has seen of that stream.
highest() {
  "$PY" -I -c '
import json, sys
progress = json.load(open(sys.argv[1]))
print(max([v for k, v in progress.items() if k.endswith("/" + sys.argv[2])] or [-1]))' \
    "$WORK/$1.progress" "$2"
}
flowing() { (( $(highest local 1) >= 0 && $(highest nat 2) >= 0 )); }
wait_for 5 flowing || fail "streams not arriving: $(cat "$WORK/local.progress" "$WORK/nat.progress")"
sleep 0.3 # the receivers' progress is 100 ms old at most: everything after this is established
ESTABLISHED_LOCAL=$(($(highest local 1) + 1))
ESTABLISHED_NAT=$(($(highest nat 2) + 1))
echo "  established from sequence $ESTABLISHED_LOCAL (local) and $ESTABLISHED_NAT (NAT)"

sleep 1
step "SIGTERM to svrd; the fast path carries the streams alone"
stop_svrd
notified "^STOPPING=1" || fail "no STOPPING=1 from svrd: $(tail -3 "$NOTIFY_LOG")"
sleep 2 # deliberate: the streams run with no controller for a while
step "svrd started again"
: >"$NOTIFY_LOG"
start_unit_svrd
grep -q "re-adopted [1-9][0-9]* session" "$SVRD_LOG" || fail "restarted svrd did not re-adopt sessions"
wait_for 5 notified "^READY=1" || fail "no READY=1 after the restart"

step "a new session after the restart"
stream_sender 10.10.1.10:41003 10.10.2.10:7 3 1 500 fresh
new_session() { (( $(session_count 's["proto"] == "udp" and s["sport"] == 41003') >= 1 )); }
wait_for 10 new_session || fail "no session for a flow started after the restart"
wait_for 5 notified "^WATCHDOG=1" || fail "no WATCHDOG=1 from svrd: $(cat "$NOTIFY_LOG")"
notified "STATUS=[0-9]* sessions\? active" || fail "no session count in STATUS=: $(cat "$NOTIFY_LOG")"

step "SIGHUP (systemctl reload) under the streams"
kill -HUP "$SVRD_PID"
wait_for 5 grep -q "configuration reloaded" "$SVRD_LOG" || fail "reload not applied: $(tail -3 "$SVRD_LOG")"
wait_for 5 notified "^RELOADING=1" || fail "no RELOADING=1 from svrd: $(cat "$NOTIFY_LOG")"
reloading_line=$(grep -n "^RELOADING=1" "$NOTIFY_LOG" | head -1 | cut -d: -f1)
ready_after() { tail -n +"$reloading_line" "$NOTIFY_LOG" | grep -q "^READY=1"; }
wait_for 5 ready_after || fail "no READY=1 after RELOADING=1: $(cat "$NOTIFY_LOG")"

wait "$SENDER_local" || fail "local sender failed: $(cat "$WORK/local-sender.log")"
wait "$SENDER_nat" || fail "NAT sender failed: $(cat "$WORK/nat-sender.log")"
wait "$SENDER_fresh" || fail "sender after restart failed: $(cat "$WORK/fresh-sender.log")"
SENT=$(cat "$WORK/local-sender.log")
sleep 0.5 # the last datagrams in flight
kill -TERM "$RECEIVER_local" "$RECEIVER_nat"
wait "$RECEIVER_local" "$RECEIVER_nat" 2>/dev/null || true
[[ -f $WORK/local.report && -f $WORK/nat.report ]] || fail "receivers wrote no report"

# check_stream NAME STREAM FROM SENT [MIN_SHARE]: the receiver saw every sequence number
# in [FROM, SENT) (or, with MIN_SHARE, at least that share of [0, SENT)).
check_stream() {
  "$PY" -I -c '
import json, sys
report = json.load(open(sys.argv[1]))
stream, first, sent = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
share = float(sys.argv[5]) if len(sys.argv) > 5 else None
entries = [v for k, v in report.items() if k.endswith("/" + stream)]
if len(entries) != 1:
    sys.exit("stream %s: %d sources seen" % (stream, len(entries)))
ranges = entries[0]["seqs"]
got = sum(min(last, sent - 1) - max(lo, first) + 1 for lo, last in ranges
          if last >= first and lo < sent)
wanted = sent - first
if share is not None:
    print("  stream %s: %d of %d received" % (stream, got, wanted))
    sys.exit(0 if got >= share * wanted else 1)
missing = []
expected = first
for lo, last in ranges:
    if last < first:
        continue
    if lo > expected:
        missing.append([expected, lo - 1])
    expected = max(expected, last + 1)
if expected < sent:
    missing.append([expected, sent - 1])
lost = sum(b - a + 1 for a, b in missing)
print("  stream %s: %d of %d established datagrams received, %d lost %s, %d duplicates"
      % (stream, got, wanted, lost, missing[:5], entries[0]["duplicates"]))
sys.exit(0 if lost == 0 else 1)' "$WORK/$1.report" "$2" "$3" "$4" ${5:+"$5"}
}
step "loss of the established sessions across the restart (sent $SENT per stream)"
# Datagrams the receivers' own sockets dropped (full buffer) are not the router's loss,
# but they would show as lost: name them if there are any.
for ns in "$SERVER" "$INTERNET"; do
  in_ns "$ns" awk '/^Udp:/ && ++n == 2 { if ($6 + 0 > 0) print "  note: " $6 " receive-buffer drops in '"$ns"'" }' /proc/net/snmp
done
check_stream local 1 "$ESTABLISHED_LOCAL" "$SENT" || fail "datagrams of the established local session lost"
check_stream nat 2 "$ESTABLISHED_NAT" "$SENT" || fail "datagrams of the established NAT session lost"
check_stream local 3 0 500 0.95 || fail "the session started after the restart lost datagrams"
stop_svrd
echo "PASS"
