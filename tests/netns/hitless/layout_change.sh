#!/usr/bin/env bash
# A map layout change across versions, end to end: a "sessions" map pinned by an older svr
# (40-byte keys) under the router's pin root. svrd must refuse to start, naming the map, both
# layouts and the way out; svrctl must refuse to read it; the old map stays as it was (never
# silently misread or replaced).
# usage: layout_change.sh SVRD SVRCTL EXAMPLES_DIR
set -euo pipefail
SVRD=$1
SVRCTL=$2
EXAMPLES=$3

fail() { echo "FAIL: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "needs root (bpffs, network namespace)"
command -v bpftool >/dev/null || fail "missing tool 'bpftool' (ci/install-deps installs it)"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

ID="$$$((RANDOM % 100))"
NS=svrlay$ID
ROUTER=svrlayout$ID
PIN=/sys/fs/bpf/svr/$ROUTER
WORK=$(mktemp -d /tmp/svr-layout.XXXXXX)
cleanup() {
  local rc=$?
  set +e
  rm -rf "$PIN"
  ip netns del "$NS" 2>/dev/null
  if ((rc != 0)); then
    cat "$WORK"/*.log >&2 2>/dev/null
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT INT TERM

ip netns add "$NS"
mkdir -p "$PIN"
bpftool map create "$PIN/sessions" type hash key 40 value 112 entries 16 name sessions
old_id=$(bpftool -j map show pinned "$PIN/sessions" | python3 -I -c 'import json,sys; print(json.load(sys.stdin)["id"])')

set +e
nsenter --net="/run/netns/$NS" -- "$SVRD" --config "$EXAMPLES/single-router.json" \
  --router "$ROUTER" --status-file "$WORK/status.json" >"$WORK/svrd.log" 2>&1
svrd_rc=$?
set -e
((svrd_rc != 0)) || fail "svrd started over a sessions map of another layout"
line=$(grep "event=" "$WORK/svrd.log" | grep "another layout" | head -1) ||
  fail "svrd did not say why it refused: $(tail -3 "$WORK/svrd.log")"
for expected in "map 'sessions'" "key 40 B" "array key 4 B value 168 B" "--unpin"; do
  [[ $line == *"$expected"* ]] || fail "refusal does not mention '$expected': $line"
done
echo "svrd refused (exit $svrd_rc): $line"

set +e
"$SVRCTL" session list --router "$ROUTER" >"$WORK/svrctl.log" 2>&1
svrctl_rc=$?
set -e
((svrctl_rc != 0)) || fail "svrctl read a sessions map of another layout"
grep -q "another layout" "$WORK/svrctl.log" || fail "svrctl did not say why: $(cat "$WORK/svrctl.log")"

new_id=$(bpftool -j map show pinned "$PIN/sessions" | python3 -I -c 'import json,sys; m=json.load(sys.stdin); print(m["id"], m["bytes_key"])')
[[ $new_id == "$old_id 40" ]] || fail "the old map was replaced or changed (id/key now $new_id, was $old_id 40)"
[[ $(ls "$PIN") == sessions ]] || fail "svrd pinned maps next to the old one: $(ls "$PIN")"
echo "PASS"
