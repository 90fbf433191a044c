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
        int r = 0;
        if (path >= SimdPath.Vector512 && Vector512.IsHardwareAccelerated && codewords >= Vector512<float>.Count)
        {
            // Each lane keeps its nearest codeword so far (strict <, so the earliest on ties); one reduction
            // at the end replaces a compare-and-branch per codeword.
            const int width = 16;
            var laneDistance = Vector512.Create(float.PositiveInfinity);
            var laneIndex = Vector512<int>.Zero;
            var lanes = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
            // Four codeword blocks at once: four independent FMA chains instead of one latency-bound chain.
            for (; r + 4 * width <= codewords; r += 4 * width)
            {
                Vector512<float> acc0 = Vector512<float>.Zero, acc1 = Vector512<float>.Zero, acc2 = Vector512<float>.Zero, acc3 = Vector512<float>.Zero;
                for (int j = 0; j < dim; j++)
                {
                    var q = Vector512.Create(query[j]);
                    ref float row = ref Unsafe.Add(ref c, (nint)j * codewords + r);
                    var d0 = q - Vector512.LoadUnsafe(ref row);
                    var d1 = q - Vector512.LoadUnsafe(ref row, width);
                    var d2 = q - Vector512.LoadUnsafe(ref row, 2 * width);
                    var d3 = q - Vector512.LoadUnsafe(ref row, 3 * width);
                    acc0 = Vector512.FusedMultiplyAdd(d0, d0, acc0);
                    acc1 = Vector512.FusedMultiplyAdd(d1, d1, acc1);
                    acc2 = Vector512.FusedMultiplyAdd(d2, d2, acc2);
                    acc3 = Vector512.FusedMultiplyAdd(d3, d3, acc3);
                }
                KeepNearer(acc0, lanes + Vector512.Create(r), ref laneDistance, ref laneIndex);
                KeepNearer(acc1, lanes + Vector512.Create(r + width), ref laneDistance, ref laneIndex);
                KeepNearer(acc2, lanes + Vector512.Create(r + 2 * width), ref laneDistance, ref laneIndex);
                KeepNearer(acc3, lanes + Vector512.Create(r + 3 * width), ref laneDistance, ref laneIndex);
            }
            for (; r + width <= codewords; r += width)
            {
                var acc = Vector512<float>.Zero;
                for (int j = 0; j < dim; j++)
                {
                    var d = Vector512.Create(query[j]) - Vector512.LoadUnsafe(ref c, (nuint)((nint)j * codewords + r));
                    acc = Vector512.FusedMultiplyAdd(d, d, acc);
                }
                KeepNearer(acc, lanes + Vector512.Create(r), ref laneDistance, ref laneIndex);
            }
            // The nearest over the lanes, ties to the smaller index: the same answer as scanning in order.
            for (int lane = 0; lane < width; lane++)
            {
                float distance = laneDistance.GetElement(lane);
                int index = laneIndex.GetElement(lane);
                if (distance < bestDistance || (distance == bestDistance && index < best))
                {
                    bestDistance = distance;
                    best = index;
                }
            }
        }
        if (path >= SimdPath.Vector256 && Vector256.IsHardwareAccelerated)
        {
            for (; r + Vector256<float>.Count <= codewords; r += Vector256<float>.Count)
            {
                var acc = Vector256<float>.Zero;
                for (int j = 0; j < dim; j++)
                {
                    var d = Vector256.Create(query[j]) - Vector256.LoadUnsafe(ref c, (nuint)((nint)j * codewords + r));
                    acc = Vector256.FusedMultiplyAdd(d, d, acc);
                }
                for (int lane = 0; lane < Vector256<float>.Count; lane++)
                {
                    Keep(acc.GetElement(lane), r + lane, ref best, ref bestDistance);
                }
            }
        }
        if (path >= SimdPath.Vector128 && Vector128.IsHardwareAccelerated)
        {
            for (; r + Vector128<float>.Count <= codewords; r += Vector128<float>.Count)
            {
                var acc = Vector128<float>.Zero;
                for (int j = 0; j < dim; j++)
                {
                    var d = Vector128.Create(query[j]) - Vector128.LoadUnsafe(ref c, (nuint)((nint)j * codewords + r));
                    acc = Vector128.FusedMultiplyAdd(d, d, acc);
                }
                for (int lane = 0; lane < Vector128<float>.Count; lane++)
                {
                    Keep(acc.GetElement(lane), r + lane, ref best, ref bestDistance);
                }
            }
        }
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

    /// <summary>Per lane: where <paramref name="distances"/> is strictly nearer, takes it and its codeword index.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void KeepNearer(Vector512<float> distances, Vector512<int> indices, ref Vector512<float> laneDistance, ref Vector512<int> laneIndex)
    {
        var nearer = Vector512.LessThan(distances, laneDistance);
        laneDistance = Vector512.ConditionalSelect(nearer, distances, laneDistance);
        laneIndex = Vector512.ConditionalSelect(nearer.AsInt32(), indices, laneIndex);
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
