using System.Runtime.Intrinsics;

namespace SparCode.Kernels.Cpu;

/// <summary>The widest vector path the kernels dispatch to on this process.</summary>
public enum SimdPath
{
    /// <summary>No hardware vectors (<c>DOTNET_EnableHWIntrinsic=0</c>).</summary>
    Scalar,

    /// <summary>128-bit vectors (SSE / AdvSimd).</summary>
    Vector128,

    /// <summary>256-bit vectors (AVX2).</summary>
    Vector256,

    /// <summary>512-bit vectors (AVX-512).</summary>
    Vector512,
}

/// <summary>Reports which path the one-time dispatch picks: Vector512, then Vector256, then Vector128, then scalar.</summary>
public static class Simd
{
    /// <summary>The path every kernel in this assembly takes in this process.</summary>
    public static SimdPath Best { get; } =
        Vector512.IsHardwareAccelerated ? SimdPath.Vector512
        : Vector256.IsHardwareAccelerated ? SimdPath.Vector256
        : Vector128.IsHardwareAccelerated ? SimdPath.Vector128
        : SimdPath.Scalar;
}
