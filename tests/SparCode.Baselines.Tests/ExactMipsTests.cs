using SparCode.Kernels.Cpu;

namespace SparCode.Baselines.Tests;

public class ExactMipsTests
{
    private static EmbeddingTable Items(Random random, int n, int d) =>
        new(d, Data.Exact(random, n * d), [.. Enumerable.Range(0, n).Select(i => 1000L + 3L * i)]);

    [Theory]
    [MemberData(nameof(Data.PathData), MemberType = typeof(Data))]
    public void SearchMatchesSortedReferenceWithTiesById(SimdPath path)
    {
        var random = new Random(3);
        // 1300 rows: two full tiles and a partial one; d = 3 makes ties between items very common.
        foreach (int d in new[] { 3, 17, 64 })
        {
            var items = Items(random, 1300, d);
            var searcher = new ExactMipsSearcher(items, 4, path);
            foreach (int k in new[] { 1, 10, 50, 1300 })
            {
                var query = Data.Exact(random, d);
                var ids = new long[k];
                var scores = new float[k];
                Assert.Equal(k, searcher.Search(query, k, ids, scores));
                var (expectedIds, expectedScores) = Data.TopK(items, query, k);
                Assert.Equal(expectedScores, scores);
                Assert.Equal(expectedIds, ids);
            }
        }
    }

    [Fact]
    public void BlockedSearchEqualsSingleQuerySearch()
    {
        var random = new Random(4);
        const int d = 24, k = 20;
        var items = new EmbeddingTable(d, Data.Gaussian(random, 2100 * d));
        var searcher = new ExactMipsSearcher(items, 8);
        for (int count = 1; count <= 8; count++)
        {
            var queries = Data.Gaussian(random, count * d);
            var blockIds = new long[count * k];
            var blockScores = new float[count * k];
            searcher.SearchBlock(queries, count, k, blockIds, blockScores);
            for (int q = 0; q < count; q++)
            {
                var ids = new long[k];
                var scores = new float[k];
                searcher.Search(queries.AsSpan(q * d, d), k, ids, scores);
                Assert.Equal(ids, blockIds.AsSpan(q * k, k).ToArray());
                Assert.Equal(scores, blockScores.AsSpan(q * k, k).ToArray());
            }
        }
    }

    [Fact]
    public void GaussianResultsAgreeWithReferenceUpToRounding()
    {
        var random = new Random(5);
        const int d = 64, k = 50;
        var items = new EmbeddingTable(d, Data.Gaussian(random, 3000 * d));
        var searcher = new ExactMipsSearcher(items);
        var query = Data.Gaussian(random, d);
        var ids = new long[k];
        var scores = new float[k];
        searcher.Search(query, k, ids, scores);
        var (_, expectedScores) = Data.TopK(items, query, k);
        for (int i = 0; i < k; i++)
        {
            Assert.True(Math.Abs(expectedScores[i] - scores[i]) < 1e-3f, $"rank {i}: {expectedScores[i]} vs {scores[i]}");
        }
        Assert.True(scores.Zip(scores.Skip(1)).All(p => p.First >= p.Second), "scores descend");
    }

    [Fact]
    public void BadArgumentsThrow()
    {
        var items = new EmbeddingTable(4, new float[40]);
        var searcher = new ExactMipsSearcher(items, 2);
        var ids = new long[20];
        var scores = new float[20];
        Assert.Throws<ArgumentOutOfRangeException>(() => searcher.Search(new float[4], 0, ids, scores));
        Assert.Throws<ArgumentOutOfRangeException>(() => searcher.Search(new float[4], 11, ids, scores));
        Assert.Throws<ArgumentException>(() => searcher.Search(new float[3], 5, ids, scores));
        Assert.Throws<ArgumentOutOfRangeException>(() => searcher.SearchBlock(new float[12], 3, 5, ids, scores));
    }
}
