#!/usr/bin/env bash
# The SVR demo fabric in network namespaces (sourced by ci/demo and the fabric tests).
# Interface names and addresses are those of examples/fabric-router-{a,b}.json.
#
#  eng client   10.1.1.10 fd00:1:1::10 --- lan-eng   |          | wan1 192.0.2.1   --[br1]-- wan1 192.0.2.2    |          | srv0 --- server 10.2.1.10 (HTTP :80,
#  guest client 10.1.2.10 fd00:1:2::10 --- lan-guest | router A | wan2 2001:db8:2::1 --[br2]-- wan2 2001:db8:2::2 | router B |        iperf3 :5201) 10.2.1.11 (UDP echo :7)
#                                                                    (WAN namespace: two bridged links, tcpdump here)
#
# Both routers run svrd with forwarding off in their kernels: only svr forwards. The hosts' veth
# ends carry an XDP_PASS program (frames redirected by XDP are dropped by a veth peer without
# one) and send complete checksums (a veth passes "partial" ones on).
#
# Before sourcing set: FABRIC (name prefix, unique), SVRD, SVRCTL, XDP_PASS_OBJ, EXAMPLES,
# FABRIC_WORK (a directory for configs, logs and status files).

in_ns() { local ns=$1; shift; nsenter --net="/run/netns/$ns" -- "$@"; }

NS_ENG=$FABRIC-eng NS_GUEST=$FABRIC-guest NS_A=$FABRIC-a NS_WAN=$FABRIC-wan
NS_B=$FABRIC-b NS_SRV=$FABRIC-srv NS_C=$FABRIC-c
FABRIC_NAMESPACES=("$NS_ENG" "$NS_GUEST" "$NS_A" "$NS_WAN" "$NS_B" "$NS_SRV")
FABRIC_ROUTERS=(a b)
FABRIC_PIDS=()
# Router pin names under /sys/fs/bpf/svr/.
PIN_A=$FABRIC-a PIN_B=$FABRIC-b

# fabric_link NS_ROUTER DEV NS_HOST HOSTDEV: a veth pair; the host end gets the pass program.
fabric_link() {
  # Created in their namespaces: ifindexes from their counters (the fast path's interface
  # table has 4096 slots; the host's counter grows with every veth ever made there).
  ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
  ip -n "$1" link set "$2" up
  ip -n "$3" link set "$4" up
  in_ns "$3" ip link set dev "$4" xdpdrv obj "$XDP_PASS_OBJ" sec xdp
  in_ns "$3" ethtool -K "$4" tx off >/dev/null
}

fabric_addresses() {
  local ns=$1 dev=$2; shift 2
  for address in "$@"; do
    if [[ $address == *:* ]]; then
      ip -n "$ns" addr add "$address" dev "$dev" nodad
    else
      ip -n "$ns" addr add "$address" dev "$dev"
    fi
  done
}

fabric_topology() {
  for ns in "${FABRIC_NAMESPACES[@]}"; do
    ip netns add "$ns"
    ip -n "$ns" link set lo up
  done
  fabric_link "$NS_A" lan-eng "$NS_ENG" c0
  fabric_link "$NS_A" lan-guest "$NS_GUEST" c0
  fabric_link "$NS_A" wan1 "$NS_WAN" a-w1
  fabric_link "$NS_A" wan2 "$NS_WAN" a-w2
  fabric_link "$NS_B" wan1 "$NS_WAN" b-w1
  fabric_link "$NS_B" wan2 "$NS_WAN" b-w2
  fabric_link "$NS_B" srv0 "$NS_SRV" s0
  for link in 1 2; do
    ip -n "$NS_WAN" link add "br$link" type bridge
    ip -n "$NS_WAN" link set "a-w$link" master "br$link"
    ip -n "$NS_WAN" link set "b-w$link" master "br$link"
    ip -n "$NS_WAN" link set "br$link" up
  done
  fabric_addresses "$NS_A" lan-eng 10.1.1.1/24 fd00:1:1::1/64
  fabric_addresses "$NS_A" lan-guest 10.1.2.1/24 fd00:1:2::1/64
  fabric_addresses "$NS_A" wan1 192.0.2.1/24 2001:db8:1::1/64
  fabric_addresses "$NS_A" wan2 198.51.100.1/24 2001:db8:2::1/64
  fabric_addresses "$NS_B" wan1 192.0.2.2/24 2001:db8:1::2/64
  fabric_addresses "$NS_B" wan2 198.51.100.2/24 2001:db8:2::2/64
  fabric_addresses "$NS_B" srv0 10.2.1.1/24 fd00:2:1::1/64
  fabric_addresses "$NS_ENG" c0 10.1.1.10/24 fd00:1:1::10/64
  fabric_addresses "$NS_GUEST" c0 10.1.2.10/24 fd00:1:2::10/64
  fabric_addresses "$NS_SRV" s0 10.2.1.10/24 10.2.1.11/24 fd00:2:1::10/64 fd00:2:1::11/64
  ip -n "$NS_ENG" route add default via 10.1.1.1
  ip -n "$NS_ENG" -6 route add default via fd00:1:1::1
  ip -n "$NS_GUEST" route add default via 10.1.2.1
  ip -n "$NS_GUEST" -6 route add default via fd00:1:2::1
  ip -n "$NS_SRV" route add default via 10.2.1.1
  ip -n "$NS_SRV" -6 route add default via fd00:2:1::1
  for ns in "$NS_A" "$NS_B"; do
    in_ns "$ns" sysctl -qw net.ipv4.ip_forward=0 net.ipv6.conf.all.forwarding=0
  done
}

# fabric_bg LOG NS COMMAND...: a background process in NS, killed by fabric_down.
fabric_bg() {
  local log=$1 ns=$2; shift 2
  nsenter --net="/run/netns/$ns" -- "$@" >"$log" 2>&1 &
  FABRIC_PIDS+=($!)
}

fabric_servers() {
  local here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  mkdir -p "$FABRIC_WORK/www"
  echo "hello from the server behind router B (svr-fabric-marker)" >"$FABRIC_WORK/www/index.html"
  head -c 1048576 /dev/urandom >"$FABRIC_WORK/www/blob"
  (cd "$FABRIC_WORK/www" && fabric_bg "$FABRIC_WORK/http.log" "$NS_SRV" \
    python3 "$here/../svrd/http_server.py" :: 80)
  fabric_bg "$FABRIC_WORK/echo.log" "$NS_SRV" python3 "$here/udp_echo.py" 7 10.2.1.11 fd00:2:1::11
  for address in 10.2.1.10 10.2.1.11 fd00:2:1::10 fd00:2:1::11; do
    # One per address: a UDP test answers from the address it was sent to.
    fabric_bg "$FABRIC_WORK/iperf3-$address.log" "$NS_SRV" iperf3 -s -B "$address"
  done
  for _ in $(seq 100); do
    in_ns "$NS_SRV" ss -ltn | grep -q ':80 ' && in_ns "$NS_SRV" ss -ltn | grep -q ':5201 ' &&
      in_ns "$NS_SRV" ss -lun | grep -q ':7 ' && return 0
    sleep 0.1
  done
  echo "fabric: servers did not start" >&2
  return 1
}

fabric_router_ns() {
  case $1 in a) echo "$NS_A" ;; b) echo "$NS_B" ;; c) echo "$NS_C" ;; esac
}

# fabric_start_svrd a|b|c: (re)starts one router's svrd; waits until it writes its status.
fabric_start_svrd() {
  local which=$1 ns pin=$FABRIC-$1
  ns=$(fabric_router_ns "$which")
  rm -f "$FABRIC_WORK/status-$which.json"
  nsenter --net="/run/netns/$ns" -- "$SVRD" --config "$FABRIC_WORK/router-$which.json" \
    --router "$pin" --status-file "$FABRIC_WORK/status-$which.json" \
    >>"$FABRIC_WORK/svrd-$which.log" 2>&1 &
  eval "SVRD_PID_$which=$!"
  for _ in $(seq 100); do
    [[ -s $FABRIC_WORK/status-$which.json ]] && return 0
    kill -0 "$(eval echo "\$SVRD_PID_$which")" 2>/dev/null || break
    sleep 0.1
  done
  echo "fabric: svrd of router $which did not start:" >&2
  tail -n 20 "$FABRIC_WORK/svrd-$which.log" >&2
  return 1
}

# fabric_stop_svrd a|b|c [SIGNAL]
fabric_stop_svrd() {
  local pid
  pid=$(eval echo "\${SVRD_PID_$1:-}")
  [[ -n $pid ]] || return 0
  kill "-${2:-TERM}" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  eval "SVRD_PID_$1="
}

fabric_configs() {
  cp "$EXAMPLES/fabric-router-a.json" "$FABRIC_WORK/router-a.json"
  cp "$EXAMPLES/fabric-router-b.json" "$FABRIC_WORK/router-b.json"
}

fabric_up() {
  mkdir -p "$FABRIC_WORK"
  mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
  fabric_topology
  [[ -f $FABRIC_WORK/router-a.json ]] || fabric_configs
  fabric_servers
  fabric_start_svrd a
  fabric_start_svrd b
}

fabric_down() {
  set +e
  fabric_stop_captures
  for router in "${FABRIC_ROUTERS[@]}"; do
    fabric_stop_svrd "$router"
  done
  for pid in "${FABRIC_PIDS[@]}"; do
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
  done
  FABRIC_PIDS=()
  for ns in "${FABRIC_NAMESPACES[@]}"; do
    [[ -e /run/netns/$ns ]] && ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
  done
  for router in "${FABRIC_ROUTERS[@]}"; do
    local pin=$FABRIC-$router
    if [[ -d /sys/fs/bpf/svr/$pin ]]; then
      in_ns "$(fabric_router_ns "$router")" "$SVRCTL" fastpath detach --router "$pin" \
        --unpin >/dev/null 2>&1 || rm -rf "/sys/fs/bpf/svr/$pin"
    fi
  done
  for ns in "${FABRIC_NAMESPACES[@]}"; do
    ip netns del "$ns" 2>/dev/null
  done
}

# fabric_capture BRIDGE FILE: tcpdump on a WAN bridge into FILE (pcap), packet by packet;
# returns once it listens. fabric_stop_captures ends every capture (fabric_down too).
FABRIC_CAPTURES=()
fabric_capture() {
  nsenter --net="/run/netns/$NS_WAN" -- tcpdump -i "$1" --immediate-mode -U -n -s 0 -w "$2" \
    2>"$2.log" &
  FABRIC_CAPTURES+=($!)
  for _ in $(seq 50); do grep -q "listening on" "$2.log" && return 0; sleep 0.1; done
  echo "fabric: tcpdump on $1 did not start" >&2
  return 1
}
fabric_stop_captures() {
  sleep 0.5
  for pid in "${FABRIC_CAPTURES[@]}"; do
    kill -INT "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null || true
  done
  FABRIC_CAPTURES=()
}

# For test scripts: `trap fabric_test_cleanup EXIT INT TERM` tears the fabric down and keeps
# FABRIC_WORK (with the routers' log tails printed) only when the script failed.
fabric_test_cleanup() {
  local rc=$?
  set +e
  fabric_down
  if ((rc != 0)); then
    for r in "${FABRIC_ROUTERS[@]}"; do
      echo "--- svrd $r log:" >&2
      tail -n 30 "$FABRIC_WORK/svrd-$r.log" >&2
    done
    echo "--- logs in $FABRIC_WORK kept for inspection" >&2
  else
    rm -rf "$FABRIC_WORK"
  fi
  exit $rc
}

# fabric_counter a|b|c NAME: one svrd counter from its status file, after a fresh rewrite.
fabric_counter() {
  local file=$FABRIC_WORK/status-$1.json since tries=0 written
  since=$(date +%s%N)
  while :; do
    written=$(stat -c %.9Y "$file" 2>/dev/null || echo 0)
    (( ${written/./} > since )) && break
    ((++tries <= 100)) || { echo "status of router $1 not rewritten" >&2; return 1; }
    sleep 0.1
  done
  python3 -I -c 'import json,sys; print(json.load(open(sys.argv[1]))["counters"].get(sys.argv[2], 0))' "$file" "$2"
}
