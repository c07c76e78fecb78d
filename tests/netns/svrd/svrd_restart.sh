#!/usr/bin/env bash
# svrd killed (SIGKILL) and restarted during an iperf3 transfer:
#  - the transfer completes: the fast path keeps forwarding established sessions with no
#    controller, and the restarted svrd re-adopts the pinned maps and its sessions;
#  - a source-NAT session made before the kill keeps its port: the restarted svrd reserves
#    it, so a new NAT session gets another one;
#  - sessions created before the restart still expire (an ICMP session, 10 s idle).
# usage: svrd_restart.sh SVRD SVRCTL XDP_PASS_OBJECT EXAMPLES_DIR
source "$(dirname "$0")/lib.sh" "$@"

setup_topology
write_config
start_svrd
bg_in_ns "$WORK/iperf3-server.log" "$SERVER" iperf3 -s -p 5201
wait_for 10 in_ns "$SERVER" bash -c 'ss -tln | grep -q :5201' || fail "iperf3 server did not start"

# udp_to_internet SOURCE_PORT: one datagram from the client to the internet host.
udp_to_internet() {
  in_ns "$CLIENT" "$PY" -I -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.10.1.10", int(sys.argv[1])))
s.sendto(b"hello", ("198.51.100.7", 9999))' "$1"
}
nat_port_of() {
  sessions_json | "$PY" -I -c '
import json, sys
ports = [s["new_sport"] for s in json.load(sys.stdin)
         if s["proto"] == "udp" and s["sport"] == int(sys.argv[1]) and s["rewrite_src"]]
print(ports[0] if len(ports) == 1 else "none")' "$1"
}

step "before the kill: an ICMP session, a source-NAT UDP session"
in_ns "$CLIENT" ping -c 1 -W 2 10.10.2.10 >/dev/null || fail "ping"
udp_to_internet 40001
# Punt, policy, neighbour resolution and install take a moment: poll for the session.
nat_session_of() { [[ $(nat_port_of "$1") != none ]]; }
wait_for 10 nat_session_of 40001 || fail "no NAT session for the first UDP flow"
first_port=$(nat_port_of 40001)

step "iperf3 transfer; svrd killed and restarted in the middle"
in_ns "$CLIENT" iperf3 -c 10.10.2.10 -p 5201 -t 8 -J >"$WORK/iperf.json" 2>"$WORK/iperf.err" &
IPERF=$!
iperf_sessions() { (( $(session_count 's["dport"] == 5201 and s["proto"] == "tcp"') >= 2 )); }
wait_for 10 iperf_sessions || fail "no iperf3 sessions before the kill"
sleep 1 # let the transfer run a while under svrd before the kill
kill -KILL "$SVRD_PID"
wait "$SVRD_PID" 2>/dev/null || true
SVRD_PID=
step "svrd is down; the transfer goes on"
sleep 2 # deliberate: the fast path alone carries the transfer for a while
iperf_sessions || fail "iperf3 sessions gone while svrd is down"
start_svrd
grep -q "re-adopted [1-9][0-9]* session" "$SVRD_LOG" || fail "restarted svrd did not re-adopt sessions"
wait "$IPERF" || fail "iperf3 failed across the restart: $(cat "$WORK/iperf.err")"
"$PY" -I -c '
import json, sys
end = json.load(open(sys.argv[1]))["end"]
received = end["sum_received"]["bytes"]
seconds = end["sum_received"]["seconds"]
print("  iperf3: %d bytes in %.1f s across the restart" % (received, seconds))
sys.exit(0 if received > 10_000_000 and seconds >= 7 else 1)' "$WORK/iperf.json" || fail "iperf3 transfer incomplete"

step "the restarted svrd kept the NAT port of the adopted session"
udp_to_internet 40002
wait_for 10 nat_session_of 40002 || fail "no NAT session for the second UDP flow"
second_port=$(nat_port_of 40002)
[[ $second_port != "$first_port" ]] || fail "NAT port $first_port handed out twice"
[[ $(nat_port_of 40001) == "$first_port" ]] || fail "adopted NAT session changed"

step "sessions created before the restart still expire"
ping_gone() { (( $(session_count 's["proto"] == "icmp"') == 0 )); }
wait_for 25 ping_gone || fail "pre-restart ICMP session did not expire"
(( $(counter sessions.expired) >= 1 )) || fail "restarted svrd did not count the expiry"
stop_svrd
echo "PASS"
