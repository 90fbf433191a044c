#!/usr/bin/env bash
# Builds the device check as a self-contained linux-x64 bundle, for GPU machines that have no .NET and reach no
# package registry: artifacts/gpucheck-linux-x64.tar.gz (the .NET runtime, ILGPU and the check; no trimming, which
# would cut what ILGPU's Reflection.Emit needs; no ReadyToRun, which only adds size). The runtime pack comes from the
# NuGet feed at the version the SDK picks. It travels to a device run through the run tool's carry (64 MiB with the
# tree), so the script fails if the archive passes 48 MiB.
# Usage: bash perf/gpu/build-bundle.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
publish="$root/artifacts/gpucheck/publish"
archive="$root/artifacts/gpucheck-linux-x64.tar.gz"
rm -rf "$publish" "$archive"   # a failed build must not leave an old bundle behind
dotnet publish "$root/perf/SparCode.GpuCheck/SparCode.GpuCheck.csproj" -c Release -r linux-x64 --self-contained --nologo -v quiet \
  -p:PublishTrimmed=false -p:PublishReadyToRun=false -p:InvariantGlobalization=true -p:DebugType=none -o "$publish"
tar -czf "$archive" -C "$publish" .
bytes=$(stat -c %s "$archive")
echo "built $archive: $((bytes / 1024 / 1024)) MiB ($bytes bytes; $(du -sm "$publish" | cut -f1) MiB unpacked)"
if (( bytes > 48 * 1024 * 1024 )); then
  echo "error: the bundle is over 48 MiB and would not travel with the tree (64 MiB in all)" >&2
  exit 1
fi
