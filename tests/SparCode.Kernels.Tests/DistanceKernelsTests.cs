using SparCode.Kernels.Cpu;

namespace SparCode.Kernels.Tests;

public class DistanceKernelsTests
{
    /// <summary>Reference: per codeword, distances summed over dimensions in order with a fused multiply-add; first minimum wins.</summary>
    private static int Reference(float[] query, float[] codebookT, int codewords)
    {
        int best = 0;
        float bestDistance = float.PositiveInfinity;
        for (int r = 0; r < codewords; r++)
        {
            float acc = 0f;
            for (int j = 0; j < query.Length; j++)
            {
                float d = query[j] - codebookT[j * codewords + r];
                acc = MathF.FusedMultiplyAdd(d, d, acc);
            }
            if (acc < bestDistance)
            {
                bestDistance = acc;
                best = r;
            }
        }
        return best;
    }

    [Theory]
    [MemberData(nameof(Paths.Available), MemberType = typeof(Paths))]
    public void ArgMin_equals_scalar_reference_for_every_codebook_size(SimdPath path)
    {
        var random = new Random(2);
        // 1..65 covers every vector tail; 127..257 several four-block (64-codeword) steps of the Vector512 path.
        foreach (int codewords in Enumerable.Range(1, 65).Concat([127, 128, 130, 257]))
        {
            foreach (int dim in new[] { 1, 5, 32, 33 })
            {
                var query = Paths.RandomFloats(random, dim);
                var codebookT = Paths.RandomFloats(random, dim * codewords);
                Assert.Equal(Reference(query, codebookT, codewords), DistanceKernels.ArgMinSquaredL2TransposedCore(query, codebookT, path));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths.Available), MemberType = typeof(Paths))]
    public void ArgMin_picks_the_true_nearest_row_and_breaks_ties_by_the_smaller_index(SimdPath path)
    {
        var random = new Random(3);
        foreach (int codewords in new[] { 3, 16, 40, 100 })
        {
            const int dim = 7;
            var rows = Paths.RandomFloats(random, codewords * dim);
            int target = codewords - 1;
            // Put a copy of the target row at the end and at index 1: the query equals both.
            rows.AsSpan(target * dim, dim).CopyTo(rows.AsSpan(dim, dim));
            var query = rows.AsSpan(target * dim, dim).ToArray();
            var codebookT = DenseKernels.Transpose(rows, codewords, dim);
            Assert.Equal(1, DistanceKernels.ArgMinSquaredL2TransposedCore(query, codebookT, path));
        }
    }

    [Theory]
    [MemberData(nameof(Paths.Available), MemberType = typeof(Paths))]
    public void ArgMin_ties_across_blocks_and_lanes_go_to_the_smaller_index(SimdPath path)
    {
        var random = new Random(9);
        // (first copy, second copy): same lane of a later 16-block, another lane, the 4-block and the single-block loops, the tail.
        foreach (var (first, second, codewords) in new[] { (1, 17, 64), (3, 65, 130), (20, 5, 64), (63, 64, 128), (0, 127, 128), (70, 256, 257), (100, 2, 200) })
        {
            const int dim = 5;
            var rows = Paths.RandomFloats(random, codewords * dim, scale: 4f);
            var target = Paths.RandomFloats(random, dim, scale: 0.01f);
            target.CopyTo(rows.AsSpan(first * dim, dim));
            target.CopyTo(rows.AsSpan(second * dim, dim));
            var codebookT = DenseKernels.Transpose(rows, codewords, dim);
            Assert.Equal(Math.Min(first, second), DistanceKernels.ArgMinSquaredL2TransposedCore(target, codebookT, path));
        }
    }

    [Fact]
    public void Bad_shapes_are_rejected()
    {
        var e = Assert.Throws<ArgumentException>(() => DistanceKernels.ArgMinSquaredL2Transposed(new float[3], new float[7]));
        Assert.Contains("with 3 rows", e.Message);
        Assert.Throws<ArgumentException>(() => DistanceKernels.ArgMinSquaredL2Transposed([], new float[4]));
    }
}
