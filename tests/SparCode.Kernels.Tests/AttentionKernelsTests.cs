using SparCode.Kernels.Cpu;

namespace SparCode.Kernels.Tests;

/// <summary>
/// Every path of the attention kernels against the scalar path, bit for bit, and the scalar path against plain
/// math. All paths run, also those wider than this machine's (Vector512 in software without AVX-512).
/// </summary>
public class AttentionKernelsTests
{
    public static TheoryData<SimdPath> VectorPaths() => [SimdPath.Vector128, SimdPath.Vector256, SimdPath.Vector512];

    /// <summary>0 .. a few Vector512 widths + 1, plus uneven larger sizes.</summary>
    private static readonly int[] Lengths = [.. Enumerable.Range(0, 50), 63, 64, 65, 97];

    private static float[] Gemm(float[] x, int xStride, int rows, int inner, float[] w, int wStride, float[] bias, float[] y, int yStride, int outputs, GemmOptions options, SimdPath path)
    {
        var result = (float[])y.Clone();
        float[] rowScale = [.. Enumerable.Range(0, rows).Select(r => 0.5f + r * 0.37f)];
        AttentionKernels.GemmCore(x, xStride, rows, inner, w, wStride, bias, result, yStride, outputs, options, rowScale, path);
        return result;
    }

    [Theory]
    [MemberData(nameof(VectorPaths))]
    public void Gemm_equals_the_scalar_path_bit_for_bit(SimdPath path)
    {
        var random = new Random(3);
        foreach (int outputs in Lengths)
        {
            foreach (int rows in new[] { 0, 1, 3, 4, 5, 9 })
            {
                foreach (var options in new[] { GemmOptions.None, GemmOptions.Relu, GemmOptions.Accumulate, GemmOptions.CausalInner, GemmOptions.CausalOutputs, GemmOptions.RowScale | GemmOptions.CausalInner })
                {
                    int inner = (options & GemmOptions.CausalInner) != 0 ? rows : random.Next(0, 20);
                    int xStride = inner + random.Next(3), wStride = outputs + random.Next(3), yStride = outputs + random.Next(3);
                    var x = Paths.RandomFloats(random, Math.Max(0, rows * xStride));
                    var w = Paths.RandomFloats(random, Math.Max(0, inner * wStride));
                    float[] bias = random.Next(2) == 0 ? [] : Paths.RandomFloats(random, outputs);
                    var y = Paths.RandomFloats(random, Math.Max(0, rows * yStride));
                    var expected = Gemm(x, xStride, rows, inner, w, wStride, bias, y, yStride, outputs, options, SimdPath.Scalar);
                    var got = Gemm(x, xStride, rows, inner, w, wStride, bias, y, yStride, outputs, options, path);
                    if (options == GemmOptions.CausalOutputs)
                    {
                        // Only row r's outputs 0..r are defined; which others a tile fills depends on its width.
                        for (int r = 0; r < rows; r++)
                        {
                            Assert.Equal(expected.AsSpan(r * yStride, Math.Min(outputs, r + 1)).ToArray(), got.AsSpan(r * yStride, Math.Min(outputs, r + 1)).ToArray());
                        }
                    }
                    else
                    {
                        Assert.Equal(expected, got);
                    }
                }
            }
        }
    }

    [Fact]
    public void Gemm_scalar_path_is_the_plain_product()
    {
        var random = new Random(4);
        const int rows = 7, inner = 13, outputs = 11, stride = 15;
        var x = Paths.RandomFloats(random, rows * stride);
        var w = Paths.RandomFloats(random, inner * outputs);
        var bias = Paths.RandomFloats(random, outputs);
        var y = Paths.RandomFloats(random, rows * outputs);
        foreach (var options in new[] { GemmOptions.None, GemmOptions.Relu, GemmOptions.Accumulate, GemmOptions.CausalInner, GemmOptions.CausalOutputs, GemmOptions.RowScale })
        {
            var got = Gemm(x, stride, rows, inner, w, outputs, bias, y, outputs, outputs, options, SimdPath.Scalar);
            for (int r = 0; r < rows; r++)
            {
                // Causal inner: the 4-row tile [0, 4) sums j < 4, the tile [4, 8) would sum j < 8; rows 4..6 are singles (j < r + 1).
                int terms = options == GemmOptions.CausalInner ? Math.Min(inner, r < 4 ? 4 : r + 1) : inner;
                for (int o = 0; o < (options == GemmOptions.CausalOutputs ? Math.Min(outputs, r + 1) : outputs); o++)
                {
                    float a = bias[o];
                    for (int j = 0; j < terms; j++)
                    {
                        a = MathF.FusedMultiplyAdd(w[j * outputs + o], x[r * stride + j], a);
                    }
                    float expected = options switch
                    {
                        GemmOptions.Relu => MathF.Max(a, 0f),
                        GemmOptions.Accumulate => y[r * outputs + o] + a,
                        GemmOptions.RowScale => a * (0.5f + r * 0.37f),
                        _ => a,
                    };
                    Assert.Equal(expected, got[r * outputs + o]);
                }
            }
        }
    }

    [Theory]
    [MemberData(nameof(VectorPaths))]
    public void Layer_norm_and_softmax_equal_the_scalar_path_bit_for_bit(SimdPath path)
    {
        var random = new Random(5);
        foreach (int length in Lengths.Where(n => n > 0))
        {
            var x = Paths.RandomFloats(random, length, 3f);
            var gamma = Paths.RandomFloats(random, length);
            var beta = Paths.RandomFloats(random, length);
            var expected = new float[length];
            var got = new float[length];
            AttentionKernels.LayerNormCore(x, length, 1, length, gamma, beta, expected, length, 1e-5f, SimdPath.Scalar);
            AttentionKernels.LayerNormCore(x, length, 1, length, gamma, beta, got, length, 1e-5f, path);
            Assert.Equal(expected, got);

            var scores = Paths.RandomFloats(random, length, 20f);
            var expectedP = (float[])scores.Clone();
            var gotP = (float[])scores.Clone();
            float expectedSum = AttentionKernels.SoftmaxNumeratorsCore(expectedP, 0.3f, SimdPath.Scalar);
            Assert.Equal(expectedSum, AttentionKernels.SoftmaxNumeratorsCore(gotP, 0.3f, path));
            Assert.Equal(expectedP, gotP);
        }
    }

    [Fact]
    public void Layer_norm_and_softmax_match_double_precision()
    {
        var random = new Random(6);
        foreach (int length in Lengths.Where(n => n > 0))
        {
            var x = Paths.RandomFloats(random, length, 3f).Select(v => v + 5f).ToArray();
            var gamma = Paths.RandomFloats(random, length);
            var beta = Paths.RandomFloats(random, length);
            var y = new float[length];
            AttentionKernels.LayerNormCore(x, length, 1, length, gamma, beta, y, length, 1e-5f, SimdPath.Scalar);
            double mean = x.Average(v => (double)v);
            double variance = x.Average(v => (v - mean) * (v - mean));
            for (int i = 0; i < length; i++)
            {
                double expected = (x[i] - mean) / Math.Sqrt(variance + 1e-5) * gamma[i] + beta[i];
                Assert.True(Math.Abs(y[i] - expected) < 1e-5, $"layer norm of {length}: element {i} is {y[i]}, expected {expected}");
            }

            // Scores spread over ±60 after scaling: exp sees arguments down to about −120, clamped at −87.
            var scores = Paths.RandomFloats(random, length, 200f);
            var p = (float[])scores.Clone();
            float denominator = AttentionKernels.SoftmaxNumeratorsCore(p, 0.3f, SimdPath.Scalar);
            p = [.. p.Select(e => e / denominator)];
            double max = scores.Max() * 0.3;
            double sum = scores.Sum(s => Math.Exp(s * 0.3 - max));
            for (int i = 0; i < length; i++)
            {
                double expected = Math.Exp(scores[i] * 0.3 - max) / sum;
                // The float argument (s − max)·scale, up to about 120, is rounded to ~1e-5 absolute, which exp turns into ~1e-5 relative.
                Assert.True(Math.Abs(p[i] - expected) <= 2e-5 * expected + 1e-30, $"softmax of {length}: element {i} is {p[i]}, expected {expected}");
            }
        }
    }

    [Fact]
    public void Exp_is_accurate_to_a_few_ulp_over_the_softmax_range()
    {
        // The numerators of the row (0, s) are exp(0) = 1 and exp(s).
        for (float s = -87f; s <= 0f; s += 0.0137f)
        {
            var row = new[] { 0f, s };
            float sum = AttentionKernels.SoftmaxNumeratorsCore(row, 1f, SimdPath.Scalar);
            Assert.Equal(1f, row[0]);
            Assert.Equal(row[0] + row[1], sum);
            double e = Math.Exp(s);
            Assert.True(Math.Abs(row[1] - e) <= 2.5e-7 * e, $"exp({s}) is {row[1]}, expected {e}");
        }
        var one = new[] { 42f };
        Assert.Equal(1f, AttentionKernels.SoftmaxNumeratorsCore(one, 1f, SimdPath.Scalar));
    }
}
