using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SparCode.Kernels.Cpu;

/// <summary>Nearest-codeword search: squared L2 distances and their argmin.</summary>
/// <remarks>
/// Vector paths sum in a different order from the scalar path, so distances agree to rounding, not
/// bit for bit; within one process every call takes the same path and is deterministic.
/// </remarks>
public static class DistanceKernels
{
    /// <summary>
    /// Returns the index of the row of <paramref name="rows"/> (row-major, <c>query.Length</c> columns)
    /// nearest to <paramref name="query"/> in squared L2 distance; ties go to the smaller index.
    /// </summary>
    /// <exception cref="ArgumentException">The query is empty, or <paramref name="rows"/> is empty or not a whole number of rows.</exception>
    public static int ArgMinSquaredL2(ReadOnlySpan<float> query, ReadOnlySpan<float> rows)
    {
        if (query.IsEmpty || rows.IsEmpty || rows.Length % query.Length != 0)
        {
            ThrowBadShape(query.Length, rows.Length);
        }
        return ArgMinSquaredL2Core(query, rows, Simd.Best);
    }

    /// <summary>Squared L2 distance between two equal-length vectors.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static float SquaredL2(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException($"Vectors have lengths {a.Length} and {b.Length}; expected equal lengths.", nameof(b));
        }
        return SquaredL2Core(a, b, Simd.Best);
    }

    internal static int ArgMinSquaredL2Core(ReadOnlySpan<float> query, ReadOnlySpan<float> rows, SimdPath path)
    {
        int dim = query.Length;
        Debug.Assert(dim > 0 && rows.Length % dim == 0);
        int best = 0;
        float bestDistance = float.PositiveInfinity;
        for (int r = 0, offset = 0; offset < rows.Length; r++, offset += dim)
        {
            float distance = SquaredL2Core(query, rows.Slice(offset, dim), path);
            // Strict '<' keeps the smaller index on ties; NaN never wins.
            if (distance < bestDistance)
            {
                bestDistance = distance;
                best = r;
            }
        }
        return best;
    }

    /// <summary>
    /// One loop driver for every width: 512-bit blocks, then 256, then 128, then a scalar tail, each
    /// taken only when <paramref name="path"/> allows it and the hardware accelerates it.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float SquaredL2Core(ReadOnlySpan<float> a, ReadOnlySpan<float> b, SimdPath path)
    {
        Debug.Assert(a.Length == b.Length);
        ref float pa = ref MemoryMarshal.GetReference(a);
        ref float pb = ref MemoryMarshal.GetReference(b);
        nuint n = (nuint)a.Length;
        nuint i = 0;
        float sum = 0;
        if (path >= SimdPath.Vector512 && Vector512.IsHardwareAccelerated && n >= (nuint)Vector512<float>.Count)
        {
            var acc = Vector512<float>.Zero;
            for (; i + (nuint)Vector512<float>.Count <= n; i += (nuint)Vector512<float>.Count)
            {
                var d = Vector512.LoadUnsafe(ref pa, i) - Vector512.LoadUnsafe(ref pb, i);
                acc = Vector512.FusedMultiplyAdd(d, d, acc);
            }
            sum += Vector512.Sum(acc);
        }
        if (path >= SimdPath.Vector256 && Vector256.IsHardwareAccelerated && n - i >= (nuint)Vector256<float>.Count)
        {
            var acc = Vector256<float>.Zero;
            for (; i + (nuint)Vector256<float>.Count <= n; i += (nuint)Vector256<float>.Count)
            {
                var d = Vector256.LoadUnsafe(ref pa, i) - Vector256.LoadUnsafe(ref pb, i);
                acc = Vector256.FusedMultiplyAdd(d, d, acc);
            }
            sum += Vector256.Sum(acc);
        }
        if (path >= SimdPath.Vector128 && Vector128.IsHardwareAccelerated && n - i >= (nuint)Vector128<float>.Count)
        {
            var acc = Vector128<float>.Zero;
            for (; i + (nuint)Vector128<float>.Count <= n; i += (nuint)Vector128<float>.Count)
            {
                var d = Vector128.LoadUnsafe(ref pa, i) - Vector128.LoadUnsafe(ref pb, i);
                acc = Vector128.FusedMultiplyAdd(d, d, acc);
            }
            sum += Vector128.Sum(acc);
        }
        for (; i < n; i++)
        {
            float d = Unsafe.Add(ref pa, i) - Unsafe.Add(ref pb, i);
            sum += d * d;
        }
        return sum;
    }

    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowBadShape(int dim, int rowsLength) =>
        throw new ArgumentException($"Expected a non-empty query and a non-empty row-major matrix with {dim} columns; got query length {dim} and matrix length {rowsLength}.");
}
