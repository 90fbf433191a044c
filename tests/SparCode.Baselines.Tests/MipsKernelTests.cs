using SparCode.Kernels.Cpu;

namespace SparCode.Baselines.Tests;

public class MipsKernelTests
{
    [Theory]
    [MemberData(nameof(Data.PathData), MemberType = typeof(Data))]
    public void EveryPathMatchesScalarBitForBitOnExactInputs(SimdPath path)
    {
        var random = new Random(1);
        // Every d from 1 to a few 512-bit widths plus one, and row counts around the 2-row unroll.
        for (int d = 1; d <= 3 * 16 + 1; d++)
        {
            foreach (int rows in new[] { 0, 1, 2, 3, 7 })
            {
                var matrix = Data.Exact(random, rows * d);
                var query = Data.Exact(random, d);
                var expected = new float[rows];
                var actual = new float[rows];
                MipsKernels.DotRowsScalar(matrix, query, expected);
                MipsKernels.DotRowsCore(matrix, query, actual, path);
                Assert.Equal(expected, actual);
            }
        }
    }

    [Theory]
    [MemberData(nameof(Data.PathData), MemberType = typeof(Data))]
    public void EveryPathIsCloseToScalarOnGaussianInputs(SimdPath path)
    {
        var random = new Random(2);
        foreach (int d in new[] { 5, 16, 31, 64, 100, 129 })
        {
            var matrix = Data.Gaussian(random, 9 * d);
            var query = Data.Gaussian(random, d);
            var expected = new float[9];
            var actual = new float[9];
            MipsKernels.DotRowsScalar(matrix, query, expected);
            MipsKernels.DotRowsCore(matrix, query, actual, path);
            for (int r = 0; r < 9; r++)
            {
                Assert.True(Math.Abs(expected[r] - actual[r]) <= 1e-4f * (1 + Math.Abs(expected[r])), $"d = {d}, row {r}: {expected[r]} vs {actual[r]}");
            }
        }
    }
}
