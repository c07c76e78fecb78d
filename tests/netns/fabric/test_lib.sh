#!/usr/bin/env bash
# The fabric tests' shared start (sourced first): failing, step lines, and the checks that
# the test runs as root with every tool it names.

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $(date +%T) $*"; }

# fabric_require TOOL...: root, and each tool on PATH.
fabric_require() {
  [[ $(id -u) -eq 0 ]] || fail "needs root (namespaces, XDP, bpffs)"
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || fail "missing tool '$tool' (ci/install-deps installs it)"
  done
}
