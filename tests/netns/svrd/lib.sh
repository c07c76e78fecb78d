#!/usr/bin/env bash
# Shared setup of the svrd netns tests (sourced). Topology (interface names are those of
# examples/single-router.json; namespaces and the router's pin name are unique per run):
#
#   client ns             router ns (forwarding off, svrd)             server ns
#   c0 10.10.1.10/24 ---- lan0 10.10.1.1   srv0 10.10.2.1 ---- s0 10.10.2.10/24
#      fd00:10:1::10/64        fd00:10:1::1     fd00:10:2::1        fd00:10:2::10/64
#                              wan0 203.0.113.1 ---- i0 203.0.113.254 (internet ns,
#                                                      host 198.51.100.7 on lo)
#
# The client/server/internet veth ends carry an XDP_PASS program: frames the router sends
# through XDP redirect or AF_XDP are dropped by a veth peer without one. Their TX checksum
# offload is off (see link()).
#
# usage: source lib.sh SVRD SVRCTL XDP_PASS_OBJECT EXAMPLES_DIR
set -euo pipefail

SVRD=$1
SVRCTL=$2
XDP_PASS_OBJ=$3
EXAMPLES=$4

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $(date +%T) $*"; }

[[ $(id -u) -eq 0 ]] || fail "needs root (namespaces, XDP, bpffs)"
for tool in ip nsenter curl iperf3 ping python3 ethtool; do
  command -v "$tool" >/dev/null || fail "missing tool '$tool' (ci/install-deps installs it)"
done
[[ -x $SVRD && -x $SVRCTL && -f $XDP_PASS_OBJ ]] || fail "build svrd, svrctl and the xdp pass object first"
# The system interpreter in isolated mode: a version manager's shim in PATH can take
# seconds per start, which skews every timing below.
PY=/usr/bin/python3
[[ -x $PY ]] || PY=$(command -v python3)
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ID="$$$((RANDOM % 100))"
CLIENT=sdc$ID ROUTER=sdr$ID SERVER=sds$ID INTERNET=sdi$ID
SVR_ROUTER=svrd$ID
WORK=$(mktemp -d /tmp/svrd-netns.XXXXXX)
CONFIG=$WORK/router.json
STATUS=$WORK/status.json
SVRD_LOG=$WORK/svrd.log
SVRD_EXTRA_ARGS=() # more svrd options, for start_svrd
SVRD_PID=
declare -a BACKGROUND=()

in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" -- "$@"; }
svrctl() { in_ns "$ROUTER" "$SVRCTL" "$@"; }
# bg_in_ns LOG NS COMMAND...: a background process in NS whose pid ($!, recorded for the
# cleanup) is the command itself (nsenter execs it), so killing it leaves no orphan.
bg_in_ns() {
  local log=$1 ns=$2; shift 2
  nsenter --net="/run/netns/$ns" -- "$@" >"$log" 2>&1 &
  BACKGROUND+=($!)
}

cleanup() {
  local rc=$?
  set +e
  [[ -n $SVRD_PID ]] && kill "$SVRD_PID" 2>/dev/null && wait "$SVRD_PID" 2>/dev/null
  for pid in "${BACKGROUND[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  if [[ -d /sys/fs/bpf/svr/$SVR_ROUTER ]]; then
    svrctl fastpath detach --router "$SVR_ROUTER" --unpin >/dev/null 2>&1 ||
      rm -rf "/sys/fs/bpf/svr/$SVR_ROUTER"
  fi
  for ns in "$CLIENT" "$ROUTER" "$SERVER" "$INTERNET"; do
    ip netns del "$ns" 2>/dev/null
  done
  # A failure inside link() can leave a veth end in the root namespace.
  ip link del "tmp$ID-a" 2>/dev/null
  ip link del "tmp$ID-b" 2>/dev/null
  if ((rc != 0)); then
    echo "--- svrd log:" >&2
    tail -n 40 "$SVRD_LOG" >&2 2>/dev/null
    echo "--- logs in $WORK kept for inspection" >&2
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT INT TERM

# veth pair: $1 ns/$2 dev (router side) <-> $3 ns/$4 dev (host side, gets the pass program)
link() {
  # Created in their namespaces: ifindexes from their counters (the fast path's interface
  # table has 4096 slots; the host's counter grows with every veth ever made there).
  ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
  ip -n "$1" link set "$2" up
  ip -n "$3" link set "$4" up
  in_ns "$3" ip link set dev "$4" xdpdrv obj "$XDP_PASS_OBJ" sec xdp
  # A veth hands a checksum left "partial" by the sender's offload to its peer as is; on a
  # wire it would be complete. The fast path updates checksums incrementally, so the hosts
  # must send complete ones, as a real NIC would put on the wire.
  in_ns "$3" ethtool -K "$4" tx off >/dev/null
}

setup_topology() {
  for ns in "$CLIENT" "$ROUTER" "$SERVER" "$INTERNET"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  link "$ROUTER" lan0 "$CLIENT" c0
  link "$ROUTER" srv0 "$SERVER" s0
  link "$ROUTER" wan0 "$INTERNET" i0
  ip -n "$ROUTER" addr add 10.10.1.1/24 dev lan0
  ip -n "$ROUTER" addr add fd00:10:1::1/64 dev lan0 nodad
  ip -n "$ROUTER" addr add 10.10.2.1/24 dev srv0
  ip -n "$ROUTER" addr add fd00:10:2::1/64 dev srv0 nodad
  ip -n "$ROUTER" addr add 203.0.113.1/24 dev wan0
  ip -n "$ROUTER" addr add 2001:db8:100::1/64 dev wan0 nodad
  ip -n "$CLIENT" addr add 10.10.1.10/24 dev c0
  ip -n "$CLIENT" addr add fd00:10:1::10/64 dev c0 nodad
  ip -n "$CLIENT" route add default via 10.10.1.1
  ip -n "$CLIENT" -6 route add default via fd00:10:1::1
  ip -n "$SERVER" addr add 10.10.2.10/24 dev s0
  ip -n "$SERVER" addr add fd00:10:2::10/64 dev s0 nodad
  ip -n "$SERVER" route add default via 10.10.2.1
  ip -n "$SERVER" -6 route add default via fd00:10:2::1
  ip -n "$INTERNET" addr add 203.0.113.254/24 dev i0
  ip -n "$INTERNET" addr add 198.51.100.7/32 dev lo
  # Only svr forwards: the router's kernel must not.
  in_ns "$ROUTER" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
}

# The example configuration as is; svrd gets a unique fast-path name with --router.
write_config() {
  cp "$EXAMPLES/single-router.json" "$CONFIG"
}

start_svrd() {
  local runs
  runs=$(grep -c "event=daemon.running" "$SVRD_LOG" 2>/dev/null || true)
  # nsenter (not the in_ns function) so that $! is svrd itself: nsenter execs it.
  nsenter --net="/run/netns/$ROUTER" -- "$SVRD" --config "$CONFIG" --router "$SVR_ROUTER" \
    --status-file "$STATUS" "${SVRD_EXTRA_ARGS[@]}" \
    >>"$SVRD_LOG" 2>&1 &
  SVRD_PID=$!
  for _ in $(seq 50); do
    (( $(grep -c "event=daemon.running" "$SVRD_LOG" 2>/dev/null || true) > ${runs:-0} )) && return 0
    kill -0 "$SVRD_PID" 2>/dev/null || fail "svrd exited during start: $(tail -5 "$SVRD_LOG")"
    sleep 0.1
  done
  fail "svrd did not start: $(tail -5 "$SVRD_LOG")"
}

stop_svrd() {
  kill -TERM "$SVRD_PID"
  wait "$SVRD_PID" || fail "svrd exited non-zero on SIGTERM"
  SVRD_PID=
}

# status_rewritten_since EPOCH_NS: the status file was written after that instant.
status_rewritten_since() {
  local written
  written=$(stat -c %.9Y "$STATUS" 2>/dev/null) || return 1
  (( ${written/./} > $1 ))
}

# counter NAME: value of one svrd counter from the status file (0 when absent). Waits for
# a rewrite after the call (svrd writes it every second; a loaded machine can be late), so
# the value includes everything counted before the call.
counter() {
  local since tries=0
  since=$(date +%s%N)
  until status_rewritten_since "$since"; do
    ((++tries <= 100)) || fail "status file not rewritten within 10 s"
    sleep 0.1
  done
  "$PY" -I -c 'import json,sys; print(json.load(open(sys.argv[1]))["counters"].get(sys.argv[2], 0))' "$STATUS" "$1"
}

sessions_json() { svrctl session list --router "$SVR_ROUTER" --json; }

# session_count FILTER: entries of the session table matching a python expression over `s`.
session_count() {
  sessions_json | "$PY" -I -c '
import json, sys
sessions = json.load(sys.stdin)
print(sum(1 for s in sessions if eval(sys.argv[1])))' "$1"
}

# wait_for SECONDS COMMAND...: polls until COMMAND succeeds.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@"; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}
