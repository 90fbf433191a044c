using System.Diagnostics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SparCode.Kernels.Cpu;

/// <summary>Dense layers (matrix-vector products) and row sums for the query tower.</summary>
public static class DenseKernels
{
    /// <summary>
    /// <c>output[o] = act(bias[o] + Σ_j input[j] · weights[j, o])</c>, with <paramref name="weights"/>
    /// stored transposed (row-major <c>input.Length × output.Length</c>, one row per input) and
    /// <c>act</c> ReLU or the identity.
    /// </summary>
    /// <remarks>
    /// The transposed layout turns the product into a sum of scaled rows (axpy form): a block of
    /// outputs stays in vector registers while the inputs stream past, with no horizontal reductions.
    /// Every path adds the terms in input order with a fused multiply-add, so all SIMD widths and the
    /// scalar path give bit-identical results.
    /// </remarks>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static void DenseTransposed(ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, ReadOnlySpan<float> input, Span<float> output, bool relu)
    {
        if (weights.Length != (long)input.Length * output.Length || bias.Length != output.Length)
        {
            throw new ArgumentException(
                $"Dense layer shapes disagree: weights {weights.Length} (expected {(long)input.Length * output.Length} = {input.Length}×{output.Length}), bias {bias.Length} (expected {output.Length}).");
        }
        DenseTransposedCore(weights, bias, input, output, relu, Simd.Best);
    }

    /// <summary>Transposes a row-major <paramref name="rows"/> × <paramref name="columns"/> matrix.</summary>
    /// <exception cref="ArgumentException">The matrix is not <paramref name="rows"/> × <paramref name="columns"/>.</exception>
    public static float[] Transpose(ReadOnlySpan<float> matrix, int rows, int columns)
    {
        if (rows < 0 || columns < 0 || matrix.Length != (long)rows * columns)
        {
            throw new ArgumentException($"Matrix has {matrix.Length} elements; expected {rows} × {columns}.", nameof(matrix));
        }
        var result = new float[matrix.Length];
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < columns; c++)
            {
                result[c * rows + r] = matrix[r * columns + c];
            }
        }
        return result;
    }

    /// <summary>The unchecked kernel; <paramref name="path"/> caps the vector width (tests force each one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void DenseTransposedCore(ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, ReadOnlySpan<float> input, Span<float> output, bool relu, SimdPath path)
    {
        int outputs = output.Length;
        Debug.Assert(weights.Length == input.Length * outputs && bias.Length == outputs);
        ref float w = ref MemoryMarshal.GetReference(weights);
        ref float b = ref MemoryMarshal.GetReference(bias);
        ref float y = ref MemoryMarshal.GetReference(output);
        int o = DenseBlocks<Lanes512, Vector512<float>>(ref w, ref b, input, ref y, outputs, 0, relu, path);
        o = DenseBlocks<Lanes256, Vector256<float>>(ref w, ref b, input, ref y, outputs, o, relu, path);
        o = DenseBlocks<Lanes128, Vector128<float>>(ref w, ref b, input, ref y, outputs, o, relu, path);
        // Scalar tail (or the whole layer without SIMD): the outputs themselves accumulate, inputs outer and
        // outputs inner, so the weights are read in memory order; each output still adds its terms in j order.
        if (o < outputs)
        {
            var tail = output[o..];
            bias[o..].CopyTo(tail);
            for (int j = 0; j < input.Length; j++)
            {
                float x = input[j];
                ref float row = ref Unsafe.Add(ref w, (nint)j * outputs);
                for (int t = o; t < outputs; t++)
                {
                    ref float a = ref Unsafe.Add(ref y, t);
                    a = MathF.FusedMultiplyAdd(Unsafe.Add(ref row, t), x, a);
                }
            }
            if (relu)
            {
                foreach (ref float a in tail)
                {
                    a = MathF.Max(a, 0f);
                }
            }
        }
    }

    /// <summary>
    /// Outputs from <paramref name="o"/> on, in whole vectors of <typeparamref name="W"/>; returns the first
    /// output left for a narrower width (all of them where <paramref name="path"/> or the hardware rules the
    /// width out). Each output adds its terms in input order (bias first, one fused
    /// multiply-add per input, then ReLU), so the blocking below never changes a result.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static int DenseBlocks<W, TVec>(ref float w, ref float b, ReadOnlySpan<float> input, ref float y, int outputs, int o, bool relu, SimdPath path)
        where W : struct, IVectorWidth<TVec>
        where TVec : struct
    {
        if (path < W.Path || !W.IsHardwareAccelerated)
        {
            return o;
        }
        int width = W.Count;
        var zero = W.Splat(0f);
        // Eight independent accumulators keep both FMA pipes busy through the FMA latency; each input's
        // broadcast is then shared by eight vectors of weights.
        for (; o + 8 * width <= outputs; o += 8 * width)
        {
            TVec a0 = W.Load(ref b, o), a1 = W.Load(ref b, o + width), a2 = W.Load(ref b, o + 2 * width), a3 = W.Load(ref b, o + 3 * width);
            TVec a4 = W.Load(ref b, o + 4 * width), a5 = W.Load(ref b, o + 5 * width), a6 = W.Load(ref b, o + 6 * width), a7 = W.Load(ref b, o + 7 * width);
            for (int j = 0; j < input.Length; j++)
            {
                var x = W.Splat(input[j]);
                ref float row = ref Unsafe.Add(ref w, (nint)j * outputs + o);
                a0 = W.MultiplyAdd(W.Load(ref row, 0), x, a0);
                a1 = W.MultiplyAdd(W.Load(ref row, width), x, a1);
                a2 = W.MultiplyAdd(W.Load(ref row, 2 * width), x, a2);
                a3 = W.MultiplyAdd(W.Load(ref row, 3 * width), x, a3);
                a4 = W.MultiplyAdd(W.Load(ref row, 4 * width), x, a4);
                a5 = W.MultiplyAdd(W.Load(ref row, 5 * width), x, a5);
                a6 = W.MultiplyAdd(W.Load(ref row, 6 * width), x, a6);
                a7 = W.MultiplyAdd(W.Load(ref row, 7 * width), x, a7);
            }
            if (relu)
            {
                (a0, a1, a2, a3) = (W.Max(a0, zero), W.Max(a1, zero), W.Max(a2, zero), W.Max(a3, zero));
                (a4, a5, a6, a7) = (W.Max(a4, zero), W.Max(a5, zero), W.Max(a6, zero), W.Max(a7, zero));
            }
            W.Store(a0, ref y, o);
            W.Store(a1, ref y, o + width);
            W.Store(a2, ref y, o + 2 * width);
            W.Store(a3, ref y, o + 3 * width);
            W.Store(a4, ref y, o + 4 * width);
            W.Store(a5, ref y, o + 5 * width);
            W.Store(a6, ref y, o + 6 * width);
            W.Store(a7, ref y, o + 7 * width);
        }
        for (; o + 4 * width <= outputs; o += 4 * width)
        {
            TVec a0 = W.Load(ref b, o), a1 = W.Load(ref b, o + width), a2 = W.Load(ref b, o + 2 * width), a3 = W.Load(ref b, o + 3 * width);
            for (int j = 0; j < input.Length; j++)
            {
                var x = W.Splat(input[j]);
                ref float row = ref Unsafe.Add(ref w, (nint)j * outputs + o);
                a0 = W.MultiplyAdd(W.Load(ref row, 0), x, a0);
                a1 = W.MultiplyAdd(W.Load(ref row, width), x, a1);
                a2 = W.MultiplyAdd(W.Load(ref row, 2 * width), x, a2);
                a3 = W.MultiplyAdd(W.Load(ref row, 3 * width), x, a3);
            }
            if (relu)
            {
                (a0, a1, a2, a3) = (W.Max(a0, zero), W.Max(a1, zero), W.Max(a2, zero), W.Max(a3, zero));
            }
            W.Store(a0, ref y, o);
            W.Store(a1, ref y, o + width);
            W.Store(a2, ref y, o + 2 * width);
            W.Store(a3, ref y, o + 3 * width);
        }
        for (; o + width <= outputs; o += width)
        {
            var a = W.Load(ref b, o);
            for (int j = 0; j < input.Length; j++)
            {
                a = W.MultiplyAdd(W.Load(ref w, (nint)j * outputs + o), W.Splat(input[j]), a);
            }
            W.Store(relu ? W.Max(a, zero) : a, ref y, o);
        }
        return o;
    }

    /// <summary>Adds <paramref name="row"/> to <paramref name="sum"/> element-wise.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static void AddInPlace(Span<float> sum, ReadOnlySpan<float> row) => TensorPrimitives.Add(sum, row, sum);

    /// <summary>
    /// Asks the memory system for every cache line of <paramref name="row"/> without waiting for it: the query
    /// tower prefetches all history rows before summing them. No effect without SSE.
    /// </summary>
    /// <remarks>Measured gain: perf/results/2026-12-02-simd-generic/.</remarks>
    public static unsafe void Prefetch(ReadOnlySpan<float> row)
    {
        if (!Sse.IsSupported)
        {
            return;
        }
        fixed (float* start = row)
        {
            for (int i = 0; i < row.Length; i += 16)
            {
                Sse.Prefetch0(start + i);
            }
        }
    }

    /// <summary>Multiplies every element of <paramref name="values"/> by <paramref name="factor"/>.</summary>
    public static void ScaleInPlace(Span<float> values, float factor) => TensorPrimitives.Multiply(values, factor, values);
}
