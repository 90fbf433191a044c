#!/usr/bin/env bash
# The one prepared device check (issue 3): builds, runs the differential checks of the ILGPU kernels
# against the CPU engine and the CPU references, and times code lookup, batched search (batch 1, 64,
# 1024 vs the CPU engine on a 1M-item synthetic index), the index-build interaction scoring, the GPU
# export's build (scoring + per-code thresholds + lists, checked against the CPU reference rule) and
# refine (1024 queries x 1000 served candidates re-scored with unquantized tokens, checked against
# the CPU reference). On a machine without CUDA, or with --cpu, it runs the same checks on ILGPU's CPU
# accelerator with small sizes (about 2-4 minutes on 2 loaded cores).
# Usage: perf/gpu/device-check.sh [--cpu] [--out DIR]   (results: DIR/device-check-*.md, default perf/results)
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build perf/SparCode.GpuCheck -c Release --nologo -v quiet
exec dotnet perf/SparCode.GpuCheck/bin/Release/net10.0/SparCode.GpuCheck.dll "$@"
