#!/usr/bin/env bash
# svrd runs one event loop per punt socket, one socket per rx queue: lan0 (and the client's
# c0) are veths with 2 rx and 2 tx queues. A veth delivers a frame on the peer's rx queue of
# the sender's tx queue, and the client's kernel spreads flows over its tx queues by hash,
# so new UDP sessions from many sockets arrive on both queues of lan0.
#  - svrd binds both queues (punt sockets) and starts 4 loops (lan0 x2, srv0, wan0);
#  - sessions punted on either queue are created and work both ways (the echo answers come
#    back through the fast path): each loop counts its own punts (punt.received.lan0.qN);
#  - after SIGHUP the loops serve again; SIGTERM joins every loop (exit 0).
# svrd busy-polls (--busy-poll-us): the loops read their rings between frames instead of
# sleeping, and still stop for a reload and for SIGTERM.
# usage: svrd_multiqueue.sh SVRD SVRCTL XDP_PASS_OBJECT EXAMPLES_DIR
source "$(dirname "$0")/lib.sh" "$@"

# link() with N queues on both ends.
link_multiqueue() {
  local queues=$5
  ip link add "$2" netns "$1" numrxqueues "$queues" numtxqueues "$queues" type veth \
    peer name "$4" netns "$3" numrxqueues "$queues" numtxqueues "$queues"
  ip -n "$1" link set "$2" up
  ip -n "$3" link set "$4" up
  in_ns "$3" ip link set dev "$4" xdpdrv obj "$XDP_PASS_OBJ" sec xdp
  in_ns "$3" ethtool -K "$4" tx off >/dev/null
}

for ns in "$CLIENT" "$ROUTER" "$SERVER" "$INTERNET"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
done
link_multiqueue "$ROUTER" lan0 "$CLIENT" c0 2
link "$ROUTER" srv0 "$SERVER" s0
link "$ROUTER" wan0 "$INTERNET" i0
ip -n "$ROUTER" addr add 10.10.1.1/24 dev lan0
ip -n "$ROUTER" addr add 10.10.2.1/24 dev srv0
ip -n "$ROUTER" addr add 203.0.113.1/24 dev wan0
ip -n "$CLIENT" addr add 10.10.1.10/24 dev c0
ip -n "$CLIENT" route add default via 10.10.1.1
ip -n "$SERVER" addr add 10.10.2.10/24 dev s0
ip -n "$SERVER" route add default via 10.10.2.1
ip -n "$INTERNET" addr add 203.0.113.254/24 dev i0
in_ns "$ROUTER" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
[[ $(ip -n "$ROUTER" -d link show lan0 | grep -o 'numrxqueues [0-9]*') == "numrxqueues 2" ]] ||
  fail "lan0 has not 2 rx queues: $(ip -n "$ROUTER" -d link show lan0)"

write_config
step "svrd starts: one event loop per punt socket, busy polling"
SVRD_EXTRA_ARGS=(--busy-poll-us 500)
start_svrd
grep -q "event=daemon.running .*busy_poll_us=500" "$SVRD_LOG" ||
  fail "busy polling not in force: $(grep daemon.running "$SVRD_LOG")"
grep -q "interface lan0 (ifindex [0-9]*) attached, 2 punt queue(s)" "$SVRD_LOG" ||
  fail "lan0 not bound on 2 queues: $(grep attached "$SVRD_LOG")"
grep -q "event=daemon.running .*event_loops=4" "$SVRD_LOG" ||
  fail "expected 4 event loops: $(grep daemon.running "$SVRD_LOG")"

# A UDP echo server; the client opens FLOWS sockets (one session each), waits for every
# answer, and prints how many came back.
bg_in_ns "$WORK/echo.log" "$SERVER" "$PY" -I -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.10.2.10", 7))
while True:
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)'
FLOWS=64
echo_round() {
  in_ns "$CLIENT" "$PY" -I - "$1" "$FLOWS" <<'PY'
import select, socket, sys, time
tag, flows = sys.argv[1], int(sys.argv[2])
socks = []
for i in range(flows):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setblocking(False)
    s.sendto(f"{tag}-{i}".encode(), ("10.10.2.10", 7))
    socks.append(s)
answered, deadline = set(), time.time() + 8
while len(answered) < flows and time.time() < deadline:
    ready, _, _ = select.select(socks, [], [], 0.5)
    for s in ready:
        answered.add(s.recv(2048).decode())
    # A first packet held for the neighbour may be retried by nobody: resend unanswered.
    if not ready:
        for i, s in enumerate(socks):
            if f"{tag}-{i}" not in answered:
                s.sendto(f"{tag}-{i}".encode(), ("10.10.2.10", 7))
print(len(answered))
PY
}

step "$FLOWS new UDP sessions: both queues punt, every session answers"
answered=$(echo_round first)
(( answered == FLOWS )) || fail "only $answered of $FLOWS echo sessions answered"
q0=$(counter punt.received.lan0.q0)
q1=$(counter punt.received.lan0.q1)
echo "punts per queue: q0=$q0 q1=$q1"
(( q0 > 0 && q1 > 0 )) || fail "punts not seen on both queues (q0=$q0 q1=$q1)"
(( q0 + q1 >= FLOWS )) || fail "fewer punts ($((q0 + q1))) than sessions ($FLOWS)"
(( $(counter sessions.created) >= FLOWS )) || fail "sessions.created below $FLOWS"
(( $(session_count 's["dport"] == 7 and s["in_interface"] == "lan0"') == FLOWS )) ||
  fail "expected $FLOWS echo sessions from lan0: $(sessions_json | head -c 2000)"

step "SIGHUP: the loops restart and serve both queues again"
kill -HUP "$SVRD_PID"
reloaded() { (( $(counter config.reloaded) >= 1 )); }
wait_for 10 reloaded || fail "reload not counted"
answered=$(echo_round second)
(( answered == FLOWS )) || fail "after reload only $answered of $FLOWS echo sessions answered"
(( $(counter punt.received.lan0.q0) > q0 && $(counter punt.received.lan0.q1) > q1 )) ||
  fail "after reload not both queues punted (q0 $q0 -> $(counter punt.received.lan0.q0), q1 $q1 -> $(counter punt.received.lan0.q1))"

step "SIGTERM joins every loop"
stop_svrd
echo "PASS"
