#!/usr/bin/env bash
# Benchmark (not a test): new UDP sessions per second through svrd, one datagram each way,
# and svrd's first-packet handling time (p50/p99 from its status file). The DoS guard is
# off for the run. Prints the figures; fails only if the setup fails.
# usage: bench_new_sessions.sh SVRD SVRCTL XDP_PASS_OBJECT EXAMPLES_DIR [SESSIONS [RATE]]
# RATE: first packets per second offered (paced in groups of 100); default 20000.
source "$(dirname "$0")/lib.sh" "${@:1:4}"
SESSIONS=${5:-20000}
RATE=${6:-20000}

setup_topology
write_config
"$PY" -I - "$CONFIG" <<'PY'
import json, sys
config = json.load(open(sys.argv[1]))
config["svr:config"].pop("dos", None)
json.dump(config, open(sys.argv[1], "w"))
PY
start_svrd
bg_in_ns "$WORK/echo.log" "$SERVER" "$PY" -I -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
s.bind(("10.10.2.10", 7))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)'
echo_ready() { in_ns "$SERVER" ss -uln | grep -q '10.10.2.10:7 '; }
wait_for 10 echo_ready || fail "UDP echo server did not start"
in_ns "$CLIENT" ping -c 1 -W 2 10.10.2.10 >/dev/null # resolves neighbours, warms up
step "sending $SESSIONS first packets (distinct source ports) to the UDP echo service"
begin=$(date +%s.%N)
in_ns "$CLIENT" "$PY" -I - "$SESSIONS" "$RATE" <<'PY' >"$WORK/client.txt"
import socket, sys, time
count, rate = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
start = time.monotonic()
for i in range(count):
    if i % 100 == 0:
        delay = start + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    port = 10000 + i % 50000
    src = "10.10.1.10"
    # UDP header only, checksum 0 (allowed on IPv4); the kernel builds the IP header.
    header = port.to_bytes(2, "big") + (7).to_bytes(2, "big") + (12).to_bytes(2, "big") + b"\0\0"
    s.sendto(header + b"svrd", ("10.10.2.10", 0))
print("sent %d in %.3f s" % (count, time.monotonic() - start))
PY
cat "$WORK/client.txt"
created=0
for _ in $(seq 60); do
  sleep 1.1
  created=$("$PY" -I -c 'import json,sys; print(json.load(open(sys.argv[1]))["counters"].get("sessions.created", 0))' "$STATUS")
  if ((created >= SESSIONS)); then break; fi
  # Stop waiting once svrd has stopped creating (punts the AF_XDP ring could not take are lost).
  if [[ ${last:-} == "$created" ]] && ((created > 0)); then break; fi
  last=$created
done
end=$(date +%s.%N)
"$PY" -I -c 'import sys; n, t = int(sys.argv[1]), float(sys.argv[3]) - float(sys.argv[2]); print("%d sessions in %.2f s (sender included, +1 s status lag): %.0f sessions/s" % (n, t, n / t))' "$created" "$begin" "$end"
"$PY" -I -c '
import json, sys
status = json.load(open(sys.argv[1]))
c = status["counters"]
print("sessions created: %d, tx first packets: %d" % (c.get("sessions.created", 0), c.get("tx.packets", 0)))
print("first-packet handling in svrd: %s" % status["first_packet_latency_us"])
print("drops:", {k: v for k, v in c.items() if k.startswith("drop.")})' "$STATUS"
echo "fast-path punt counters:"
svrctl stats --router "$SVR_ROUTER" | sed -n '1,12p'
grep -E "svrd: (session|cannot)" "$SVRD_LOG" | head -3 || true
