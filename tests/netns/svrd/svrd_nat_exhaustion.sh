#!/usr/bin/env bash
# Source-NAT port exhaustion is a counted refusal, never a crash: with a nat-ports range of
# two ports, two UDP flows to the internet get the two ports and the third is refused
# (drop.nat-ports-exhausted) while svrd keeps running and the first two keep working.
# usage: svrd_nat_exhaustion.sh SVRD SVRCTL XDP_PASS_OBJECT EXAMPLES_DIR
source "$(dirname "$0")/lib.sh" "$@"

setup_topology
write_config
"$PY" -I - "$CONFIG" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
for interface in config["svr:config"]["router"]["interface"]:
    if interface["name"] == "wan0":
        interface["nat-ports"] = {"min": 20000, "max": 20001}
json.dump(config, open(sys.argv[1], "w"))
PY
start_svrd
bg_in_ns "$WORK/udp-sink.log" "$INTERNET" "$PY" -I -u -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("198.51.100.7", 9999))
while True:
    data, peer = s.recvfrom(2048)
    print(peer[0], peer[1], flush=True)
    s.sendto(data, peer)'
sink_ready() { in_ns "$INTERNET" ss -uln | grep -q '198.51.100.7:9999'; }
wait_for 10 sink_ready || fail "UDP sink did not start"

# udp_flow SOURCE_PORT: one datagram to the internet host; prints the reply or "timeout".
udp_flow() {
  in_ns "$CLIENT" "$PY" -I -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.10.1.10", int(sys.argv[1])))
s.settimeout(2)
s.sendto(b"ping", ("198.51.100.7", 9999))
try:
    print(s.recvfrom(2048)[0].decode())
except socket.timeout:
    print("timeout")' "$1"
}

step "two flows take the two NAT ports"
[[ $(udp_flow 41001) == ping ]] || fail "first flow got no reply"
[[ $(udp_flow 41002) == ping ]] || fail "second flow got no reply"
(( $(session_count 's["rewrite_src"] and s["new_src"] == "203.0.113.1" and s["new_sport"] in (20000, 20001)') == 2 )) ||
  fail "expected the two NAT sessions: $(sessions_json)"
step "the third flow is refused and counted"
[[ $(udp_flow 41003) == timeout ]] || fail "third flow got through an exhausted pool"
(( $(counter drop.nat-ports-exhausted) >= 1 )) || fail "exhaustion not counted"
kill -0 "$SVRD_PID" || fail "svrd died"
grep -c '^203.0.113.1 2000[01]$' "$WORK/udp-sink.log" | grep -qx 2 || fail "sink saw: $(cat "$WORK/udp-sink.log")"
step "the sessions holding the ports still work"
[[ $(udp_flow 41001) == ping ]] || fail "first flow broken after the refusal"
stop_svrd
echo "PASS"
