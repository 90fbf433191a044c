#!/usr/bin/env bash
# The test command (README). Builds every project git tracks (so a half-added project in a working
# tree cannot break the run), runs every test assembly, then reruns the kernel and engine tests with
# AVX-512, AVX2 and all SIMD switched off so that every dispatch path is exercised, end to end as
# well. Ends with one line "N passed, N failed, N skipped" summed over all runs, and exits non-zero
# if any test failed. A failed benchmark dry run counts as one failed check; the short AFL++ fuzz smoke
# run counts as one check, passed or failed.
set -uo pipefail
cd "$(dirname "$0")"

log=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$log" "$work"' EXIT
status=0

mapfile -t projects < <(git ls-files 'src/*.csproj' 'kernels/*.csproj' 'tests/*.csproj' 'perf/*.csproj')
mapfile -t test_projects < <(git ls-files 'tests/*.csproj')
dotnet new sln --format sln -n ci -o "$work" >/dev/null
dotnet sln "$work/ci.sln" add "${projects[@]}" >/dev/null
dotnet build "$work/ci.sln" -c Release --nologo -v quiet >"$work/build.log" 2>&1
built=$?
grep -E "error|warn" "$work/build.log" | sort -u
if [ "$built" -ne 0 ] || [ ! -f "$work/ci.sln" ]; then
  tail -20 "$work/build.log"
  echo "build failed"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

run() {
  echo "== $* =="
  env "$@" 2>&1 | tee -a "$log" | grep -E "^(Passed|Failed)!|\[FAIL\]|Error Message|^\s+(Assert|Expected|Actual)" || true
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
}

# The C ABI's tests (tests/SparCode.Native.Tests) load the NativeAOT library: build it first.
echo "== native library (src/SparCode.Native/build.sh) =="
if ! bash src/SparCode.Native/build.sh >"$work/native.log" 2>&1; then
  tail -20 "$work/native.log"
fi

for project in "${test_projects[@]}"; do
  run dotnet test "$project" -c Release --no-build --nologo --blame-hang-timeout 5m
done
for switch in DOTNET_EnableAVX512=0 DOTNET_EnableAVX2=0 DOTNET_EnableHWIntrinsic=0; do
  for project in tests/SparCode.Kernels.Tests/SparCode.Kernels.Tests.csproj tests/SparCode.Tests/SparCode.Tests.csproj; do
    run "$switch" dotnet test "$project" -c Release --no-build --nologo --blame-hang-timeout 5m
  done
done

# The benchmarks must build (done above) and complete a dry run; a failure counts as one failed check.
echo "== benchmark dry run =="
if ! dotnet run -c Release --no-build --project perf/SparCode.Benchmarks -- --filter '*' --job Dry >"$work/bench.log" 2>&1; then
  tail -30 "$work/bench.log"
  echo "Failed!  - Failed:     1, Passed:     0, Skipped:     0, Total:     1 - benchmark dry run" | tee -a "$log"
fi

# The fuzz smoke run (issue 13): AFL++ over the index reader and the searches for 10 seconds, through
# perf/fuzz/run.sh (which installs AFL++ and the sharpfuzz tool if missing and instruments a published copy,
# not the build the tests above used). It counts as one check: passed if afl-fuzz ran inputs and saved no
# crash and no hang; failed otherwise, including when AFL++ cannot be installed.
echo "== fuzz smoke run =="
fuzz_start=$(date +%s)
if bash perf/fuzz/run.sh --no-build 10 >"$work/fuzz.log" 2>&1; then
  grep -E "execs_done|saved_" "$work/fuzz.log"
  echo "Passed!  - Failed:     0, Passed:     1, Skipped:     0, Total:     1 - fuzz smoke run ($(( $(date +%s) - fuzz_start )) s)" | tee -a "$log"
else
  tail -40 "$work/fuzz.log"
  echo "Failed!  - Failed:     1, Passed:     0, Skipped:     0, Total:     1 - fuzz smoke run" | tee -a "$log"
fi

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
