using SparCode.Kernels.Cpu;

namespace SparCode.Kernels.Tests;

public class DenseKernelsTests
{
    [Fact]
    public void Dense_matches_scalar_reference_for_every_input_length()
    {
        var random = new Random(4);
        for (int inputs = 0; inputs <= 65; inputs++)
        {
            foreach (int outputs in new[] { 1, 3, 17 })
            {
                foreach (bool relu in new[] { false, true })
                {
                    var w = Paths.RandomFloats(random, outputs * inputs);
                    var b = Paths.RandomFloats(random, outputs);
                    var x = Paths.RandomFloats(random, inputs);
                    var y = new float[outputs];
                    DenseKernels.Dense(w, b, x, y, relu);
                    for (int o = 0; o < outputs; o++)
                    {
                        double expected = b[o];
                        for (int j = 0; j < inputs; j++)
                        {
                            expected += (double)w[o * inputs + j] * x[j];
                        }
                        if (relu)
                        {
                            expected = Math.Max(expected, 0);
                        }
                        Assert.True(Math.Abs(y[o] - expected) <= 1e-5 * Math.Max(1, Math.Abs(expected)), $"in={inputs} out={o}: {y[o]} vs {expected}");
                    }
                }
            }
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
    public void Dense_rejects_mismatched_shapes()
    {
        var e = Assert.Throws<ArgumentException>(() => DenseKernels.Dense(new float[6], new float[2], new float[4], new float[2], relu: false));
        Assert.Contains("expected 8", e.Message);
    }
}
