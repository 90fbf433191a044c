using SparCode.Kernels.Cpu;

namespace SparCode.Kernels.Tests;

public class DistanceKernelsTests
{
    private static double Reference(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = (double)a[i] - b[i];
            sum += d * d;
        }
        return sum;
    }

    [Theory]
    [MemberData(nameof(Paths.Available), MemberType = typeof(Paths))]
    public void SquaredL2_matches_scalar_reference_for_every_length(SimdPath path)
    {
        var random = new Random(1);
        for (int n = 0; n <= 65; n++)
        {
            var a = Paths.RandomFloats(random, n);
            var b = Paths.RandomFloats(random, n);
            double expected = Reference(a, b);
            float actual = DistanceKernels.SquaredL2Core(a, b, path);
            Assert.True(Math.Abs(actual - expected) <= 1e-5 * Math.Max(1, expected), $"n={n}: {actual} vs {expected}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths.Available), MemberType = typeof(Paths))]
    public void ArgMin_picks_the_nearest_row_for_every_dimension(SimdPath path)
    {
        var random = new Random(2);
        for (int dim = 1; dim <= 65; dim++)
        {
            for (int trial = 0; trial < 5; trial++)
            {
                int rows = random.Next(1, 40);
                var query = Paths.RandomFloats(random, dim);
                var matrix = Paths.RandomFloats(random, rows * dim);
                int actual = DistanceKernels.ArgMinSquaredL2Core(query, matrix, path);
                double best = Enumerable.Range(0, rows).Min(r => Reference(query, matrix.AsSpan(r * dim, dim)));
                int expected = Enumerable.Range(0, rows).First(r => Reference(query, matrix.AsSpan(r * dim, dim)) == best);
                double chosen = Reference(query, matrix.AsSpan(actual * dim, dim));
                // Exact unless two rows are within rounding of each other.
                Assert.True(actual == expected || chosen - best <= 1e-5 * Math.Max(1, best), $"dim={dim}: {actual} ({chosen}) vs {expected} ({best})");
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths.Available), MemberType = typeof(Paths))]
    public void ArgMin_breaks_ties_by_the_smaller_index(SimdPath path)
    {
        var random = new Random(3);
        foreach (int dim in new[] { 1, 15, 16, 33 })
        {
            var row = Paths.RandomFloats(random, dim);
            var far = row.Select(v => v + 10f).ToArray();
            float[] matrix = [.. far, .. row, .. far, .. row];
            Assert.Equal(1, DistanceKernels.ArgMinSquaredL2Core(row, matrix, path));
        }
    }

    [Fact]
    public void Public_entry_points_reject_bad_shapes()
    {
        var e = Assert.Throws<ArgumentException>(() => DistanceKernels.ArgMinSquaredL2(new float[3], new float[7]));
        Assert.Contains("3 columns", e.Message);
        Assert.Throws<ArgumentException>(() => DistanceKernels.ArgMinSquaredL2([], new float[4]));
        Assert.Throws<ArgumentException>(() => DistanceKernels.SquaredL2(new float[3], new float[4]));
    }
}
