#!/usr/bin/env bash
# `cmake --install BUILD --prefix /usr` into a DESTDIR installs exactly the expected files,
# and the installed systemd units pass `systemd-analyze verify` (and `security`, offline)
# against that tree. No root needed: nothing leaves the temporary directory.
#
# svr-conductor does not exist yet: its unit is installed and verified, and the only
# complaint allowed is systemd-analyze's "Command /usr/bin/svr-conductor is not executable".
# Once a build installs bin/svr-conductor, that unit must verify clean like svrd's.
# usage: install_test.sh BUILD_DIR
set -euo pipefail
BUILD=$1

fail() { echo "FAIL: $*" >&2; exit 1; }
command -v systemd-analyze >/dev/null || fail "missing tool 'systemd-analyze' (package systemd)"
WORK=$(mktemp -d /tmp/svr-install.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root

DESTDIR=$ROOT cmake --install "$BUILD" --prefix /usr >"$WORK/install.log" 2>&1 ||
  fail "cmake --install failed: $(tail -5 "$WORK/install.log")"

expected="usr/bin/svrctl
usr/bin/svrd
usr/lib/systemd/system/svr-conductor.service
usr/lib/systemd/system/svrd@.service
usr/share/doc/svr/README.md
usr/share/doc/svr/examples/README.md
usr/share/doc/svr/examples/fabric-router-a.json
usr/share/doc/svr/examples/fabric-router-b.json
usr/share/doc/svr/examples/single-router.json
usr/share/svr/yang/svr-types.yang
usr/share/svr/yang/svr.yang"
conductor_built=no
if [[ -e $ROOT/usr/bin/svr-conductor ]]; then
  conductor_built=yes
  expected=$(printf '%s\nusr/bin/svr-conductor\n' "$expected" | sort)
fi
installed=$(cd "$ROOT" && find . -type f -o -type l | sed 's|^\./||' | LC_ALL=C sort)
expected=$(LC_ALL=C sort <<<"$expected")
[[ $installed == "$expected" ]] ||
  fail "installed files differ from the expected list (< expected, > installed):
$(diff <(echo "$expected") <(echo "$installed") || true)"
echo "installed: $(wc -l <<<"$installed") files as expected"

for binary in svrd svrctl; do
  [[ -x $ROOT/usr/bin/$binary ]] || fail "usr/bin/$binary is not executable"
done
"$ROOT/usr/bin/svrd" --check-config "$ROOT/usr/share/doc/svr/examples/single-router.json" \
  >/dev/null || fail "installed svrd rejects the installed example configuration"
unit=$ROOT/usr/lib/systemd/system/svrd@.service
grep -q "^ExecStart=/usr/bin/svrd --config /etc/svr/%i.json --router %i" "$unit" ||
  fail "svrd@.service does not run /usr/bin/svrd for /etc/svr/%i.json: $(grep ^ExecStart "$unit")"
if grep -q "@[A-Z_]*@" "$ROOT"/usr/lib/systemd/system/*.service; then
  fail "unsubstituted template variables: $(grep -h "@[A-Z_]*@" "$ROOT"/usr/lib/systemd/system/*)"
fi

# A root systemd-analyze can resolve against: the host's own units (sysinit.target ...)
# beside ours, /bin and /lib as on a merged-/usr Debian, and kill for ExecReload.
ln -s usr/bin "$ROOT/bin"
ln -s usr/lib "$ROOT/lib"
cp /usr/bin/kill "$ROOT/usr/bin/kill"
for host_unit in /usr/lib/systemd/system/*; do
  [[ -e $ROOT/usr/lib/systemd/system/$(basename "$host_unit") ]] ||
    cp -a "$host_unit" "$ROOT/usr/lib/systemd/system/"
done

# verify UNIT: systemd-analyze verify's output (it warns about unknown keys and bad values
# but still exits 0, so any output counts).
verify() { systemd-analyze verify --root="$ROOT" "$1" 2>&1 || true; }

out=$(verify svrd@edge1.service)
[[ -z $out ]] || fail "systemd-analyze verify svrd@edge1.service:
$out"
echo "systemd-analyze verify svrd@edge1.service: clean"

out=$(verify svr-conductor.service)
if [[ $conductor_built == yes ]]; then
  [[ -z $out ]] || fail "systemd-analyze verify svr-conductor.service:
$out"
else
  missing="svr-conductor.service: Command /usr/bin/svr-conductor is not executable: No such file or directory"
  [[ $out == "$missing" ]] || fail "systemd-analyze verify svr-conductor.service: expected only
  $missing
got:
$out"
  echo "systemd-analyze verify svr-conductor.service: only the missing binary (not built yet)"
fi

# Exposure (0 safest .. 10): both units stay below 4.0, "OK" in systemd's words.
for name in svrd@edge1.service svr-conductor.service; do
  systemd-analyze security --offline=yes --root="$ROOT" --threshold=40 "$name" >"$WORK/security" 2>&1 ||
    fail "systemd-analyze security $name above 4.0: $(tail -1 "$WORK/security")"
  tail -1 "$WORK/security"
done
echo "PASS"
