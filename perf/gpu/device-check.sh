#!/usr/bin/env bash
# The one prepared device check (issue 3): builds, runs the differential checks of the ILGPU kernels
# against the CPU engine, and times code lookup, batched search (batch 1, 64, 1024 vs the CPU engine
# on a 1M-item synthetic index) and the index-build interaction scoring. On a machine without CUDA,
# or with --cpu, it runs the same checks on ILGPU's CPU accelerator with small sizes.
# Usage: perf/gpu/device-check.sh [--cpu] [--out DIR]   (results: DIR/device-check-*.md, default perf/results)
set -euo pipefail
cd "$(dirname "$0")/../.."
dotnet build perf/SparCode.GpuCheck -c Release --nologo -v quiet
exec dotnet perf/SparCode.GpuCheck/bin/Release/net10.0/SparCode.GpuCheck.dll "$@"
