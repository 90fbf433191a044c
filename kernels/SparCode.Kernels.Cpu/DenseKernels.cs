using System.Numerics.Tensors;

namespace SparCode.Kernels.Cpu;

/// <summary>Dense layers and row sums for the query tower, on <see cref="TensorPrimitives"/>.</summary>
/// <remarks>
/// <see cref="TensorPrimitives"/> carries its own Vector512 → Vector256 → Vector128 → scalar dispatch,
/// which the same <c>DOTNET_Enable*</c> switches force; the kernel tests compare it with a scalar
/// reference under each switch.
/// </remarks>
public static class DenseKernels
{
    /// <summary>
    /// <c>output[o] = act(bias[o] + Σ_j weights[o, j] · input[j])</c>, with <paramref name="weights"/>
    /// row-major <c>output.Length × input.Length</c> and <c>act</c> ReLU or the identity.
    /// </summary>
    /// <exception cref="ArgumentException">The shapes do not agree.</exception>
    public static void Dense(ReadOnlySpan<float> weights, ReadOnlySpan<float> bias, ReadOnlySpan<float> input, Span<float> output, bool relu)
    {
        int inputs = input.Length;
        if (weights.Length != (long)inputs * output.Length || bias.Length != output.Length)
        {
            throw new ArgumentException(
                $"Dense layer shapes disagree: weights {weights.Length} (expected {(long)inputs * output.Length} = {output.Length}×{inputs}), bias {bias.Length} (expected {output.Length}).");
        }
        for (int o = 0; o < output.Length; o++)
        {
            float value = bias[o] + TensorPrimitives.Dot(weights.Slice(o * inputs, inputs), input);
            output[o] = relu ? MathF.Max(value, 0f) : value;
        }
    }

    /// <summary>Adds <paramref name="row"/> to <paramref name="sum"/> element-wise.</summary>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static void AddInPlace(Span<float> sum, ReadOnlySpan<float> row) => TensorPrimitives.Add(sum, row, sum);

    /// <summary>Multiplies every element of <paramref name="values"/> by <paramref name="factor"/>.</summary>
    public static void ScaleInPlace(Span<float> values, float factor) => TensorPrimitives.Multiply(values, factor, values);
}
