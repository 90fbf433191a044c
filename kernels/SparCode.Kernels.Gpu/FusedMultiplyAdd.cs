using System.Runtime.CompilerServices;
using ILGPU.Runtime.Cuda;

namespace SparCode.Kernels.Gpu;

/// <summary>
/// One fused multiply-add, <c>a·b + c</c> with a single rounding, as the kernels' type parameter: each backend
/// gets an implementation it can compile, and both round exactly as <see cref="MathF.FusedMultiplyAdd"/> (IEEE 754
/// fusedMultiplyAdd, round to nearest even), so device results stay bit-identical with the CPU engine's.
/// </summary>
/// <remarks>
/// Plain <c>a * b + c</c> does not give that: the JIT and ptxas may or may not contract it. A runtime branch on the
/// backend does not help either: the PTX backend still compiles the <see cref="MathF"/> branch, an internal call
/// with no IL body that ILGPU 1.5.3 emits as an unresolvable <c>.extern</c>.
/// </remarks>
public interface IFusedMultiplyAdd
{
    /// <summary>Returns <c>a·b + c</c>, rounded once.</summary>
    float Apply(float a, float b, float c);
}

/// <summary>The CUDA fused multiply-add: PTX <c>fma.rn.f32</c> through <see cref="CudaAsm"/>. Only the PTX backend can compile it.</summary>
public readonly struct CudaFusedMultiplyAdd : IFusedMultiplyAdd
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Apply(float a, float b, float c)
    {
        CudaAsm.Emit("fma.rn.f32 %0, %1, %2, %3;", out float result, a, b, c);
        return result;
    }
}

/// <summary>The fused multiply-add of ILGPU's CPU accelerator, which runs kernels as .NET code: <see cref="MathF.FusedMultiplyAdd"/>.</summary>
public readonly struct CpuFusedMultiplyAdd : IFusedMultiplyAdd
{
    /// <inheritdoc/>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float Apply(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);
}
