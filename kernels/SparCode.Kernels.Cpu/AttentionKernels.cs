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

    /// <summary>Row r's results are multiplied by <c>rowScale[r]</c> before the store (softmax's 1 / Σ, applied after probabilities × values).</summary>
    RowScale = 16,
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
    /// An empty <paramref name="bias"/> starts every sum at +0; <paramref name="rowScale"/> (at least <paramref name="rows"/>
    /// floats, or empty) is read only with <see cref="GemmOptions.RowScale"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void GemmCore(ReadOnlySpan<float> x, int xStride, int rows, int inner, ReadOnlySpan<float> w, int wStride, ReadOnlySpan<float> bias,
        Span<float> y, int yStride, int outputs, GemmOptions options, ReadOnlySpan<float> rowScale, SimdPath path)
    {
        Debug.Assert((options & GemmOptions.RowScale) == 0 || rowScale.Length >= rows);
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
            ref MemoryMarshal.GetReference(bias), !bias.IsEmpty, ref MemoryMarshal.GetReference(y), yStride, options, ref MemoryMarshal.GetReference(rowScale));
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
    private ref struct Gemm(ref float x, int xStride, int rows, int inner, ref float w, int wStride, ref float bias, bool hasBias, ref float y, int yStride, GemmOptions options,
        ref float rowScale)
    {
        public readonly ref float RowScale = ref rowScale;
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
        if ((g.Options & GemmOptions.RowScale) != 0)
        {
            a = TLanes.Multiply(a, TLanes.Splat(Unsafe.Add(ref g.RowScale, r)));
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
    /// Layer norm of each of <paramref name="rows"/> rows of <paramref name="width"/> floats (row strides
    /// <paramref name="xStride"/>, <paramref name="yStride"/>): <c>y = (x − μ) / sqrt(σ² + ε) · gamma + beta</c> with μ the
    /// mean and σ² the biased variance <c>mean((x − μ)²)</c> (two passes, so no cancellation), both summed in the
    /// fixed 16-lane partition.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void LayerNormCore(ReadOnlySpan<float> x, int xStride, int rows, int width, ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta,
        Span<float> y, int yStride, float epsilon, SimdPath path)
    {
        Debug.Assert(width > 0 && gamma.Length == width && beta.Length == width);
        Debug.Assert(rows == 0 || (x.Length >= (long)(rows - 1) * xStride + width && y.Length >= (long)(rows - 1) * yStride + width));
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float g = ref MemoryMarshal.GetReference(gamma);
        ref float b = ref MemoryMarshal.GetReference(beta);
        ref float ys = ref MemoryMarshal.GetReference(y);
        for (int r = 0; r < rows; r++)
        {
            ref float row = ref Unsafe.Add(ref xs, (nint)r * xStride);
            ref float output = ref Unsafe.Add(ref ys, (nint)r * yStride);
            switch (path)
            {
                case SimdPath.Vector512:
                    LayerNormRow<Vector512<float>, Lanes512>(ref row, ref g, ref b, ref output, width, epsilon);
                    break;
                case SimdPath.Vector256:
                    LayerNormRow<Vector256<float>, Lanes256>(ref row, ref g, ref b, ref output, width, epsilon);
                    break;
                case SimdPath.Vector128:
                    LayerNormRow<Vector128<float>, Lanes128>(ref row, ref g, ref b, ref output, width, epsilon);
                    break;
                default:
                    LayerNormRow<float, Lanes1>(ref row, ref g, ref b, ref output, width, epsilon);
                    break;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void LayerNormRow<TVec, TLanes>(ref float x, ref float gamma, ref float beta, ref float y, int width, float epsilon)
        where TVec : unmanaged where TLanes : struct, ILanes<TVec>
    {
        float mean = PartitionedSum<TVec, TLanes>(ref x, width, 0f, squared: false) / width;
        float variance = PartitionedSum<TVec, TLanes>(ref x, width, mean, squared: true) / width;
        float scale = 1f / MathF.Sqrt(variance + epsilon);
        int i = NormalizeLoop<TVec, TLanes>(ref x, ref gamma, ref beta, ref y, width, mean, scale, 0);
        NormalizeLoop<float, Lanes1>(ref x, ref gamma, ref beta, ref y, width, mean, scale, i);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
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

    /// <summary>
    /// The 16-lane partitioned sum of <c>x[i]</c> or of <c>(x[i] − center)²</c>: each 16-element chunk is 16 / Count
    /// vectors, vector k adding into accumulator k, so lane l always holds the running sum of the elements l mod 16;
    /// a partial last chunk is padded with a value that adds exactly 0 (+0 to the plain sum, center to the
    /// squares); the 16 partial sums are folded 16 → 8 → 4 → 1 in scalar code, identically for every width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float PartitionedSum<TVec, TLanes>(ref float x, int length, float center, bool squared) where TVec : unmanaged where TLanes : struct, ILanes<TVec>
    {
        Span<float> p = stackalloc float[SumLanes];
        int full = length / SumLanes * SumLanes;
        var partial = new Partial<TVec>();
        TVec centerV = TLanes.Splat(center);
        for (int i = 0; i < full; i += SumLanes)
        {
            AddChunk<TVec, TLanes>(ref partial, ref Unsafe.Add(ref x, i), centerV, squared);
        }
        if (full < length)
        {
            p.Fill(squared ? center : 0f);
            MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref x, full), length - full).CopyTo(p);
            AddChunk<TVec, TLanes>(ref partial, ref MemoryMarshal.GetReference(p), centerV, squared);
        }
        return Fold<TVec, TLanes>(ref partial, p);
    }

    /// <summary>
    /// The 16 running lane sums as 16 / Count vectors: the first four are locals (registers) for the vector widths
    /// (1, 2 or 4 vectors per chunk); the scalar lanes use all 16 fields.
    /// </summary>
    private struct Partial<TVec> where TVec : unmanaged
    {
        public TVec A0, A1, A2, A3;
        public LanesFourToFifteen Rest;
    }

    /// <summary>Lanes 4..15 of the scalar path's lane sums.</summary>
    [InlineArray(12)]
    private struct LanesFourToFifteen
    {
        private float _element;
    }

    /// <summary>Adds one 16-element chunk (or its squared deviations) into the lane sums; the width tests fold away per instantiation.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void AddChunk<TVec, TLanes>(ref Partial<TVec> acc, ref float chunk, TVec center, bool squared) where TVec : unmanaged where TLanes : struct, ILanes<TVec>
    {
        int c = TLanes.Count;
        acc.A0 = Accumulate<TVec, TLanes>(acc.A0, TLanes.Load(ref chunk, 0), center, squared);
        if (c <= 8)
        {
            acc.A1 = Accumulate<TVec, TLanes>(acc.A1, TLanes.Load(ref chunk, c), center, squared);
        }
        if (c <= 4)
        {
            acc.A2 = Accumulate<TVec, TLanes>(acc.A2, TLanes.Load(ref chunk, 2 * c), center, squared);
            acc.A3 = Accumulate<TVec, TLanes>(acc.A3, TLanes.Load(ref chunk, 3 * c), center, squared);
        }
        if (c == 1)
        {
            for (int l = 0; l < 12; l++)
            {
                float v = Unsafe.Add(ref chunk, 4 + l);
                float cs = Unsafe.As<TVec, float>(ref center);
                acc.Rest[l] = squared ? MathF.FusedMultiplyAdd(v - cs, v - cs, acc.Rest[l]) : acc.Rest[l] + v;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec Accumulate<TVec, TLanes>(TVec sum, TVec v, TVec center, bool squared) where TVec : unmanaged where TLanes : struct, ILanes<TVec> =>
        squared ? TLanes.MultiplyAdd(TLanes.Subtract(v, center), TLanes.Subtract(v, center), sum) : TLanes.Add(sum, v);

    /// <summary>Folds the 16 lane sums 16 → 8 → 4 → 1 (lanes l and l + 8, then l and l + 4, then (0 + 2) + (1 + 3)) in <paramref name="work"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Fold<TVec, TLanes>(ref Partial<TVec> acc, Span<float> work) where TVec : unmanaged where TLanes : struct, ILanes<TVec>
    {
        int c = TLanes.Count;
        ref float w = ref MemoryMarshal.GetReference(work);
        TLanes.Store(acc.A0, ref w, 0);
        if (c <= 8)
        {
            TLanes.Store(acc.A1, ref w, c);
        }
        if (c <= 4)
        {
            TLanes.Store(acc.A2, ref w, 2 * c);
            TLanes.Store(acc.A3, ref w, 3 * c);
        }
        if (c == 1)
        {
            ((ReadOnlySpan<float>)acc.Rest).CopyTo(work[4..]);
        }
        for (int l = 0; l < 8; l++)
        {
            work[l] += work[l + 8];
        }
        for (int l = 0; l < 4; l++)
        {
            work[l] += work[l + 4];
        }
        return (work[0] + work[2]) + (work[1] + work[3]);
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

    /// <summary>
    /// Softmax numerators of one row of attention scores in place, <c>e[s] = exp(scale · (x[s] − max))</c>; returns
    /// their sum Σ e (the denominator, in the fixed 16-lane partition). Scaling after the shift equals
    /// softmax(scale · x) because scale &gt; 0. The caller divides later, after probabilities × values
    /// (<see cref="GemmOptions.RowScale"/>), which spares a pass over the row.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static float SoftmaxNumeratorsCore(Span<float> row, float scale, SimdPath path)
    {
        Debug.Assert(row.Length > 0 && scale > 0f);
        // The maximum is exact whatever the order, so the library's vectorised one is path-independent.
        float max = System.Numerics.Tensors.TensorPrimitives.Max(row);
        ref float v = ref MemoryMarshal.GetReference(row);
        return path switch
        {
            SimdPath.Vector512 => ExpSum<Vector512<float>, Lanes512>(ref v, row.Length, max, scale),
            SimdPath.Vector256 => ExpSum<Vector256<float>, Lanes256>(ref v, row.Length, max, scale),
            SimdPath.Vector128 => ExpSum<Vector128<float>, Lanes128>(ref v, row.Length, max, scale),
            _ => ExpSum<float, Lanes1>(ref v, row.Length, max, scale),
        };
    }

    /// <summary>
    /// exp of every element in place and their sum in the 16-lane partition: each 16-element chunk is 16 / Count
    /// vectors, vector k adding into accumulator k, so lane l of the accumulators always holds element l mod 16's
    /// running sum; a partial last chunk is padded to 16 and added with its padding zeroed; the 16 partial sums
    /// are folded 16 → 8 → 4 → 1 in scalar code, identically for every width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float ExpSum<TVec, TLanes>(ref float v, int length, float shift, float scale) where TVec : unmanaged where TLanes : struct, ILanes<TVec>
    {
        var partial = new Partial<TVec>();
        TVec m = TLanes.Splat(shift), s = TLanes.Splat(scale);
        int full = length / SumLanes * SumLanes;
        for (int i = 0; i < full; i += SumLanes)
        {
            ExpChunk<TVec, TLanes>(ref Unsafe.Add(ref v, i), m, s);
            AddChunk<TVec, TLanes>(ref partial, ref Unsafe.Add(ref v, i), default, squared: false);
        }
        Span<float> p = stackalloc float[SumLanes];
        if (full < length)
        {
            // The partial chunk goes through the same vectors, padded with `shift` (exp(0) = 1), then the padding is zeroed.
            int rest = length - full;
            var tail = MemoryMarshal.CreateSpan(ref Unsafe.Add(ref v, full), rest);
            p.Fill(shift);
            tail.CopyTo(p);
            ExpChunk<TVec, TLanes>(ref MemoryMarshal.GetReference(p), m, s);
            p[rest..].Clear();
            p[..rest].CopyTo(tail);
            AddChunk<TVec, TLanes>(ref partial, ref MemoryMarshal.GetReference(p), default, squared: false);
        }
        return Fold<TVec, TLanes>(ref partial, p);
    }

    /// <summary><c>exp(scale · (x − shift))</c> of one 16-element chunk in place.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void ExpChunk<TVec, TLanes>(ref float chunk, TVec shift, TVec scale) where TVec : unmanaged where TLanes : struct, ILanes<TVec>
    {
        for (int k = 0; k < SumLanes; k += TLanes.Count)
        {
            TLanes.Store(Exp<TVec, TLanes>(TLanes.Multiply(TLanes.Subtract(TLanes.Load(ref chunk, k), shift), scale)), ref chunk, k);
        }
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
