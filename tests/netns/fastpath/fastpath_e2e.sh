#!/usr/bin/env bash
# End-to-end test of the svr fast path on veth (run as root):
#
#   client ns              router ns (ip_forward=0)             server ns
#   cv 10.71.1.2 ---- rc 10.71.1.1   rs 10.71.2.1 ---- sv 10.71.2.2
#
# The client talks to the service address 10.71.0.100; sessions installed with
# `svrctl session add --reverse` DNAT it to the server and SNAT the client to 10.71.2.1.
# Kernel forwarding is off in the router, so every packet that crosses was forwarded by XDP.
# Checks: nc UDP and TCP, a UDP echo, ping (ICMP echo) and iperf3 TCP cross; tcpdump on
# the server sees only rewritten addresses; per-session packet counters equal what tcpdump/the senders counted; the forward
# verdict total equals the sum of session counters; a miss reaches an AF_XDP socket with
# reason "miss" and the right ingress ifindex; detach/re-attach by separate svrctl runs keeps
# the session table.
#
# usage: fastpath_e2e.sh SVRCTL PUNT_PROBE XDP_PASS_OBJECT
set -euo pipefail

SVRCTL=$1
PUNT_PROBE=$2
XDP_PASS_OBJ=$3

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

[[ $(id -u) -eq 0 ]] || fail "needs root (namespaces, XDP, bpffs)"
for tool in ip ss nsenter nc iperf3 tcpdump python3 ethtool; do
  command -v "$tool" >/dev/null || fail "missing tool '$tool' (ci/install-deps installs it)"
done
[[ -x $SVRCTL && -x $PUNT_PROBE && -f $XDP_PASS_OBJ ]] || fail "build svrctl, svr_punt_probe and the xdp_pass object first"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

ID="$$$((RANDOM % 100))"
CLIENT=fpc$ID ROUTER=fpr$ID SERVER=fps$ID
CV=cv$ID RC=rc$ID RS=rs$ID SV=sv$ID
SVR_ROUTER=fpt$ID
WORK=$(mktemp -d /tmp/svr-fastpath-e2e.XXXXXX)
declare -a BACKGROUND=()

in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" -- "$@"; }
svrctl() { in_ns "$ROUTER" "$SVRCTL" "$@"; }

cleanup() {
  local rc=$?
  set +e
  for pid in "${BACKGROUND[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if [[ -d /sys/fs/bpf/svr/$SVR_ROUTER ]]; then
    svrctl fastpath detach --router "$SVR_ROUTER" --unpin >/dev/null 2>&1 ||
      rm -rf "/sys/fs/bpf/svr/$SVR_ROUTER"
  fi
  for ns in "$CLIENT" "$ROUTER" "$SERVER"; do
    ip netns del "$ns" 2>/dev/null
  done
  if ((rc != 0)); then
    echo "--- logs in $WORK kept for inspection" >&2
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT INT TERM

# Polls until something in namespace $1 listens on $2 (udp|tcp) port $3: fixed sleeps are
# flaky on a loaded machine.
wait_for_port() {
  local ns=$1 proto=$2 port=$3 flag
  [[ $proto == udp ]] && flag=-Hlun || flag=-Hltn
  for _ in $(seq 100); do
    [[ -n $(in_ns "$ns" ss "$flag" "sport = :$port") ]] && return 0
    sleep 0.1
  done
  fail "nothing bound $proto port $port in $ns within 10 s"
}

mac_of() { ip -n "$1" -o link show dev "$2" | grep -o 'link/ether [0-9a-f:]*' | cut -d' ' -f2; }
ifindex_of() { ip -n "$1" -o link show dev "$2" | cut -d: -f1; }

# Reads `svrctl session list --json` and prints the packets of session $1 entering on $2.
session_field() {
  python3 -c '
import json, sys
sessions = json.load(sys.stdin)
hits = [s for s in sessions if s["session_id"] == int(sys.argv[1]) and s["in_interface"] == sys.argv[2]]
if len(hits) != 1:
    sys.exit("session %s on %s: %d entries" % (sys.argv[1], sys.argv[2], len(hits)))
print(hits[0][sys.argv[3]])' "$@"
}
packets_of() { svrctl session list --router "$SVR_ROUTER" --json | session_field "$1" "$2" packets; }
bytes_of() { svrctl session list --router "$SVR_ROUTER" --json | session_field "$1" "$2" bytes; }
session_count() {
  svrctl session list --router "$SVR_ROUTER" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

step "topology $CLIENT - $ROUTER - $SERVER"
for ns in "$CLIENT" "$ROUTER" "$SERVER"; do
  ip netns add "$ns"
  ip -n "$ns" link set lo up
  in_ns "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
done
ip link add "$CV" netns "$CLIENT" type veth peer name "$RC" netns "$ROUTER"
ip link add "$RS" netns "$ROUTER" type veth peer name "$SV" netns "$SERVER"
in_ns "$ROUTER" sysctl -qw net.ipv4.ip_forward=0 net.ipv4.conf.all.forwarding=0
ip -n "$CLIENT" addr add 10.71.1.2/24 dev "$CV"
ip -n "$ROUTER" addr add 10.71.1.1/24 dev "$RC"
ip -n "$ROUTER" addr add 10.71.2.1/24 dev "$RS"
ip -n "$SERVER" addr add 10.71.2.2/24 dev "$SV"
for pair in "$CLIENT:$CV" "$ROUTER:$RC" "$ROUTER:$RS" "$SERVER:$SV"; do
  ip -n "${pair%%:*}" link set "${pair#*:}" up
done
ip -n "$CLIENT" route add default via 10.71.1.1
# The fast path rewrites only the changed fields; checksums offloaded as partial would
# reach the server unfinished, so the endpoints compute them in software.
in_ns "$CLIENT" ethtool -K "$CV" tx off >/dev/null
in_ns "$SERVER" ethtool -K "$SV" tx off >/dev/null
# A veth drops frames redirected into it unless the receiving end runs an XDP program.
ip -n "$CLIENT" link set dev "$CV" xdpdrv obj "$XDP_PASS_OBJ" sec xdp
ip -n "$SERVER" link set dev "$SV" xdpdrv obj "$XDP_PASS_OBJ" sec xdp

MAC_CV=$(mac_of "$CLIENT" "$CV")
MAC_RC=$(mac_of "$ROUTER" "$RC")
MAC_RS=$(mac_of "$ROUTER" "$RS")
MAC_SV=$(mac_of "$SERVER" "$SV")
IFINDEX_RC=$(ifindex_of "$ROUTER" "$RC")
ip -n "$CLIENT" neigh replace 10.71.1.1 lladdr "$MAC_RC" dev "$CV" nud permanent
ip -n "$SERVER" neigh replace 10.71.2.1 lladdr "$MAC_RS" dev "$SV" nud permanent

step "attach svr to $RC and $RS"
svrctl fastpath attach --router "$SVR_ROUTER" --interface "$RC" --interface "$RS" --max-sessions 1024
svrctl fastpath status --router "$SVR_ROUTER" --json > "$WORK/status.json"
python3 - "$WORK/status.json" "$RC" "$RS" <<'EOF'
import json, sys
status = json.load(open(sys.argv[1]))
names = {i["name"]: i for i in status["interfaces"]}
for want in sys.argv[2:]:
    assert want in names, "%s not attached: %s" % (want, names)
    assert names[want]["xdp_program_id"] > 0, names[want]
    assert names[want]["xdp_mode"] in ("native", "generic"), names[want]
EOF

add_session() { # id proto sport svc_port new_sport server_port
  svrctl session add --router "$SVR_ROUTER" --session-id "$1" --in-interface "$RC" --proto "$2" \
    --src 10.71.1.2 --sport "$3" --dst 10.71.0.100 --dport "$4" \
    --new-src 10.71.2.1 --new-sport "$5" --new-dst 10.71.2.2 --new-dport "$6" \
    --out-interface "$RS" --next-hop-mac "$MAC_SV" \
    --reverse --reverse-next-hop-mac "$MAC_CV" --idle-timeout 60
}
step "install sessions"
add_session 1 udp 41001 7001 51001 8001 # nc UDP
add_session 2 udp 41002 7002 51002 8002 # python UDP echo
add_session 3 tcp 41003 7003 51003 8003 # nc TCP
add_session 4 tcp 41200 7201 51200 8201 # iperf3 control (client's only ephemeral port)
add_session 5 tcp 41201 7201 51201 8201 # iperf3 data (--cport)
# ICMP echo: the identifier takes the source port's place (ping -e 4660), no dport.
svrctl session add --router "$SVR_ROUTER" --session-id 6 --in-interface "$RC" --proto icmp \
  --src 10.71.1.2 --sport 4660 --dst 10.71.0.100 --new-src 10.71.2.1 --new-dst 10.71.2.2 \
  --out-interface "$RS" --next-hop-mac "$MAC_SV" --reverse --reverse-next-hop-mac "$MAC_CV"
[[ $(session_count) -eq 12 ]] || fail "expected 12 session entries"
svrctl session list --router "$SVR_ROUTER"
if add_session 1 udp 41001 7001 51001 8001 2>/dev/null; then
  fail "a duplicate session was accepted"
fi
if svrctl session add --router "$SVR_ROUTER" --in-interface lo --proto udp --src 10.71.1.2 \
    --dst 10.71.0.100 --out-interface "$RS" --next-hop-mac "$MAC_SV" 2> "$WORK/notattached.err"; then
  fail "a session on an interface svr is not attached to was accepted"
fi
grep -q "interface lo is not attached" "$WORK/notattached.err" || fail "unclear error: $(cat "$WORK/notattached.err")"
[[ $(session_count) -eq 12 ]] || fail "a refused session left entries"
# Without --session-id the id comes from the hand-installed range (2^63 up), never one svrd
# numbers its own sessions with.
svrctl session add --router "$SVR_ROUTER" --in-interface "$RC" --proto udp --src 10.71.1.9 \
  --sport 1 --dst 10.71.0.100 --dport 9 --out-interface "$RS" --next-hop-mac "$MAC_SV" >/dev/null
manual_id=$(svrctl session list --router "$SVR_ROUTER" --json |
  python3 -I -c 'import json,sys; print(max(e["session_id"] for e in json.load(sys.stdin)))')
[[ $manual_id == 9223372036854775808 ]] || fail "hand-installed session got id $manual_id, not 2^63"
svrctl session delete --router "$SVR_ROUTER" --session-id "$manual_id" >/dev/null
[[ $(session_count) -eq 12 ]] || fail "the hand-installed session was not deleted"

step "tcpdump on the server"
nsenter --net="/run/netns/$SERVER" -- tcpdump -i "$SV" -n -U -s 128 -w "$WORK/server.pcap" 'ip' 2>"$WORK/tcpdump.err" &
BACKGROUND+=($!)
TCPDUMP_PID=$!
for _ in $(seq 100); do grep -q listening "$WORK/tcpdump.err" 2>/dev/null && break; sleep 0.1; done
grep -q listening "$WORK/tcpdump.err" || fail "tcpdump did not start listening: $(cat "$WORK/tcpdump.err")"

step "nc UDP"
nsenter --net="/run/netns/$SERVER" -- timeout 10 nc -u -l -W 1 8001 > "$WORK/nc-udp.out" &
NC_UDP_PID=$!
BACKGROUND+=("$NC_UDP_PID")
wait_for_port "$SERVER" udp 8001
printf 'hello-udp\n' | in_ns "$CLIENT" nc -u -w 1 -p 41001 10.71.0.100 7001
wait "$NC_UDP_PID" || fail "the UDP datagram did not reach the server (nc rc $?)"
grep -q hello-udp "$WORK/nc-udp.out" || fail "UDP payload lost"
[[ $(packets_of 1 "$RC") -eq 1 ]] || fail "session 1 forward packets $(packets_of 1 "$RC") != 1"

step "UDP echo, 20 datagrams each way"
nsenter --net="/run/netns/$SERVER" -- timeout 20 python3 - <<'EOF' &
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.71.2.2", 8002))
for _ in range(20):
    data, peer = s.recvfrom(2048)
    assert peer == ("10.71.2.1", 51002), peer  # SNAT seen by the server
    s.sendto(data, peer)
EOF
ECHO_PID=$!
BACKGROUND+=("$ECHO_PID")
wait_for_port "$SERVER" udp 8002
in_ns "$CLIENT" timeout 20 python3 - <<'EOF' || fail "UDP echo failed"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.71.1.2", 41002))
s.settimeout(3)
for i in range(20):
    s.sendto(b"echo-%d" % i, ("10.71.0.100", 7002))
    data, peer = s.recvfrom(2048)
    # The reply comes back from the service address: the reverse session restored it.
    assert peer == ("10.71.0.100", 7002), peer
    assert data == b"echo-%d" % i, data
EOF
wait "$ECHO_PID" || fail "UDP echo server failed"
[[ $(packets_of 2 "$RC") -eq 20 ]] || fail "session 2 forward packets $(packets_of 2 "$RC") != 20"
[[ $(packets_of 2 "$RS") -eq 20 ]] || fail "session 2 reverse packets $(packets_of 2 "$RS") != 20"

step "nc TCP"
nsenter --net="/run/netns/$SERVER" -- timeout 10 nc -l 8003 > "$WORK/nc-tcp.out" &
NC_TCP_PID=$!
BACKGROUND+=("$NC_TCP_PID")
wait_for_port "$SERVER" tcp 8003
printf 'hello-tcp\n' | in_ns "$CLIENT" timeout 10 nc -N -w 3 -p 41003 10.71.0.100 7003 ||
  fail "TCP connection through the fast path failed"
wait "$NC_TCP_PID" || true
grep -q hello-tcp "$WORK/nc-tcp.out" || fail "TCP payload lost"

step "ICMP echo"
in_ns "$CLIENT" ping -n -c 3 -i 0.2 -W 2 -e 4660 10.71.0.100 > "$WORK/ping.out" ||
  fail "ping through the fast path failed: $(cat "$WORK/ping.out")"
grep -q 'bytes from 10.71.0.100' "$WORK/ping.out" || fail "echo reply not from the service address"
[[ $(packets_of 6 "$RC") -eq 3 && $(packets_of 6 "$RS") -eq 3 ]] ||
  fail "ICMP session counters $(packets_of 6 "$RC")/$(packets_of 6 "$RS") != 3/3"

step "iperf3 TCP"
in_ns "$CLIENT" sysctl -qw net.ipv4.ip_local_port_range="41200 41200"
nsenter --net="/run/netns/$SERVER" -- timeout 30 iperf3 -s -1 -B 10.71.2.2 -p 8201 > "$WORK/iperf3-server.out" 2>&1 &
IPERF_PID=$!
BACKGROUND+=("$IPERF_PID")
wait_for_port "$SERVER" tcp 8201
in_ns "$CLIENT" timeout 30 iperf3 -c 10.71.0.100 -p 7201 --cport 41201 -t 2 -J > "$WORK/iperf3.json" ||
  fail "iperf3 failed: $(tail -5 "$WORK/iperf3.json")"
wait "$IPERF_PID" || true
IPERF_BYTES=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["end"]["sum_sent"]["bytes"]))' "$WORK/iperf3.json")
echo "iperf3 sent $IPERF_BYTES bytes"
((IPERF_BYTES > 0)) || fail "iperf3 sent nothing"
DATA_BYTES=$(bytes_of 5 "$RC")
((DATA_BYTES >= IPERF_BYTES)) || fail "session 5 counted $DATA_BYTES bytes < iperf3's $IPERF_BYTES"
(($(packets_of 4 "$RC") > 0)) || fail "iperf3 control connection not forwarded by XDP"

sleep 0.5
kill -INT "$TCPDUMP_PID"
wait "$TCPDUMP_PID" 2>/dev/null || true
tcpdump -n -r "$WORK/server.pcap" 2>/dev/null > "$WORK/server.txt"

step "server saw only rewritten addresses"
grep -q '10.71.2.1.51001 > 10.71.2.2.8001: UDP' "$WORK/server.txt" || fail "no SNAT/DNAT UDP at the server"
grep -q '10.71.2.1.51003 > 10.71.2.2.8003: Flags \[S\]' "$WORK/server.txt" || fail "no SNAT/DNAT TCP SYN at the server"
grep -q '10.71.2.1.51201 > 10.71.2.2.8201' "$WORK/server.txt" || fail "no iperf3 data at the server"
# With and without a port (ICMP): the client's own address or the service address.
if grep -q -F -e ' 10.71.1.2.' -e ' 10.71.0.100.' -e 'IP 10.71.1.2 >' -e '> 10.71.0.100' \
    "$WORK/server.txt"; then
  fail "an original (untranslated) address reached the server"
fi
count_flow() { grep -c -F "$1" "$WORK/server.txt" || true; }
TCP_TO_SERVER=$(count_flow '10.71.2.1.51003 > 10.71.2.2.8003')
TCP_FROM_SERVER=$(count_flow '10.71.2.2.8003 > 10.71.2.1.51003')
echo "nc TCP: $TCP_TO_SERVER packets to the server, $TCP_FROM_SERVER back"
[[ $(packets_of 3 "$RC") -eq $TCP_TO_SERVER ]] ||
  fail "session 3 forward packets $(packets_of 3 "$RC") != $TCP_TO_SERVER seen by tcpdump"
[[ $(packets_of 3 "$RS") -eq $TCP_FROM_SERVER ]] ||
  fail "session 3 reverse packets $(packets_of 3 "$RS") != $TCP_FROM_SERVER seen by tcpdump"
[[ $(packets_of 1 "$RC") -eq $(count_flow '10.71.2.1.51001 > 10.71.2.2.8001') ]] ||
  fail "session 1 count differs from tcpdump"
svrctl session list --router "$SVR_ROUTER" --json > "$WORK/sessions.json"
python3 - "$WORK/sessions.json" <<'EOF'
import json, sys
for s in json.load(open(sys.argv[1])):
    if s["session_id"] == 3 and s["in_interface"].startswith("rc"):
        assert "syn" in s["tcp_state"] and "ack" in s["tcp_state"], s["tcp_state"]
EOF

step "forward verdicts equal the sum of session counters"
svrctl stats --router "$SVR_ROUTER" --json > "$WORK/stats.json"
python3 - "$WORK/stats.json" "$WORK/sessions.json" <<'EOF'
import json, sys
stats = json.load(open(sys.argv[1]))
sessions = json.load(open(sys.argv[2]))
forwarded = stats["total"]["verdicts"]["forward"]["packets"]
counted = sum(s["packets"] for s in sessions)
assert forwarded == counted, "forward verdicts %d != session packets %d" % (forwarded, counted)
assert forwarded > 0
print("forwarded", forwarded)
EOF

step "a miss is punted to an AF_XDP socket"
nsenter --net="/run/netns/$ROUTER" -- "$PUNT_PROBE" --router "$SVR_ROUTER" --interface "$RC" --count 1 --timeout-ms 10000 \
  > "$WORK/punt.json" 2> "$WORK/punt.err" &
PROBE_PID=$!
BACKGROUND+=($PROBE_PID)
for _ in $(seq 50); do grep -q ready "$WORK/punt.err" 2>/dev/null && break; sleep 0.1; done
grep -q ready "$WORK/punt.err" || fail "punt probe did not bind: $(cat "$WORK/punt.err")"
printf 'miss\n' | in_ns "$CLIENT" nc -u -w 1 -p 41999 10.71.0.100 7999 || true
wait "$PROBE_PID" || fail "no punted frame: $(cat "$WORK/punt.err")"
cat "$WORK/punt.json"
python3 - "$WORK/punt.json" "$IFINDEX_RC" <<'EOF'
import json, sys
frame = json.loads(open(sys.argv[1]).readline())
assert frame["has_meta"], frame
assert frame["meta"]["reason"] == "miss", frame
assert frame["meta"]["ingress_ifindex"] == int(sys.argv[2]), frame
assert (frame["src"], frame["dst"], frame["dport"]) == ("10.71.1.2", "10.71.0.100", 7999), frame
EOF
PUNTED=$(svrctl stats --router "$SVR_ROUTER" --interface "$RC" --json |
  python3 -c "import json,sys; print(json.load(sys.stdin)['interfaces']['$RC']['punt']['miss'])")
((PUNTED >= 1)) || fail "punt miss counter $PUNTED"

step "re-attach by a new svrctl process keeps the sessions"
BEFORE=$(packets_of 2 "$RC")
svrctl fastpath attach --router "$SVR_ROUTER" --interface "$RC" --interface "$RS" | tee "$WORK/reattach.out"
grep -q "12 session entries kept" "$WORK/reattach.out" || fail "re-attach did not adopt the pinned sessions"
[[ $(session_count) -eq 12 ]] || fail "sessions lost by re-attach"
[[ $(packets_of 2 "$RC") -eq $BEFORE ]] || fail "counters reset by re-attach"

step "detach keeps the maps; traffic stops; attach again resumes it"
svrctl fastpath detach --router "$SVR_ROUTER"
svrctl fastpath status --router "$SVR_ROUTER" --json > "$WORK/detached.json"
python3 - "$WORK/detached.json" "$RC" <<'EOF' || fail "XDP still attached after detach"
import json, sys
status = json.load(open(sys.argv[1]))
still = [i for i in status["interfaces"] if i["name"] == sys.argv[2] and i["xdp_program_id"] != 0]
assert not still, still
EOF
[[ $(session_count) -eq 12 ]] || fail "sessions lost by detach"
# Kernel forwarding is off: without XDP nothing crosses and no session counts.
printf 'detached\n' | in_ns "$CLIENT" nc -u -w 1 -p 41002 10.71.0.100 7002 || true
sleep 0.3
[[ $(packets_of 2 "$RC") -eq $BEFORE ]] || fail "a packet was counted while detached"
svrctl fastpath attach --router "$SVR_ROUTER" --interface "$RC" --interface "$RS" >/dev/null
nsenter --net="/run/netns/$SERVER" -- timeout 10 python3 - <<'EOF' &
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.71.2.2", 8002))
for _ in range(5):
    data, peer = s.recvfrom(2048)
    s.sendto(data, peer)
EOF
ECHO_PID=$!
BACKGROUND+=("$ECHO_PID")
wait_for_port "$SERVER" udp 8002
in_ns "$CLIENT" timeout 10 python3 - <<'EOF' || fail "UDP echo after re-attach failed"
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("10.71.1.2", 41002))
s.settimeout(3)
for i in range(5):
    s.sendto(b"again-%d" % i, ("10.71.0.100", 7002))
    data, peer = s.recvfrom(2048)
    assert peer == ("10.71.0.100", 7002), peer
EOF
wait "$ECHO_PID" || fail "UDP echo server after re-attach failed"
[[ $(packets_of 2 "$RC") -eq $((BEFORE + 5)) ]] || fail "session 2 counter $(packets_of 2 "$RC") != $((BEFORE + 5))"

step "session delete"
svrctl session delete --router "$SVR_ROUTER" --session-id 1
[[ $(session_count) -eq 10 ]] || fail "delete by id removed the wrong number of entries"
svrctl session delete --router "$SVR_ROUTER" --all
[[ $(session_count) -eq 0 ]] || fail "delete --all left entries"

step "detach --unpin"
svrctl fastpath detach --router "$SVR_ROUTER" --unpin
[[ ! -e /sys/fs/bpf/svr/$SVR_ROUTER ]] || fail "pins left after --unpin"
if svrctl session list --router "$SVR_ROUTER" 2> "$WORK/missing.err"; then
  fail "session list on a detached router succeeded"
fi
grep -q "router $SVR_ROUTER is not attached" "$WORK/missing.err" || fail "unclear error: $(cat "$WORK/missing.err")"
echo "PASS"
