using SparCode.Kernels.Cpu;

namespace SparCode.Kernels.Tests;

public class DenseKernelsTests
{
    /// <summary>Reference: the plain loop, summing in input order with a fused multiply-add per term.</summary>
    private static float[] Reference(float[] weightsT, float[] bias, float[] x, int outputs, bool relu)
    {
        var y = new float[outputs];
        for (int o = 0; o < outputs; o++)
        {
            float a = bias[o];
            for (int j = 0; j < x.Length; j++)
            {
                a = MathF.FusedMultiplyAdd(weightsT[j * outputs + o], x[j], a);
            }
            y[o] = relu ? MathF.Max(a, 0f) : a;
        }
        return y;
    }

    [Theory]
    [MemberData(nameof(Paths.Available), MemberType = typeof(Paths))]
    public void Dense_equals_scalar_reference_bit_for_bit_for_every_output_length(SimdPath path)
    {
        var random = new Random(4);
        // 0..65 covers every vector tail; 127..257 the 8-accumulator (128-output) blocks of the Vector512 path.
        foreach (int outputs in Enumerable.Range(0, 66).Concat([127, 128, 129, 200, 257]))
        {
            foreach (int inputs in new[] { 0, 1, 7, 33 })
            {
                foreach (bool relu in new[] { false, true })
                {
                    var w = Paths.RandomFloats(random, outputs * inputs);
                    var b = Paths.RandomFloats(random, outputs);
                    var x = Paths.RandomFloats(random, inputs);
                    var y = new float[outputs];
                    DenseKernels.DenseTransposedCore(w, b, x, y, relu, path);
                    Assert.Equal(Reference(w, b, x, outputs, relu), y);
                }
            }
        }
    }

    [Fact]
    public void Dense_with_wide_layers_matches_the_untransposed_product()
    {
        var random = new Random(8);
        const int outputs = 257, inputs = 130;
        var w = Paths.RandomFloats(random, outputs * inputs);
        var b = Paths.RandomFloats(random, outputs);
        var x = Paths.RandomFloats(random, inputs);
        var y = new float[outputs];
        DenseKernels.DenseTransposed(DenseKernels.Transpose(w, outputs, inputs), b, x, y, relu: false);
        for (int o = 0; o < outputs; o++)
        {
            double expected = b[o];
            for (int j = 0; j < inputs; j++)
            {
                expected += (double)w[o * inputs + j] * x[j];
            }
            Assert.True(Math.Abs(y[o] - expected) <= 1e-4 * Math.Max(1, Math.Abs(expected)), $"o={o}: {y[o]} vs {expected}");
        }
    }

    [Fact]
    public void Row_sum_and_scale_match_scalar_reference()
    {
        var random = new Random(5);
        for (int n = 0; n <= 65; n++)
        {
            var sum = Paths.RandomFloats(random, n);
            var row = Paths.RandomFloats(random, n);
            var expected = sum.Zip(row, (a, b) => (a + b) * 0.25f).ToArray();
            DenseKernels.AddInPlace(sum, row);
            DenseKernels.ScaleInPlace(sum, 0.25f);
            Assert.Equal(expected, sum);
        }
    }

    [Fact]
    public void Bad_shapes_are_rejected()
    {
        var e = Assert.Throws<ArgumentException>(() => DenseKernels.DenseTransposed(new float[6], new float[2], new float[4], new float[2], relu: false));
        Assert.Contains("expected 8", e.Message);
        Assert.Throws<ArgumentException>(() => DenseKernels.Transpose(new float[5], 2, 3));
    }
}
