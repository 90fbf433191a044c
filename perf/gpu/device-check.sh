#!/usr/bin/env bash
# The one prepared device check (issues 3 and 14): the differential checks of the ILGPU kernels against the CPU
# engine and the CPU references, then timings of code lookup, batched search (batch 1, 64, 1024 vs the CPU engine on
# a 1M-item synthetic index), the index-build interaction scoring, the GPU export's build (scoring + per-code
# thresholds + lists, checked against the CPU reference rule) and refine (1024 queries x 1000 served candidates
# re-scored with unquantized tokens, checked against the CPU reference).
#
# Without --cpu it requires CUDA and fails with a clear message when no CUDA device is visible (no fallback to
# ILGPU's CPU accelerator). With --cpu it runs the same checks on ILGPU's CPU accelerator with small sizes.
#
#   bash perf/gpu/device-check.sh --bundle --cpu --out out/device-check   # here: builds the bundle if absent, CPU half
#   bash perf/gpu/device-check.sh --bundle --out "$OUT"                   # on a bare GPU machine (no .NET, no network)
#   bash perf/gpu/device-check.sh --cpu                                   # with the SDK: dotnet build, no bundle
#
# --bundle runs the self-contained build of perf/gpu/build-bundle.sh (artifacts/gpucheck-linux-x64.tar.gz), building
# it first where dotnet is present. Results go to DIR (--out, else $OUT, else perf/results): device-check-*.md is
# appended line by line and device-check.log holds the machine, the console and the exit status, so a crash or a
# kill leaves every finished stage there. On CUDA the check skips stages that would start after --budget seconds
# (default 400) and is killed at 470 s (SC_CHECK_TIMEOUT), so it ends in under 8 minutes. The CPU half, a
# correctness check on a possibly shared machine, gets 1200 s and 1500 s.
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
bundle=0
cpu=0
args=()
out="${OUT:-perf/results}"
while (( $# )); do
  case "$1" in
    --bundle) bundle=1 ;;
    --out) out="$2"; shift ;;
    --cpu) cpu=1; args+=("$1") ;;
    *) args+=("$1") ;;
  esac
  shift
done
mkdir -p "$out"
log="$out/device-check.log"
{
  echo "# device-check.sh $(date -u '+%Y-%m-%d %H:%M:%S') UTC on $(hostname), $(nproc) cores, commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || echo "nvidia-smi: not found"
} > "$log" 2>&1

if (( bundle )); then
  archive="$root/artifacts/gpucheck-linux-x64.tar.gz"
  if [[ ! -f "$archive" ]]; then
    command -v dotnet >/dev/null || { echo "error: $archive is missing and there is no dotnet to build it" | tee -a "$log" >&2; exit 1; }
    bash perf/gpu/build-bundle.sh 2>&1 | tee -a "$log" || exit 1
  fi
  dir="$(mktemp -d /tmp/sparcode-gpucheck-XXXXXX)"
  tar -xzf "$archive" -C "$dir" || { echo "error: could not unpack $archive" | tee -a "$log" >&2; exit 1; }
  run=("$dir/SparCode.GpuCheck")
else
  dotnet build perf/SparCode.GpuCheck -c Release --nologo -v quiet 2>&1 | tee -a "$log" || exit 1
  run=(dotnet perf/SparCode.GpuCheck/bin/Release/net10.0/SparCode.GpuCheck.dll)
fi
echo "running: ${run[*]} ${args[*]} --out $out" >> "$log"
start=$SECONDS
timeout --signal=KILL "${SC_CHECK_TIMEOUT:-$(( cpu ? 1500 : 470 ))}" "${run[@]}" "${args[@]}" --out "$out" 2>&1 | tee -a "$log"
status=${PIPESTATUS[0]}
echo "exit status $status after $((SECONDS - start)) s (0 pass, 1 a check failed, 2 an error, 3 stages skipped for time, 137 killed at the timeout)" | tee -a "$log"
[[ -n "${dir:-}" ]] && rm -rf "$dir"
exit "$status"
