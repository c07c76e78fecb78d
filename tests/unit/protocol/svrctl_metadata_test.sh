#!/usr/bin/env bash
# svrctl metadata decode/encode from the outside: encode(decode(x)) == x for the digest's
# vectors (hex argument and stdin), named fields present, bad input exits non-zero.
set -euo pipefail
svrctl=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

v81=4c48dbc6ddf6670c1014003800100004000000010002000dc0a8010a080808089c4000351100070004626c7565000a0007646e732d737663000600100f1e2d3c4b5a69788796a5b4c3d2e1f0
v84=4c48dbc6ddf6670c100c0000

fail() { echo "FAIL: $*" >&2; exit 1; }

for vector in "$v81" "$v84" "${v81}abcdef"; do
  "$svrctl" metadata decode "$vector" >"$work/decoded.json"
  back=$("$svrctl" metadata encode <"$work/decoded.json")
  [[ "$back" == "$vector" ]] || fail "round trip of $vector gave $back"
done

echo "$v81" | "$svrctl" metadata decode --compact >"$work/stdin.json"
grep -q '"name":"forward_context_ipv4","source":"192.168.1.10","destination":"8.8.8.8"' "$work/stdin.json" \
  || fail "named fields missing: $(cat "$work/stdin.json")"
back=$("$svrctl" metadata encode --file "$work/stdin.json")
[[ "$back" == "$v81" ]] || fail "encode --file gave $back"

if "$svrctl" metadata decode 4c48dbc6ddf6670c200c0000 2>"$work/err"; then fail "version 2 accepted"; fi
grep -q "unsupported version" "$work/err" || fail "error not named: $(cat "$work/err")"
if echo '{"payload_tlvs":[{"type":7,"value":5}]}' | "$svrctl" metadata encode 2>"$work/err"; then fail "bad JSON accepted"; fi
grep -q "payload_tlvs\[0\].value" "$work/err" || fail "JSON path not named: $(cat "$work/err")"
echo "svrctl metadata: ok"
