#!/usr/bin/env bash
# The test command (README): builds once, runs every test assembly, then reruns the kernel and engine
# tests with AVX-512, AVX2 and all SIMD switched off so that every dispatch path is exercised, end
# to end as well. Ends with one line
# "N passed, N failed, N skipped" summed over all runs, and exits non-zero if any test failed.
set -uo pipefail
cd "$(dirname "$0")"

log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0

dotnet build SparCode.Engine.sln -c Release --nologo -v quiet 2>&1 | tee -a "$log" | grep -E "error|Warn|warn" || true
if [ "${PIPESTATUS[0]}" -ne 0 ]; then
  echo "build failed"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

run() {
  echo "== $* =="
  env "$@" 2>&1 | tee -a "$log" | grep -E "^(Passed|Failed)!|\[FAIL\]|Error Message|^\s+(Assert|Expected|Actual)" || true
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
}

common=(dotnet test SparCode.Engine.sln -c Release --no-build --nologo --blame-hang-timeout 5m)
run "${common[@]}"
for switch in DOTNET_EnableAVX512=0 DOTNET_EnableAVX2=0 DOTNET_EnableHWIntrinsic=0; do
  for project in tests/SparCode.Kernels.Tests tests/SparCode.Tests; do
    run "$switch" dotnet test "$project" -c Release --no-build --nologo --blame-hang-timeout 5m
  done
done

# Sum the per-assembly summary lines: "Passed!  - Failed: 0, Passed: 12, Skipped: 1, Total: 13, ..."
read -r passed failed skipped < <(grep -E "^(Passed|Failed)!" "$log" | sed -E 's/.*Failed: *([0-9]+), Passed: *([0-9]+), Skipped: *([0-9]+).*/\2 \1 \3/' \
  | awk '{p+=$1; f+=$2; s+=$3} END {print p+0, f+0, s+0}')
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ]; then
  status=1
  failed=1
fi
[ "$failed" -eq 0 ] || status=1
echo "$passed passed, $failed failed, $skipped skipped"
exit $status
