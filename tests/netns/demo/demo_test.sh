#!/usr/bin/env bash
# Runs `ci/demo --once` against an existing build and checks its output: curl and the UDP
# exchange crossed the router, the session table shows the XDP fast path counted them, and
# bpftool printed the pinned session map with named fields.
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
expect '^hello from the server behind svr$'
expect '^reply from 10\.10\.1\.100:7: ping over svr$'
# Both directions of the TCP session were forwarded by XDP (packets > 0 on each entry).
expect '^ +1 r0 +tcp +10\.10\.1\.2:45000 +10\.10\.1\.100:80 +-> +10\.10\.2\.1:40000 +10\.10\.2\.2:8080 +r1 +[1-9][0-9]* '
expect '^ +1 r1 +tcp +10\.10\.2\.2:8080 +10\.10\.2\.1:40000 +-> +10\.10\.1\.100:80 +10\.10\.1\.2:45000 +r0 +[1-9][0-9]* '
expect '^ +2 r0 +udp .* r1 +1 '
expect '"ingress_ifindex": '
expect '"new_dst_addr": '
expect '"session_id": [12],'
# Nothing may remain of the demo.
if ip netns list | grep -q "^$name-"; then
  echo "FAIL: demo namespaces left behind"
  exit 1
fi
echo "PASS: demo"
