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
        int o = 0;
        if (path >= SimdPath.Vector512 && Vector512.IsHardwareAccelerated)
        {
            int width = Vector512<float>.Count;
            // Eight independent accumulators (128 outputs) keep both FMA pipes busy through the 4-cycle FMA latency.
            for (; o + 8 * width <= outputs; o += 8 * width)
            {
                Vector512<float> a0 = Vector512.LoadUnsafe(ref b, (nuint)o), a1 = Vector512.LoadUnsafe(ref b, (nuint)(o + width));
                Vector512<float> a2 = Vector512.LoadUnsafe(ref b, (nuint)(o + 2 * width)), a3 = Vector512.LoadUnsafe(ref b, (nuint)(o + 3 * width));
                Vector512<float> a4 = Vector512.LoadUnsafe(ref b, (nuint)(o + 4 * width)), a5 = Vector512.LoadUnsafe(ref b, (nuint)(o + 5 * width));
                Vector512<float> a6 = Vector512.LoadUnsafe(ref b, (nuint)(o + 6 * width)), a7 = Vector512.LoadUnsafe(ref b, (nuint)(o + 7 * width));
                for (int j = 0; j < input.Length; j++)
                {
                    var x = Vector512.Create(input[j]);
                    ref float row = ref Unsafe.Add(ref w, (nint)j * outputs + o);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref row), x, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref row, (nuint)width), x, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref row, (nuint)(2 * width)), x, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref row, (nuint)(3 * width)), x, a3);
                    a4 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref row, (nuint)(4 * width)), x, a4);
                    a5 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref row, (nuint)(5 * width)), x, a5);
                    a6 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref row, (nuint)(6 * width)), x, a6);
                    a7 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref row, (nuint)(7 * width)), x, a7);
                }
                if (relu)
                {
                    (a0, a1, a2, a3) = (Vector512.Max(a0, Vector512<float>.Zero), Vector512.Max(a1, Vector512<float>.Zero), Vector512.Max(a2, Vector512<float>.Zero), Vector512.Max(a3, Vector512<float>.Zero));
                    (a4, a5, a6, a7) = (Vector512.Max(a4, Vector512<float>.Zero), Vector512.Max(a5, Vector512<float>.Zero), Vector512.Max(a6, Vector512<float>.Zero), Vector512.Max(a7, Vector512<float>.Zero));
                }
                a0.StoreUnsafe(ref y, (nuint)o);
                a1.StoreUnsafe(ref y, (nuint)(o + width));
                a2.StoreUnsafe(ref y, (nuint)(o + 2 * width));
                a3.StoreUnsafe(ref y, (nuint)(o + 3 * width));
                a4.StoreUnsafe(ref y, (nuint)(o + 4 * width));
                a5.StoreUnsafe(ref y, (nuint)(o + 5 * width));
                a6.StoreUnsafe(ref y, (nuint)(o + 6 * width));
                a7.StoreUnsafe(ref y, (nuint)(o + 7 * width));
            }
            for (; o + 4 * width <= outputs; o += 4 * width)
            {
                Vector512<float> a0 = Vector512.LoadUnsafe(ref b, (nuint)o), a1 = Vector512.LoadUnsafe(ref b, (nuint)(o + width));
                Vector512<float> a2 = Vector512.LoadUnsafe(ref b, (nuint)(o + 2 * width)), a3 = Vector512.LoadUnsafe(ref b, (nuint)(o + 3 * width));
                for (int j = 0; j < input.Length; j++)
                {
                    var x = Vector512.Create(input[j]);
                    ref float row = ref Unsafe.Add(ref w, (nint)j * outputs + o);
                    a0 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref row), x, a0);
                    a1 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref row, (nuint)width), x, a1);
                    a2 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref row, (nuint)(2 * width)), x, a2);
                    a3 = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref row, (nuint)(3 * width)), x, a3);
                }
                if (relu)
                {
                    (a0, a1, a2, a3) = (Vector512.Max(a0, Vector512<float>.Zero), Vector512.Max(a1, Vector512<float>.Zero), Vector512.Max(a2, Vector512<float>.Zero), Vector512.Max(a3, Vector512<float>.Zero));
                }
                a0.StoreUnsafe(ref y, (nuint)o);
                a1.StoreUnsafe(ref y, (nuint)(o + width));
                a2.StoreUnsafe(ref y, (nuint)(o + 2 * width));
                a3.StoreUnsafe(ref y, (nuint)(o + 3 * width));
            }
            for (; o + width <= outputs; o += width)
            {
                var a = Vector512.LoadUnsafe(ref b, (nuint)o);
                for (int j = 0; j < input.Length; j++)
                {
                    a = Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref w, (nuint)((nint)j * outputs + o)), Vector512.Create(input[j]), a);
                }
                (relu ? Vector512.Max(a, Vector512<float>.Zero) : a).StoreUnsafe(ref y, (nuint)o);
            }
        }
        if (path >= SimdPath.Vector256 && Vector256.IsHardwareAccelerated)
        {
            int width = Vector256<float>.Count;
            for (; o + 4 * width <= outputs; o += 4 * width)
            {
                Vector256<float> a0 = Vector256.LoadUnsafe(ref b, (nuint)o), a1 = Vector256.LoadUnsafe(ref b, (nuint)(o + width));
                Vector256<float> a2 = Vector256.LoadUnsafe(ref b, (nuint)(o + 2 * width)), a3 = Vector256.LoadUnsafe(ref b, (nuint)(o + 3 * width));
                for (int j = 0; j < input.Length; j++)
                {
                    var x = Vector256.Create(input[j]);
                    ref float row = ref Unsafe.Add(ref w, (nint)j * outputs + o);
                    a0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref row), x, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref row, (nuint)width), x, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref row, (nuint)(2 * width)), x, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref row, (nuint)(3 * width)), x, a3);
                }
                if (relu)
                {
                    (a0, a1, a2, a3) = (Vector256.Max(a0, Vector256<float>.Zero), Vector256.Max(a1, Vector256<float>.Zero), Vector256.Max(a2, Vector256<float>.Zero), Vector256.Max(a3, Vector256<float>.Zero));
                }
                a0.StoreUnsafe(ref y, (nuint)o);
                a1.StoreUnsafe(ref y, (nuint)(o + width));
                a2.StoreUnsafe(ref y, (nuint)(o + 2 * width));
                a3.StoreUnsafe(ref y, (nuint)(o + 3 * width));
            }
            for (; o + width <= outputs; o += width)
            {
                var a = Vector256.LoadUnsafe(ref b, (nuint)o);
                for (int j = 0; j < input.Length; j++)
                {
                    a = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref w, (nuint)((nint)j * outputs + o)), Vector256.Create(input[j]), a);
                }
                (relu ? Vector256.Max(a, Vector256<float>.Zero) : a).StoreUnsafe(ref y, (nuint)o);
            }
        }
        if (path >= SimdPath.Vector128 && Vector128.IsHardwareAccelerated)
        {
            int width = Vector128<float>.Count;
            for (; o + 4 * width <= outputs; o += 4 * width)
            {
                Vector128<float> a0 = Vector128.LoadUnsafe(ref b, (nuint)o), a1 = Vector128.LoadUnsafe(ref b, (nuint)(o + width));
                Vector128<float> a2 = Vector128.LoadUnsafe(ref b, (nuint)(o + 2 * width)), a3 = Vector128.LoadUnsafe(ref b, (nuint)(o + 3 * width));
                for (int j = 0; j < input.Length; j++)
                {
                    var x = Vector128.Create(input[j]);
                    ref float row = ref Unsafe.Add(ref w, (nint)j * outputs + o);
                    a0 = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref row), x, a0);
                    a1 = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref row, (nuint)width), x, a1);
                    a2 = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref row, (nuint)(2 * width)), x, a2);
                    a3 = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref row, (nuint)(3 * width)), x, a3);
                }
                if (relu)
                {
                    (a0, a1, a2, a3) = (Vector128.Max(a0, Vector128<float>.Zero), Vector128.Max(a1, Vector128<float>.Zero), Vector128.Max(a2, Vector128<float>.Zero), Vector128.Max(a3, Vector128<float>.Zero));
                }
                a0.StoreUnsafe(ref y, (nuint)o);
                a1.StoreUnsafe(ref y, (nuint)(o + width));
                a2.StoreUnsafe(ref y, (nuint)(o + 2 * width));
                a3.StoreUnsafe(ref y, (nuint)(o + 3 * width));
            }
            for (; o + width <= outputs; o += width)
            {
                var a = Vector128.LoadUnsafe(ref b, (nuint)o);
                for (int j = 0; j < input.Length; j++)
                {
                    a = Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref w, (nuint)((nint)j * outputs + o)), Vector128.Create(input[j]), a);
                }
                (relu ? Vector128.Max(a, Vector128<float>.Zero) : a).StoreUnsafe(ref y, (nuint)o);
            }
        }
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

    /// <summary>Adds <paramref name="row"/> to <paramref name="sum"/> element-wise.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static void AddInPlace(Span<float> sum, ReadOnlySpan<float> row) => TensorPrimitives.Add(sum, row, sum);

    /// <summary>
    /// Asks the memory system for every cache line of <paramref name="row"/> without waiting for it (the
    /// query tower prefetches all history rows before summing them: one-process A/B on a 1M-item table,
    /// search p50 −1 to −2 µs). No effect without SSE.
    /// </summary>
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
