#!/usr/bin/env bash
# Builds libsparcode.so, the C ABI (include/sparcode.h), with NativeAOT into artifacts/native/ at the
# repository root, with the header beside it.
#
#   bash src/SparCode.Native/build.sh            # x86-64-v3: AVX2 and FMA, the engine's 256-bit path
#   SC_ISA=native bash src/SparCode.Native/build.sh   # every extension of this CPU (AVX-512 where present);
#                                                      # the library then refuses to load on a lesser CPU
#
# NativeAOT fixes the instruction set at build time: without one, it targets x86-64-v2 and the kernels
# take their 128-bit path (sc_simd_bits() says which). Needs gcc (installed from Debian if missing).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
out="$root/artifacts/native"
isa="${SC_ISA:-x86-64-v3}"
rm -f "$out/libsparcode.so"   # a failed build must not leave an old library for the tests to load
if ! command -v gcc >/dev/null; then
  echo "gcc is missing: installing it from Debian (it links libsparcode.so)"
  { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends gcc libc6-dev; } >/dev/null \
    || { echo "error: gcc is needed to link libsparcode.so and apt-get could not install it" >&2; exit 1; }
fi
dotnet publish "$root/src/SparCode.Native/SparCode.Native.csproj" -c Release -r linux-x64 --nologo -v quiet \
  -p:IlcInstructionSet="$isa" -o "$out/publish"
mkdir -p "$out"
cp "$out/publish/libsparcode.so" "$out/"
cp "$root/src/SparCode.Native/include/sparcode.h" "$out/"
echo "built $out/libsparcode.so ($isa) and $out/sparcode.h"
