#!/bin/sh
# usage: check_config_rejects.sh "CHECKER [ARGS]" FILE EXPECTED_PATH
# Passes when CHECKER exits non-zero on FILE and names EXPECTED_PATH in its output.
set -u
checker=$1 file=$2 expected=$3
case $checker in
  */svrd) output=$("$checker" --check-config "$file" 2>&1) ;;
  *) output=$($checker "$file" 2>&1) ;;
esac
status=$?
printf '%s\n' "$output"
if [ "$status" -eq 0 ]; then
  echo "FAIL: $file was accepted" >&2
  exit 1
fi
if ! printf '%s\n' "$output" | grep -qF -- "$expected"; then
  echo "FAIL: the output does not name $expected" >&2
  exit 1
fi
echo "PASS: rejected (exit $status), naming $expected"
