#!/usr/bin/env bash
# Deny-all policy through svrd: 4 tenants (by source prefix) x 4 TCP services = 16 pairs.
# Exactly the 4 allowed pairs connect (curl gets HTTP 200); the 12 others get no session,
# time out, and are counted by svrd as policy drops (no matching policy, or an explicit
# deny that wins over an allow of the same tenant).
# usage: svrd_policy_matrix.sh SVRD SVRCTL XDP_PASS_OBJECT EXAMPLES_DIR
source "$(dirname "$0")/lib.sh" "$@"

setup_topology
for host in 11 12 13 14; do
  ip -n "$CLIENT" addr add "10.10.1.$host/24" dev c0
done
cat >"$CONFIG" <<JSON
{
  "svr:config": {
    "authority": { "name": "lab" },
    "tenants": { "tenant": [
      { "name": "eng", "source-prefix": ["10.10.1.11/32"] },
      { "name": "sales", "source-prefix": ["10.10.1.12/32"] },
      { "name": "guest", "source-prefix": ["10.10.1.13/32"] },
      { "name": "ops", "source-prefix": ["10.10.1.14/32"] }
    ] },
    "services": { "service": [
      { "name": "svc-a", "address": ["10.10.2.10/32"],
        "transport": [ { "protocol": "tcp", "port-range": [ { "start": 8001 } ] } ],
        "access-policy": [ { "source": "eng" } ] },
      { "name": "svc-b", "address": ["10.10.2.10/32"],
        "transport": [ { "protocol": "tcp", "port-range": [ { "start": 8002 } ] } ],
        "access-policy": [ { "source": "sales" } ] },
      { "name": "svc-c", "address": ["10.10.2.10/32"],
        "transport": [ { "protocol": "tcp", "port-range": [ { "start": 8003 } ] } ],
        "access-policy": [ { "source": "eng" }, { "source": "guest" } ] },
      { "name": "svc-d", "address": ["10.10.2.10/32"],
        "transport": [ { "protocol": "tcp", "port-range": [ { "start": 8004 } ] } ],
        "access-policy": [ { "source": "ops" }, { "source": "10.10.1.14/32", "permission": "deny" } ] }
    ] },
    "service-routes": { "service-route": [
      { "name": "a", "service": "svc-a", "next-hop": { "interface": "srv0" } },
      { "name": "b", "service": "svc-b", "next-hop": { "interface": "srv0" } },
      { "name": "c", "service": "svc-c", "next-hop": { "interface": "srv0" } },
      { "name": "d", "service": "svc-d", "next-hop": { "interface": "srv0" } }
    ] },
    "router": { "name": "$SVR_ROUTER", "interface": [
      { "name": "lan0", "address": ["10.10.1.1/24"] },
      { "name": "srv0", "address": ["10.10.2.1/24"] },
      { "name": "wan0", "address": ["203.0.113.1/24"] }
    ] }
  }
}
JSON
"$SVRD" --check-config "$CONFIG" >/dev/null || fail "matrix configuration invalid"
start_svrd
for port in 8001 8002 8003 8004; do
  bg_in_ns "$WORK/http-$port.log" "$SERVER" "$PY" -I "$HERE/http_server.py" 10.10.2.10 "$port"
done
servers_ready() {
  local port
  for port in 8001 8002 8003 8004; do
    in_ns "$SERVER" curl -s -o /dev/null "http://10.10.2.10:$port/" || return 1
  done
}
wait_for 10 servers_ready || fail "http servers did not start: $(in_ns "$SERVER" ss -tlnp; in_ns "$SERVER" ip -br addr)"

declare -A TENANT_OF=([11]=eng [12]=sales [13]=guest [14]=ops)
declare -A SERVICE_OF=([8001]=svc-a [8002]=svc-b [8003]=svc-c [8004]=svc-d)
ALLOWED=" eng/svc-a sales/svc-b eng/svc-c guest/svc-c "
step "16 tenant x service pairs"
declare -a CURLS=()
for host in 11 12 13 14; do
  for port in 8001 8002 8003 8004; do
    ( code=$(in_ns "$CLIENT" curl -s --interface "10.10.1.$host" --connect-timeout 2 -m 3 \
               -o /dev/null -w '%{http_code}' "http://10.10.2.10:$port/") || true
      echo "${code:-000}" >"$WORK/result-$host-$port" ) &
    CURLS+=($!)
  done
done
# Each run is bounded by curl -m 3; a finished subshell has written its result.
wait "${CURLS[@]}"
connected=0 refused=0
for host in 11 12 13 14; do
  for port in 8001 8002 8003 8004; do
    pair="${TENANT_OF[$host]}/${SERVICE_OF[$port]}"
    code=$(cat "$WORK/result-$host-$port")
    if [[ $ALLOWED == *" $pair "* ]]; then
      [[ $code == 200 ]] || fail "$pair is allowed but got '$code'"
      connected=$((connected + 1))
    else
      [[ $code == 000 ]] || fail "$pair is denied but got '$code'"
      refused=$((refused + 1))
    fi
    echo "  $pair: $code"
  done
done
((connected == 4 && refused == 12)) || fail "matrix: $connected connected, $refused refused"

step "every refused pair is a counted drop, and no session exists for one"
no_match=$(counter drop.policy.no-matching-policy)
denied=$(counter drop.policy.denied-by-policy)
# Each refused connect is at least its SYN (curl's retransmissions count again).
((no_match >= 11)) || fail "no-matching-policy drops: $no_match (want >= 11)"
((denied >= 1)) || fail "denied-by-policy drops: $denied (want >= 1)"
(( $(counter sessions.created) == 4 )) || fail "sessions created: $(counter sessions.created), want 4"
(( $(session_count 's["in_interface"] == "lan0" and s["src"] in ("10.10.1.12", "10.10.1.13", "10.10.1.14") and s["dport"] not in (8002, 8003)') == 0 )) ||
  fail "a denied pair has a session: $(sessions_json)"
stop_svrd
echo "PASS ($connected allowed pairs connected, $refused refused: $no_match + $denied drops)"
