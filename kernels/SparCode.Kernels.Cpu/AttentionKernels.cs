using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SparCode.Kernels.Cpu;

/// <summary>What <see cref="AttentionKernels.GemmCore"/> does besides the product.</summary>
[Flags]
internal enum GemmOptions
{
    /// <summary><c>y = bias + x·W</c>.</summary>
    None = 0,

    /// <summary>ReLU before the store.</summary>
    Relu = 1,

    /// <summary><c>y += …</c> (a residual connection) instead of <c>y = …</c>.</summary>
    Accumulate = 2,

    /// <summary>
    /// Causal inner length: a tile of rows <c>[r0, r0 + rt)</c> sums <c>j &lt; min(inner, r0 + rt)</c> only (the
    /// probabilities × values product, whose row t is zero beyond t). Rows are tiled the same way on every path.
    /// </summary>
    CausalInner = 4,

    /// <summary>Causal outputs: the column tile starting at o skips rows below o (the scores, of which row t needs columns 0..t only).</summary>
    CausalOutputs = 8,
}

/// <summary>
/// Kernels of the attention query tower: a strided matrix product, layer norm, a causal softmax row, and a
/// deterministic exp. Bit-identical on every path (Vector512, Vector256, Vector128, scalar).
/// </summary>
/// <remarks>
/// How each result is made path-independent:
/// <list type="bullet">
/// <item>Matrix products vectorise across outputs: every output is its own fused multiply-add chain over the
/// inner index in order, started from its bias (the axpy form of <see cref="DenseKernels.DenseTransposed"/>),
/// so tiling and vector width change nothing.</item>
/// <item>Sums over a row (layer-norm mean and variance, softmax denominator) use one fixed partition into 16
/// lanes (lane i adds elements i, i + 16, … in order) folded 16 → 8 → 4 → 1 in a fixed tree, which one
/// Vector512, two Vector256 or four Vector128 accumulators, or 16 scalars, all compute the same way.</item>
/// <item>exp is one polynomial (Cephes <c>expf</c>: Cody–Waite reduction by ln 2, degree-5 minimax) evaluated with
/// the same IEEE operations in every lane, not the runtime's per-width approximations.</item>
/// </list>
/// The drivers are written once over <see cref="ILanes{TVec}"/> and run at the widest width first, the
/// narrower ones on what is left, and the scalar lanes last. The width comes from the <c>path</c> argument
/// alone: callers pass <see cref="Simd.Best"/> (which already checks <c>IsHardwareAccelerated</c>), and tests
/// pass wider paths too, so the Vector512 code is checked (in software) on machines without AVX-512.
/// The drivers are marked <c>AggressiveOptimization</c>: their tier-0 code calls every <see cref="ILanes{TVec}"/>
/// member (seen with <c>DOTNET_JitDisasm</c>) and is many times slower, which the first queries would pay.
/// </remarks>
internal static class AttentionKernels
{
    private const int SumLanes = 16;

    /// <summary>
    /// <c>y[r, o] (=|+=) act(bias[o] + Σ_j x[r, j] · w[j, o])</c> for <c>r &lt; rows</c>, <c>o &lt; outputs</c>, <c>j &lt; inner</c>:
    /// row-major operands with row strides; <paramref name="w"/> holds the weights transposed (one row per input).
    /// An empty <paramref name="bias"/> starts every sum at +0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GemmCore(ReadOnlySpan<float> x, int xStride, int rows, int inner, ReadOnlySpan<float> w, int wStride, ReadOnlySpan<float> bias,
        Span<float> y, int yStride, int outputs, GemmOptions options, SimdPath path)
    {
        Debug.Assert((options & (GemmOptions.CausalInner | GemmOptions.CausalOutputs)) != (GemmOptions.CausalInner | GemmOptions.CausalOutputs));
        Debug.Assert(rows == 0 || outputs == 0 || y.Length >= (long)(rows - 1) * yStride + outputs);
        Debug.Assert(rows == 0 || inner == 0 || x.Length >= (long)(rows - 1) * xStride + inner);
        Debug.Assert(inner == 0 || outputs == 0 || w.Length >= (long)(inner - 1) * wStride + outputs);
        Debug.Assert(bias.IsEmpty || bias.Length >= outputs);
        if (rows == 0 || outputs == 0)
        {
            return;
        }
        var g = new Gemm(ref MemoryMarshal.GetReference(x), xStride, rows, inner, ref MemoryMarshal.GetReference(w), wStride,
            ref MemoryMarshal.GetReference(bias), !bias.IsEmpty, ref MemoryMarshal.GetReference(y), yStride, options);
        int o = 0;
        if (path >= SimdPath.Vector512)
        {
            o = GemmColumns<Vector512<float>, Lanes512>(ref g, o, outputs);
        }
        if (path >= SimdPath.Vector256)
        {
            o = GemmColumns<Vector256<float>, Lanes256>(ref g, o, outputs);
        }
        if (path >= SimdPath.Vector128)
        {
            o = GemmColumns<Vector128<float>, Lanes128>(ref g, o, outputs);
        }
        GemmColumns<float, Lanes1>(ref g, o, outputs);
    }

    /// <summary>The operands of one product, passed by reference to the tile loops.</summary>
    private ref struct Gemm(ref float x, int xStride, int rows, int inner, ref float w, int wStride, ref float bias, bool hasBias, ref float y, int yStride, GemmOptions options)
    {
        public readonly ref float X = ref x;
        public readonly ref float W = ref w;
        public readonly ref float Bias = ref bias;
        public readonly ref float Y = ref y;
        public readonly int XStride = xStride, Rows = rows, Inner = inner, WStride = wStride, YStride = yStride;
        public readonly bool HasBias = hasBias;
        public readonly GemmOptions Options = options;
    }

    /// <summary>
    /// Columns from <paramref name="o"/> in tiles of 2 vectors × 4 rows (8 independent chains cover the FMA
    /// latency; 8 accumulators, 2 weight vectors and a broadcast fit even AVX2's 16 registers), then single
    /// vectors; rows left over by the 4-row tiles go one at a time. Returns where it stopped.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int GemmColumns<TVec, TLanes>(ref Gemm g, int o, int outputs) where TVec : struct where TLanes : struct, ILanes<TVec>
    {
        int c = TLanes.Count;
        for (; o + 2 * c <= outputs; o += 2 * c)
        {
            int r = (g.Options & GemmOptions.CausalOutputs) != 0 ? Math.Min(g.Rows, o) : 0;
            for (; r + 4 <= g.Rows; r += 4)
            {
                Tile4x2<TVec, TLanes>(ref g, r, o, InnerFor(ref g, r, 4));
            }
            for (; r < g.Rows; r++)
            {
                Tile1x2<TVec, TLanes>(ref g, r, o, InnerFor(ref g, r, 1));
            }
        }
        for (; o + c <= outputs; o += c)
        {
            int r = (g.Options & GemmOptions.CausalOutputs) != 0 ? Math.Min(g.Rows, o) : 0;
            for (; r + 4 <= g.Rows; r += 4)
            {
                Tile4x1<TVec, TLanes>(ref g, r, o, InnerFor(ref g, r, 4));
            }
            for (; r < g.Rows; r++)
            {
                Tile1x1<TVec, TLanes>(ref g, r, o, InnerFor(ref g, r, 1));
            }
        }
        return o;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int InnerFor(ref Gemm g, int row, int tileRows) =>
        (g.Options & GemmOptions.CausalInner) != 0 ? Math.Min(g.Inner, row + tileRows) : g.Inner;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Start<TVec, TLanes>(ref Gemm g, int o) where TVec : struct where TLanes : struct, ILanes<TVec> =>
        g.HasBias ? TLanes.Load(ref g.Bias, o) : TLanes.Splat(0f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish<TVec, TLanes>(ref Gemm g, TVec a, int r, int o) where TVec : struct where TLanes : struct, ILanes<TVec>
    {
        if ((g.Options & GemmOptions.Relu) != 0)
        {
            a = TLanes.Max(a, TLanes.Splat(0f));
        }
        nint at = (nint)r * g.YStride + o;
        if ((g.Options & GemmOptions.Accumulate) != 0)
        {
            a = TLanes.Add(TLanes.Load(ref g.Y, at), a);
        }
        TLanes.Store(a, ref g.Y, at);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x2<TVec, TLanes>(ref Gemm g, int r, int o, int inner) where TVec : struct where TLanes : struct, ILanes<TVec>
    {
        int c = TLanes.Count;
        TVec b0 = Start<TVec, TLanes>(ref g, o), b1 = Start<TVec, TLanes>(ref g, o + c);
        TVec a00 = b0, a01 = b1, a10 = b0, a11 = b1, a20 = b0, a21 = b1, a30 = b0, a31 = b1;
        ref float x0 = ref Unsafe.Add(ref g.X, (nint)r * g.XStride);
        ref float x1 = ref Unsafe.Add(ref x0, g.XStride);
        ref float x2 = ref Unsafe.Add(ref x1, g.XStride);
        ref float x3 = ref Unsafe.Add(ref x2, g.XStride);
        ref float w = ref Unsafe.Add(ref g.W, o);
        for (int j = 0; j < inner; j++)
        {
            TVec w0 = TLanes.Load(ref w, 0), w1 = TLanes.Load(ref w, c);
            TVec s = TLanes.Splat(Unsafe.Add(ref x0, j));
            a00 = TLanes.MultiplyAdd(w0, s, a00);
            a01 = TLanes.MultiplyAdd(w1, s, a01);
            s = TLanes.Splat(Unsafe.Add(ref x1, j));
            a10 = TLanes.MultiplyAdd(w0, s, a10);
            a11 = TLanes.MultiplyAdd(w1, s, a11);
            s = TLanes.Splat(Unsafe.Add(ref x2, j));
            a20 = TLanes.MultiplyAdd(w0, s, a20);
            a21 = TLanes.MultiplyAdd(w1, s, a21);
            s = TLanes.Splat(Unsafe.Add(ref x3, j));
            a30 = TLanes.MultiplyAdd(w0, s, a30);
            a31 = TLanes.MultiplyAdd(w1, s, a31);
            w = ref Unsafe.Add(ref w, g.WStride);
        }
        Finish<TVec, TLanes>(ref g, a00, r, o);
        Finish<TVec, TLanes>(ref g, a01, r, o + c);
        Finish<TVec, TLanes>(ref g, a10, r + 1, o);
        Finish<TVec, TLanes>(ref g, a11, r + 1, o + c);
        Finish<TVec, TLanes>(ref g, a20, r + 2, o);
        Finish<TVec, TLanes>(ref g, a21, r + 2, o + c);
        Finish<TVec, TLanes>(ref g, a30, r + 3, o);
        Finish<TVec, TLanes>(ref g, a31, r + 3, o + c);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x2<TVec, TLanes>(ref Gemm g, int r, int o, int inner) where TVec : struct where TLanes : struct, ILanes<TVec>
    {
        int c = TLanes.Count;
        TVec a0 = Start<TVec, TLanes>(ref g, o), a1 = Start<TVec, TLanes>(ref g, o + c);
        ref float x0 = ref Unsafe.Add(ref g.X, (nint)r * g.XStride);
        ref float w = ref Unsafe.Add(ref g.W, o);
        for (int j = 0; j < inner; j++)
        {
            TVec s = TLanes.Splat(Unsafe.Add(ref x0, j));
            a0 = TLanes.MultiplyAdd(TLanes.Load(ref w, 0), s, a0);
            a1 = TLanes.MultiplyAdd(TLanes.Load(ref w, c), s, a1);
            w = ref Unsafe.Add(ref w, g.WStride);
        }
        Finish<TVec, TLanes>(ref g, a0, r, o);
        Finish<TVec, TLanes>(ref g, a1, r, o + c);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x1<TVec, TLanes>(ref Gemm g, int r, int o, int inner) where TVec : struct where TLanes : struct, ILanes<TVec>
    {
        TVec a0 = Start<TVec, TLanes>(ref g, o), a1 = a0, a2 = a0, a3 = a0;
        ref float x0 = ref Unsafe.Add(ref g.X, (nint)r * g.XStride);
        ref float x1 = ref Unsafe.Add(ref x0, g.XStride);
        ref float x2 = ref Unsafe.Add(ref x1, g.XStride);
        ref float x3 = ref Unsafe.Add(ref x2, g.XStride);
        ref float w = ref Unsafe.Add(ref g.W, o);
        for (int j = 0; j < inner; j++)
        {
            TVec w0 = TLanes.Load(ref w, 0);
            a0 = TLanes.MultiplyAdd(w0, TLanes.Splat(Unsafe.Add(ref x0, j)), a0);
            a1 = TLanes.MultiplyAdd(w0, TLanes.Splat(Unsafe.Add(ref x1, j)), a1);
            a2 = TLanes.MultiplyAdd(w0, TLanes.Splat(Unsafe.Add(ref x2, j)), a2);
            a3 = TLanes.MultiplyAdd(w0, TLanes.Splat(Unsafe.Add(ref x3, j)), a3);
            w = ref Unsafe.Add(ref w, g.WStride);
        }
        Finish<TVec, TLanes>(ref g, a0, r, o);
        Finish<TVec, TLanes>(ref g, a1, r + 1, o);
        Finish<TVec, TLanes>(ref g, a2, r + 2, o);
        Finish<TVec, TLanes>(ref g, a3, r + 3, o);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x1<TVec, TLanes>(ref Gemm g, int r, int o, int inner) where TVec : struct where TLanes : struct, ILanes<TVec>
    {
        TVec a0 = Start<TVec, TLanes>(ref g, o);
        ref float x0 = ref Unsafe.Add(ref g.X, (nint)r * g.XStride);
        ref float w = ref Unsafe.Add(ref g.W, o);
        for (int j = 0; j < inner; j++)
        {
            a0 = TLanes.MultiplyAdd(TLanes.Load(ref w, 0), TLanes.Splat(Unsafe.Add(ref x0, j)), a0);
            w = ref Unsafe.Add(ref w, g.WStride);
        }
        Finish<TVec, TLanes>(ref g, a0, r, o);
    }

    /// <summary>
    /// <c>y = (x − μ) / sqrt(σ² + ε) · gamma + beta</c> with μ the mean and σ² the biased variance
    /// <c>mean((x − μ)²)</c> (two passes, so no cancellation), both summed in the fixed 16-lane partition.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void LayerNormCore(ReadOnlySpan<float> x, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, Span<float> y, float epsilon, SimdPath path)
    {
        Debug.Assert(x.Length > 0 && gamma.Length == x.Length && beta.Length == x.Length && y.Length == x.Length);
        float mean = SumCore(x, path) / x.Length;
        float variance = SquaredDeviationSumCore(x, mean, path) / x.Length;
        float scale = 1f / MathF.Sqrt(variance + epsilon);
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float g = ref MemoryMarshal.GetReference(gamma);
        ref float b = ref MemoryMarshal.GetReference(beta);
        ref float ys = ref MemoryMarshal.GetReference(y);
        int i = 0;
        if (path >= SimdPath.Vector512)
        {
            i = NormalizeLoop<Vector512<float>, Lanes512>(ref xs, ref g, ref b, ref ys, x.Length, mean, scale, i);
        }
        if (path >= SimdPath.Vector256)
        {
            i = NormalizeLoop<Vector256<float>, Lanes256>(ref xs, ref g, ref b, ref ys, x.Length, mean, scale, i);
        }
        if (path >= SimdPath.Vector128)
        {
            i = NormalizeLoop<Vector128<float>, Lanes128>(ref xs, ref g, ref b, ref ys, x.Length, mean, scale, i);
        }
        NormalizeLoop<float, Lanes1>(ref xs, ref g, ref b, ref ys, x.Length, mean, scale, i);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int NormalizeLoop<TVec, TLanes>(ref float x, ref float gamma, ref float beta, ref float y, int length, float mean, float scale, int i)
        where TVec : struct where TLanes : struct, ILanes<TVec>
    {
        TVec m = TLanes.Splat(mean), s = TLanes.Splat(scale);
        for (; i + TLanes.Count <= length; i += TLanes.Count)
        {
            TVec t = TLanes.Multiply(TLanes.Subtract(TLanes.Load(ref x, i), m), s);
            TLanes.Store(TLanes.MultiplyAdd(t, TLanes.Load(ref gamma, i), TLanes.Load(ref beta, i)), ref y, i);
        }
        return i;
    }

    /// <summary><c>Σ x[i]</c> in the fixed 16-lane partition (see the class remarks).</summary>
    internal static float SumCore(ReadOnlySpan<float> x, SimdPath path) => Partitioned(x, 0f, squared: false, path);

    /// <summary><c>Σ (x[i] − center)²</c> in the fixed 16-lane partition.</summary>
    internal static float SquaredDeviationSumCore(ReadOnlySpan<float> x, float center, SimdPath path) => Partitioned(x, center, squared: true, path);

    /// <summary>The 16-lane partitioned sum of <c>x[i]</c> or of <c>(x[i] − center)²</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Partitioned(ReadOnlySpan<float> x, float center, bool squared, SimdPath path)
    {
        // Lanes past the end of a partial last chunk see `center`, which adds exactly 0 (+0 to the plain sum, (c − c)² to the squares).
        Span<float> tail = stackalloc float[SumLanes];
        int full = x.Length / SumLanes * SumLanes;
        int end = full < x.Length ? full + SumLanes : full;
        if (full < x.Length)
        {
            tail.Fill(squared ? center : 0f);
            x[full..].CopyTo(tail);
        }
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float ts = ref MemoryMarshal.GetReference(tail);
        if (path >= SimdPath.Vector512)
        {
            var c = Vector512.Create(center);
            var a = Vector512<float>.Zero;
            for (int i = 0; i < end; i += SumLanes)
            {
                var v = i < full ? Vector512.LoadUnsafe(ref xs, (nuint)i) : Vector512.LoadUnsafe(ref ts);
                a = squared ? Vector512.FusedMultiplyAdd(v - c, v - c, a) : a + v;
            }
            return Fold(a.GetLower() + a.GetUpper());
        }
        if (path >= SimdPath.Vector256)
        {
            var c = Vector256.Create(center);
            Vector256<float> a0 = Vector256<float>.Zero, a1 = Vector256<float>.Zero;
            for (int i = 0; i < end; i += SumLanes)
            {
                ref float chunk = ref i < full ? ref Unsafe.Add(ref xs, i) : ref ts;
                Vector256<float> v0 = Vector256.LoadUnsafe(ref chunk), v1 = Vector256.LoadUnsafe(ref chunk, 8);
                (a0, a1) = squared
                    ? (Vector256.FusedMultiplyAdd(v0 - c, v0 - c, a0), Vector256.FusedMultiplyAdd(v1 - c, v1 - c, a1))
                    : (a0 + v0, a1 + v1);
            }
            return Fold(a0 + a1);
        }
        if (path >= SimdPath.Vector128)
        {
            var c = Vector128.Create(center);
            Vector128<float> a0 = Vector128<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
            for (int i = 0; i < end; i += SumLanes)
            {
                ref float chunk = ref i < full ? ref Unsafe.Add(ref xs, i) : ref ts;
                Vector128<float> v0 = Vector128.LoadUnsafe(ref chunk), v1 = Vector128.LoadUnsafe(ref chunk, 4);
                Vector128<float> v2 = Vector128.LoadUnsafe(ref chunk, 8), v3 = Vector128.LoadUnsafe(ref chunk, 12);
                if (squared)
                {
                    (a0, a1) = (Vector128.FusedMultiplyAdd(v0 - c, v0 - c, a0), Vector128.FusedMultiplyAdd(v1 - c, v1 - c, a1));
                    (a2, a3) = (Vector128.FusedMultiplyAdd(v2 - c, v2 - c, a2), Vector128.FusedMultiplyAdd(v3 - c, v3 - c, a3));
                }
                else
                {
                    (a0, a1, a2, a3) = (a0 + v0, a1 + v1, a2 + v2, a3 + v3);
                }
            }
            // Lanes 0..3 are p[0..3], 4..7 p[4..7] and so on: (a0 + a2) is p[i] + p[i + 8], (a1 + a3) is p[i + 4] + p[i + 12].
            return FoldFour((a0 + a2) + (a1 + a3));
        }
        Span<float> p = stackalloc float[SumLanes];
        p.Clear();
        for (int i = 0; i < end; i += SumLanes)
        {
            var chunk = i < full ? x.Slice(i, SumLanes) : tail;
            for (int l = 0; l < SumLanes; l++)
            {
                float v = chunk[l];
                p[l] = squared ? MathF.FusedMultiplyAdd(v - center, v - center, p[l]) : p[l] + v;
            }
        }
        for (int l = 0; l < 8; l++)
        {
            p[l] += p[l + 8];
        }
        for (int l = 0; l < 4; l++)
        {
            p[l] += p[l + 4];
        }
        return (p[0] + p[2]) + (p[1] + p[3]);
    }

    /// <summary>
    /// Copies the <paramref name="rows"/> × <paramref name="columns"/> block at <paramref name="source"/> (row stride
    /// <paramref name="sourceStride"/>) transposed into <paramref name="destination"/> (row stride <paramref name="destinationStride"/>).
    /// </summary>
    internal static void TransposeCore(ReadOnlySpan<float> source, int sourceStride, int rows, int columns, Span<float> destination, int destinationStride)
    {
        Debug.Assert(rows == 0 || columns == 0 || (source.Length >= (long)(rows - 1) * sourceStride + columns && destination.Length >= (long)(columns - 1) * destinationStride + rows));
        ref float s = ref MemoryMarshal.GetReference(source);
        ref float d = ref MemoryMarshal.GetReference(destination);
        for (int r = 0; r < rows; r++)
        {
            ref float row = ref Unsafe.Add(ref s, (nint)r * sourceStride);
            ref float column = ref Unsafe.Add(ref d, r);
            for (int c = 0; c < columns; c++)
            {
                Unsafe.Add(ref column, (nint)c * destinationStride) = Unsafe.Add(ref row, c);
            }
        }
    }

    /// <summary>Folds 8 partial sums (lane i = p[i] + p[i + 8]) to one: lanes i + i + 4, then (0 + 2) + (1 + 3).</summary>
    private static float Fold(Vector256<float> eight) => FoldFour(eight.GetLower() + eight.GetUpper());

    private static float FoldFour(Vector128<float> four) => (four.GetElement(0) + four.GetElement(2)) + (four.GetElement(1) + four.GetElement(3));

    /// <summary>
    /// Softmax of one row of attention scores in place: <c>p[s] = exp(scale · (x[s] − max)) / Σ_s exp(…)</c>. Scaling
    /// after the shift equals softmax(scale · x) because scale &gt; 0 (max(scale·x) = scale·max x).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void SoftmaxCore(Span<float> row, float scale, SimdPath path)
    {
        Debug.Assert(row.Length > 0 && scale > 0f);
        // The maximum is exact whatever the order, so the library's vectorised one is path-independent.
        float max = System.Numerics.Tensors.TensorPrimitives.Max(row);
        ref float v = ref MemoryMarshal.GetReference(row);
        int i = 0;
        if (path >= SimdPath.Vector512)
        {
            i = ExpLoop<Vector512<float>, Lanes512>(ref v, row.Length, max, scale, i);
        }
        if (path >= SimdPath.Vector256)
        {
            i = ExpLoop<Vector256<float>, Lanes256>(ref v, row.Length, max, scale, i);
        }
        if (path >= SimdPath.Vector128)
        {
            i = ExpLoop<Vector128<float>, Lanes128>(ref v, row.Length, max, scale, i);
        }
        ExpLoop<float, Lanes1>(ref v, row.Length, max, scale, i);
        // Element-wise products are exact IEEE operations, so the library's vectorised multiply is path-independent too.
        System.Numerics.Tensors.TensorPrimitives.Multiply(row, 1f / SumCore(row, path), row);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int ExpLoop<TVec, TLanes>(ref float v, int length, float shift, float scale, int i) where TVec : struct where TLanes : struct, ILanes<TVec>
    {
        TVec m = TLanes.Splat(shift), s = TLanes.Splat(scale);
        for (; i + TLanes.Count <= length; i += TLanes.Count)
        {
            TLanes.Store(Exp<TVec, TLanes>(TLanes.Multiply(TLanes.Subtract(TLanes.Load(ref v, i), m), s)), ref v, i);
        }
        return i;
    }

    /// <summary>
    /// Cephes <c>expf</c> (Moshier): <c>k = round(x·log2 e)</c> by the 1.5·2^23 trick (round to nearest even in every
    /// width), <c>r = x − k·ln 2</c> in two parts (Cody–Waite), <c>e^r ≈ 1 + r + r²·P(r)</c> with a degree-5 minimax
    /// P, times <c>2^k</c> from the exponent bits; about 1 ulp on [−87, 88]. Inputs below −87 are clamped there
    /// (e^−87 ≈ 1.6e−38, still normal), which only softmax's far tail sees.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Exp<TVec, TLanes>(TVec x) where TVec : struct where TLanes : struct, ILanes<TVec>
    {
        const float Magic = 12582912f;
        x = TLanes.Max(x, TLanes.Splat(-87f));
        TVec k = TLanes.Subtract(TLanes.Add(TLanes.Multiply(x, TLanes.Splat(1.44269504088896341f)), TLanes.Splat(Magic)), TLanes.Splat(Magic));
        TVec r = TLanes.MultiplyAdd(k, TLanes.Splat(-0.693359375f), x);
        r = TLanes.MultiplyAdd(k, TLanes.Splat(2.12194440e-4f), r);
        TVec p = TLanes.Splat(1.9875691500e-4f);
        p = TLanes.MultiplyAdd(p, r, TLanes.Splat(1.3981999507e-3f));
        p = TLanes.MultiplyAdd(p, r, TLanes.Splat(8.3334519073e-3f));
        p = TLanes.MultiplyAdd(p, r, TLanes.Splat(4.1665795894e-2f));
        p = TLanes.MultiplyAdd(p, r, TLanes.Splat(1.6666665459e-1f));
        p = TLanes.MultiplyAdd(p, r, TLanes.Splat(5.0000001201e-1f));
        TVec e = TLanes.Add(TLanes.MultiplyAdd(p, TLanes.Multiply(r, r), r), TLanes.Splat(1f));
        return TLanes.Multiply(e, TLanes.Pow2(k));
    }
}
