#!/usr/bin/env bash
# Runs `ci/demo --once` against an existing build and checks its output: curl (IPv4, IPv6)
# and the UDP echo crossed the SVR fabric, the guest was refused at router B, both routers'
# session tables show the waypoint translation and XDP-forwarded packets, and bpftool printed
# the pinned session map with named fields.
set -euo pipefail
source_dir=$1
build_dir=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT

name=svrdemo-t$$
if ! SVR_BUILD_DIR=$build_dir SVR_DEMO_NAME=$name "$source_dir/ci/demo" --once >"$out" 2>&1; then
  cat "$out"
  echo "FAIL: ci/demo --once exited non-zero"
  exit 1
fi
cat "$out"

expect() {
  grep -qE "$1" "$out" || { echo "FAIL: demo output lacks: $1"; exit 1; }
}
expect '^hello from the server behind router B'
expect '^ping over svr$'
expect 'refused at router B'
# Router A translated the client's sessions to waypoints (both families on wan1, the first
# path in priority order: IPv6 sessions cross IPv4 waypoints) and XDP forwarded packets of
# them; router B restored the original addresses towards the server.
expect '^ +[0-9]+ eng\.corp +http +lan-eng +tcp +10\.1\.1\.10:[0-9]+ +10\.2\.1\.10:80 +-> +192\.0\.2\.1:[0-9]+ +192\.0\.2\.2:[0-9]+ +wan1 +[1-9][0-9]* '
expect '^ +[0-9]+ eng\.corp +http +lan-eng +tcp +\[fd00:1:1::10\]:[0-9]+ +\[fd00:2:1::10\]:80 +-> +192\.0\.2\.1:[0-9]+ +192\.0\.2\.2:[0-9]+ +wan1 +[1-9][0-9]* '
expect '^ +[0-9]+ eng\.corp +http +wan1 +tcp +192\.0\.2\.1:[0-9]+ +192\.0\.2\.2:[0-9]+ +-> +\[fd00:1:1::10\]:[0-9]+ +\[fd00:2:1::10\]:80 +srv0 +[1-9][0-9]* '
expect '^ +[0-9]+ eng\.corp +http +wan1 +tcp +192\.0\.2\.1:[0-9]+ +192\.0\.2\.2:[0-9]+ +-> +10\.1\.1\.10:[0-9]+ +10\.2\.1\.10:80 +srv0 +[1-9][0-9]* '
expect '^ +[0-9]+ eng\.corp +udp-echo +srv0 +udp +10\.2\.1\.11:7 '
expect '^router-b +1 wan1 +mpls +192\.0\.2\.2 +10 up$'
expect '"ingress_ifindex": '
expect '"new_dst_addr": '
expect '"session_id": [0-9]+,'
expect '"state": 2,'
# Nothing may remain of the demo.
if ip netns list | grep -q "^$name-"; then
  echo "FAIL: demo namespaces left behind"
  exit 1
fi
echo "PASS: demo"
