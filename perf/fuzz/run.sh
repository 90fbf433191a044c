#!/usr/bin/env bash
# Fuzzes the index reader and the searches with AFL++ through SharpFuzz (issue 13).
#
# Usage: bash perf/fuzz/run.sh [--no-build] [--execs N] [--out DIR] SECONDS
#   SECONDS    stop afl-fuzz after this many seconds (afl-fuzz -V)
#   --execs N  also stop after about N executions (afl-fuzz -E), whichever comes first
#   --out DIR  keep the findings (queue, crashes, hangs, fuzzer_stats) in DIR; default: a scratch folder removed at exit
#   --no-build publish from the existing Release build (test.sh has just built everything)
#
# Installs what is missing: AFL++ from Debian (apt-get) and the sharpfuzz tool from the manifest
# .config/dotnet-tools.json. Publishes perf/SparCode.Fuzz to a scratch folder and instruments the engine's
# assemblies there (SparCode.Format, SparCode.Engine, SparCode.Kernels.Cpu), never the build output the tests
# use; writes the seed corpus (the harness's --write-seeds plus the version-1 test fixture); runs one afl-fuzz
# instance under nice; prints the figures from fuzzer_stats; replays every crashing or hanging input through
# the uninstrumented harness to show its exception.
# Exits 0 if afl-fuzz ran, executed inputs and saved no crash and no hang; 1 otherwise (including when AFL++
# cannot be installed).
set -uo pipefail
cd "$(dirname "$0")/../.."

build=1
execs=""
out=""
while [ $# -gt 1 ]; do
  case "$1" in
    --no-build) build=0; shift ;;
    --execs) execs="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    *) break ;;
  esac
done
seconds="${1:-}"
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ] || { [ -n "$execs" ] && ! [[ "$execs" =~ ^[0-9]+$ ]]; }; then
  echo "usage: bash perf/fuzz/run.sh [--no-build] [--execs N] [--out DIR] SECONDS" >&2
  exit 2
fi

fail() {
  echo "fuzz: $*" >&2
  exit 1
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
kept="in $out"
if [ -z "$out" ]; then
  out="$work/findings"
  kept="(removed at exit; pass --out DIR to keep them)"
fi

if ! command -v afl-fuzz >/dev/null; then
  echo "fuzz: installing AFL++ (Debian package afl++)"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends afl++; } >"$work/apt.log" 2>&1 \
    || { tail -20 "$work/apt.log" >&2; fail "could not install afl++ with apt-get"; }
  command -v afl-fuzz >/dev/null || fail "afl++ installed but afl-fuzz is not on PATH"
fi
dotnet tool restore >"$work/tool.log" 2>&1 || { cat "$work/tool.log" >&2; fail "dotnet tool restore (sharpfuzz) failed"; }

publish=(dotnet publish perf/SparCode.Fuzz/SparCode.Fuzz.csproj -c Release --nologo -v quiet -o "$work/bin")
[ "$build" -eq 1 ] || publish+=(--no-build)
"${publish[@]}" >"$work/publish.log" 2>&1 || { tail -20 "$work/publish.log" >&2; fail "publishing the harness failed"; }
for assembly in SparCode.Format SparCode.Engine SparCode.Kernels.Cpu; do
  dotnet tool run sharpfuzz "$work/bin/$assembly.dll" >"$work/instrument.log" 2>&1 \
    || { cat "$work/instrument.log" >&2; fail "instrumenting $assembly.dll failed"; }
done

# The uninstrumented build writes the seeds and replays findings (instrumented code is meant to run under afl-fuzz).
harness=perf/SparCode.Fuzz/bin/Release/net10.0/SparCode.Fuzz.dll
dotnet "$harness" --write-seeds "$work/seeds" >/dev/null || fail "writing the seeds failed"
cp tests/SparCode.Tests/Fixtures/version1.index "$work/seeds/version1.index"

mkdir -p "$work/scratch"
rm -rf "$out"
mkdir -p "$(dirname "$out")"
limit=(-V "$seconds")
[ -z "$execs" ] || limit+=(-E "$execs")
# AFL_SKIP_BIN_CHECK: the target is the dotnet host, whose binary has no AFL instrumentation (SharpFuzz put it
#   in the engine's IL). AFL_SKIP_CPUFREQ: VMs and containers have no cpufreq governor to check.
# AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES: core_pattern pipes core dumps to a handler here; crashes are reported
#   by SharpFuzz through the fork server, not by core dumps. AFL_NO_AFFINITY: do not pin to a core the other
#   work on this shared machine may be using; nice keeps the run to the idle share of one core.
# -t 5000: a tiny index runs in milliseconds; 5 s flags a real hang, not a loaded machine.
echo "fuzz: afl-fuzz ${limit[*]} on $(ls "$work/seeds" | wc -l) seeds"
start=$(date +%s)
env AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 AFL_NO_AFFINITY=1 AFL_NO_UI=1 \
  SPARCODE_FUZZ_TMP="$work/scratch" \
  nice -n 10 afl-fuzz -i "$work/seeds" -o "$out" -t 5000 -m none "${limit[@]}" -- dotnet "$work/bin/SparCode.Fuzz.dll" \
  >"$work/afl.log" 2>&1
rc=$?
echo "fuzz: afl-fuzz exited $rc after $(( $(date +%s) - start )) s"

stats="$out/default/fuzzer_stats"
if [ ! -f "$stats" ]; then
  tail -40 "$work/afl.log" >&2
  fail "afl-fuzz wrote no fuzzer_stats"
fi
stat() { sed -nE "s/^$1 *: *//p" "$stats"; }
for field in run_time execs_done execs_per_sec corpus_count corpus_found saved_crashes saved_hangs stability bitmap_cvg; do
  printf 'fuzz: %-14s %s\n' "$field" "$(stat "$field")"
done

status=0
if [ "$rc" -ne 0 ] || [ "$(stat execs_done)" -eq 0 ]; then
  tail -40 "$work/afl.log" >&2
  echo "fuzz: afl-fuzz did not run inputs" >&2
  status=1
fi
for kind in crashes hangs; do
  found=$(find "$out/default/$kind" -type f -name 'id:*' 2>/dev/null | sort)
  if [ -n "$found" ]; then
    status=1
    echo "fuzz: $kind saved $kept; replayed through the uninstrumented harness:" >&2
    # shellcheck disable=SC2086
    SPARCODE_FUZZ_TMP="$work/scratch" timeout 60 dotnet "$harness" --replay $found >&2
  fi
done
exit $status
