using SparCode.Kernels.Cpu;

namespace SparCode.Kernels.Tests;

public class PostingKernelsTests
{
    private static int[] AscendingIds(Random random, int count, int universe) =>
        [.. Enumerable.Range(0, universe).OrderBy(_ => random.Next()).Take(count).Order()];

    [Fact]
    public void Accumulate_equals_scalar_reference_bit_for_bit_for_every_length()
    {
        var random = new Random(6);
        for (int n = 0; n <= 65; n++)
        {
            var acc = Paths.RandomFloats(random, 200);
            var expected = (float[])acc.Clone();
            var ids = AscendingIds(random, n, 200);
            var scores = Paths.RandomFloats(random, n);
            for (int i = 0; i < n; i++)
            {
                expected[ids[i]] += scores[i];
            }
            PostingKernels.Accumulate(acc, ids, scores);
            Assert.Equal(expected, acc);
        }
    }

    [Fact]
    public void Windowed_accumulate_with_prefetch_of_a_later_run_equals_the_reference()
    {
        var random = new Random(8);
        foreach (int n in Enumerable.Range(0, 66).Append(1000))
        {
            foreach (int prefetch in new[] { 0, 5, n / 2, n, 3 * n + 17 })
            {
                const int windowStart = 300;
                var acc = Paths.RandomFloats(random, 2000);
                var expected = (float[])acc.Clone();
                var ids = AscendingIds(random, n, 2000).Select(id => id + windowStart).ToArray();
                var scores = Paths.RandomFloats(random, n);
                for (int i = 0; i < n; i++)
                {
                    expected[ids[i] - windowStart] += scores[i];
                }
                // What is prefetched must not change what is added.
                var later = new int[prefetch];
                var laterScores = new float[prefetch];
                PostingKernels.AccumulateCore(acc, ids, scores, windowStart, later, laterScores);
                Assert.Equal(expected, acc);
            }
        }
    }

    [Fact]
    public void Accumulate_rejects_out_of_range_ids_and_mismatched_lengths()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => PostingKernels.Accumulate(new float[4], [1, 4], [1f, 1f]));
        Assert.Contains("[0, 4)", e.Message);
        Assert.Throws<ArgumentException>(() => PostingKernels.Accumulate(new float[4], [1], [1f, 2f]));
    }
}
