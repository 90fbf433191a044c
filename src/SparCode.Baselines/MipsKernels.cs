using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SparCode.Kernels.Cpu;

namespace SparCode.Baselines;

/// <summary>
/// Inner products of one query with consecutive rows of a row-major matrix. Safe code: vectors are
/// loaded through refs (<c>Vector512.LoadUnsafe(ref, offset)</c>), no pointers.
/// </summary>
/// <remarks>
/// Numerics: each SIMD path sums lane-wise partial products and reduces them at the end, so its
/// result can differ from the scalar reference in the last bits. On inputs whose products and sums
/// are exactly representable (small integers, or multiples of a power of two) all paths agree bit
/// for bit; the tests rely on that.
/// </remarks>
internal static class MipsKernels
{
    /// <summary>scores[r] = ⟨rows[r·d .. r·d + d), query⟩ for r in [0, scores.Length).</summary>
    internal static void DotRows(ReadOnlySpan<float> rows, ReadOnlySpan<float> query, Span<float> scores) =>
        DotRowsCore(rows, query, scores, Simd.Best);

    /// <inheritdoc cref="DotRows"/>
    /// <param name="rows">scores.Length × query.Length floats.</param>
    /// <param name="query">d floats.</param>
    /// <param name="scores">One score per row.</param>
    /// <param name="path">Widest vector path to use (the caller guarantees the hardware has it).</param>
    internal static void DotRowsCore(ReadOnlySpan<float> rows, ReadOnlySpan<float> query, Span<float> scores, SimdPath path)
    {
        int d = query.Length;
        Debug.Assert(rows.Length >= (long)scores.Length * d);
        if (path >= SimdPath.Vector512 && d >= Vector512<float>.Count)
        {
            DotRows<Lanes512, Vector512<float>>(rows, query, scores);
        }
        else if (path >= SimdPath.Vector256 && d >= Vector256<float>.Count)
        {
            DotRows<Lanes256, Vector256<float>>(rows, query, scores);
        }
        else if (path >= SimdPath.Vector128 && d >= Vector128<float>.Count)
        {
            DotRows<Lanes128, Vector128<float>>(rows, query, scores);
        }
        else
        {
            DotRowsScalar(rows, query, scores);
        }
    }

    /// <summary>The reference: a plain left-to-right sum per row.</summary>
    internal static void DotRowsScalar(ReadOnlySpan<float> rows, ReadOnlySpan<float> query, Span<float> scores)
    {
        int d = query.Length;
        for (int r = 0; r < scores.Length; r++)
        {
            var row = rows.Slice(r * d, d);
            float sum = 0f;
            for (int j = 0; j < d; j++)
            {
                sum += row[j] * query[j];
            }
            scores[r] = sum;
        }
    }

    // Own method, not inlined: inlined into the caller's loop the JIT spilled the accumulators every
    // iteration (environment.md). Two rows per step give the FMA units two independent chains; the
    // matrix streams from memory, so more rows in flight buy nothing once bandwidth is the limit.
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void DotRows<W, TVec>(ReadOnlySpan<float> rows, ReadOnlySpan<float> query, Span<float> scores)
        where W : struct, IVectorWidth<TVec>
        where TVec : struct
    {
        int d = query.Length;
        int width = W.Count;
        int body = d - d % width;
        ref float q = ref MemoryMarshal.GetReference(query);
        ref float m = ref MemoryMarshal.GetReference(rows);
        int r = 0;
        for (; r + 1 < scores.Length; r += 2)
        {
            nint a = (nint)r * d, b = (nint)(r + 1) * d;
            var sa = W.Splat(0f);
            var sb = W.Splat(0f);
            for (int j = 0; j < body; j += width)
            {
                var qv = W.Load(ref q, j);
                sa = Step<W, TVec>(W.Load(ref m, a + j), qv, sa);
                sb = Step<W, TVec>(W.Load(ref m, b + j), qv, sb);
            }
            float ta = W.Sum(sa), tb = W.Sum(sb);
            for (int j = body; j < d; j++)
            {
                ta += Unsafe.Add(ref m, a + j) * Unsafe.Add(ref q, j);
                tb += Unsafe.Add(ref m, b + j) * Unsafe.Add(ref q, j);
            }
            scores[r] = ta;
            scores[r + 1] = tb;
        }
        for (; r < scores.Length; r++)
        {
            nint a = (nint)r * d;
            var sa = W.Splat(0f);
            for (int j = 0; j < body; j += width)
            {
                sa = Step<W, TVec>(W.Load(ref m, a + j), W.Load(ref q, j), sa);
            }
            float ta = W.Sum(sa);
            for (int j = body; j < d; j++)
            {
                ta += Unsafe.Add(ref m, a + j) * Unsafe.Add(ref q, j);
            }
            scores[r] = ta;
        }
    }

    /// <summary>
    /// <c>acc + row·query</c> lane-wise: fused on Vector512 and Vector256, whose x64 CPUs all have FMA; a
    /// multiply and an add on Vector128, the widest path of SSE-only CPUs, where a fused step would be
    /// emulated in software. Chosen by width, not by CPU, so a width gives the same scores on every machine.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Step<W, TVec>(TVec row, TVec query, TVec acc)
        where W : struct, IVectorWidth<TVec>
        where TVec : struct =>
        typeof(TVec) == typeof(Vector128<float>) ? W.Add(acc, W.Multiply(row, query)) : W.MultiplyAdd(row, query, acc);
}
