using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SparCode.Kernels.Cpu;

/// <summary>Nearest-codeword search: the argmin of squared L2 distances to the rows of a codebook.</summary>
public static class DistanceKernels
{
    /// <summary>
    /// Returns the index of the codeword nearest to <paramref name="query"/> in squared L2 distance;
    /// ties go to the smaller index. The codebook is stored transposed: row-major
    /// <c>query.Length × codewords</c>, one row per dimension.
    /// </summary>
    /// <remarks>
    /// The transposed layout puts one codeword per vector lane, so each lane accumulates its own
    /// distance over the dimensions in order with fused multiply-adds: every SIMD width and the scalar
    /// path compute bit-identical distances, and therefore pick the same code on every machine.
    /// </remarks>
    /// <exception cref="ArgumentException">The query is empty, or the codebook is empty or not <c>query.Length</c> rows.</exception>
    public static int ArgMinSquaredL2Transposed(ReadOnlySpan<float> query, ReadOnlySpan<float> codebookTransposed)
    {
        if (query.IsEmpty || codebookTransposed.IsEmpty || codebookTransposed.Length % query.Length != 0)
        {
            ThrowBadShape(query.Length, codebookTransposed.Length);
        }
        return ArgMinSquaredL2TransposedCore(query, codebookTransposed, Simd.Best);
    }

    /// <summary>The unchecked kernel; <paramref name="path"/> caps the vector width (tests force each one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static int ArgMinSquaredL2TransposedCore(ReadOnlySpan<float> query, ReadOnlySpan<float> codebookTransposed, SimdPath path)
    {
        int dim = query.Length;
        Debug.Assert(dim > 0 && codebookTransposed.Length % dim == 0);
        int codewords = codebookTransposed.Length / dim;
        ref float c = ref MemoryMarshal.GetReference(codebookTransposed);
        int best = 0;
        float bestDistance = float.PositiveInfinity;
        int r = ArgMinBlocks<Lanes512, Vector512<float>>(query, ref c, codewords, 0, ref best, ref bestDistance, path);
        r = ArgMinBlocks<Lanes256, Vector256<float>>(query, ref c, codewords, r, ref best, ref bestDistance, path);
        r = ArgMinBlocks<Lanes128, Vector128<float>>(query, ref c, codewords, r, ref best, ref bestDistance, path);
        for (; r < codewords; r++)
        {
            float acc = 0f;
            for (int j = 0; j < dim; j++)
            {
                float d = query[j] - Unsafe.Add(ref c, (nint)j * codewords + r);
                acc = MathF.FusedMultiplyAdd(d, d, acc);
            }
            Keep(acc, r, ref best, ref bestDistance);
        }
        return best;
    }

    /// <summary>
    /// Codewords from <paramref name="r"/> on, in whole vectors of <typeparamref name="W"/>, merged into
    /// (<paramref name="best"/>, <paramref name="bestDistance"/>); returns the first codeword left for a narrower
    /// width. Does nothing where <paramref name="path"/> or the hardware rules the width out.
    /// </summary>
    /// <remarks>
    /// Each lane keeps its nearest codeword so far (strict &lt;, so the earliest on ties, and never NaN); one
    /// reduction at the end, ties to the smaller index, replaces a compare-and-branch per codeword and gives
    /// the same answer as scanning the codewords in order.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int ArgMinBlocks<W, TVec>(ReadOnlySpan<float> query, ref float c, int codewords, int r, ref int best, ref float bestDistance, SimdPath path)
        where W : struct, IVectorWidth<TVec>
        where TVec : struct
    {
        int width = W.Count;
        if (path < W.Path || !W.IsHardwareAccelerated || r + width > codewords)
        {
            return r;
        }
        int dim = query.Length;
        var zero = W.Splat(0f);
        var laneDistance = W.Splat(float.PositiveInfinity);
        var laneIndex = zero; // index 0 in every lane: 0f has the bits of the integer 0
        // Four codeword blocks at once: four independent FMA chains instead of one latency-bound chain.
        for (; r + 4 * width <= codewords; r += 4 * width)
        {
            TVec acc0 = zero, acc1 = zero, acc2 = zero, acc3 = zero;
            for (int j = 0; j < dim; j++)
            {
                var q = W.Splat(query[j]);
                ref float row = ref Unsafe.Add(ref c, (nint)j * codewords + r);
                var d0 = W.Subtract(q, W.Load(ref row, 0));
                var d1 = W.Subtract(q, W.Load(ref row, width));
                var d2 = W.Subtract(q, W.Load(ref row, 2 * width));
                var d3 = W.Subtract(q, W.Load(ref row, 3 * width));
                acc0 = W.MultiplyAdd(d0, d0, acc0);
                acc1 = W.MultiplyAdd(d1, d1, acc1);
                acc2 = W.MultiplyAdd(d2, d2, acc2);
                acc3 = W.MultiplyAdd(d3, d3, acc3);
            }
            KeepNearer<W, TVec>(acc0, r, ref laneDistance, ref laneIndex);
            KeepNearer<W, TVec>(acc1, r + width, ref laneDistance, ref laneIndex);
            KeepNearer<W, TVec>(acc2, r + 2 * width, ref laneDistance, ref laneIndex);
            KeepNearer<W, TVec>(acc3, r + 3 * width, ref laneDistance, ref laneIndex);
        }
        for (; r + width <= codewords; r += width)
        {
            var acc = zero;
            for (int j = 0; j < dim; j++)
            {
                var d = W.Subtract(W.Splat(query[j]), W.Load(ref c, (nint)j * codewords + r));
                acc = W.MultiplyAdd(d, d, acc);
            }
            KeepNearer<W, TVec>(acc, r, ref laneDistance, ref laneIndex);
        }
        for (int lane = 0; lane < width; lane++)
        {
            float distance = W.Element(laneDistance, lane);
            int index = W.IndexElement(laneIndex, lane);
            if (distance < bestDistance || (distance == bestDistance && index < best))
            {
                bestDistance = distance;
                best = index;
            }
        }
        return r;
    }

    /// <summary>Per lane: where <paramref name="distances"/> is strictly nearer, takes it and its codeword index (codewords <paramref name="first"/>, <paramref name="first"/> + 1, …).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KeepNearer<W, TVec>(TVec distances, int first, ref TVec laneDistance, ref TVec laneIndex)
        where W : struct, IVectorWidth<TVec>
        where TVec : struct
    {
        var nearer = W.LessThan(distances, laneDistance);
        laneDistance = W.Select(nearer, distances, laneDistance);
        laneIndex = W.Select(nearer, W.Indices(first), laneIndex);
    }

    /// <summary>Codewords arrive in ascending index order, so a strict '&lt;' keeps the smaller index on ties; NaN never wins.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Keep(float distance, int index, ref int best, ref float bestDistance)
    {
        if (distance < bestDistance)
        {
            bestDistance = distance;
            best = index;
        }
    }

    [DoesNotReturn]
    private static void ThrowBadShape(int dim, int length) =>
        throw new ArgumentException($"Expected a non-empty query and a non-empty transposed codebook with {dim} rows; got query length {dim} and codebook length {length}.");
}
