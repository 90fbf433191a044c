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
    [Theory]
    [MemberData(nameof(Data.PathData), MemberType = typeof(Data))]
    public void ExcludedRowsAreSkippedAndTheRestMatchesTheReference(SimdPath path)
    {
        var random = new Random(6);
        const int n = 1300, d = 5;
        var items = Items(random, n, d);
        var searcher = new ExactMipsSearcher(items, 4, path);
        // Rows on both sides of each 512-row tile boundary, the first and the last row, and a random handful.
        int[] excluded = [.. new[] { 0, 3, 511, 512, 513, 1023, 1024, 1299 }.Concat(Enumerable.Range(0, 40).Select(_ => random.Next(n))).Distinct().Order()];
        var excludedIds = excluded.Select(r => items.Ids[r]).ToHashSet();
        foreach (int k in new[] { 1, 50, 400 })
        {
            var query = Data.Exact(random, d);
            var ids = new long[k];
            var scores = new float[k];
            Assert.Equal(k, searcher.Search(query, k, ids, scores, excluded));
            var (allIds, allScores) = Data.TopK(items, query, n);
            var kept = allIds.Zip(allScores).Where(p => !excludedIds.Contains(p.First)).Take(k).ToArray();
            Assert.Equal(kept.Select(p => p.First), ids);
            Assert.Equal(kept.Select(p => p.Second), scores);
        }
    }

    [Fact]
    public void BlockedSearchWithExclusionsEqualsSingleQuerySearch()
    {
        var random = new Random(7);
        const int d = 12, k = 30, n = 1800, count = 5;
        var items = new EmbeddingTable(d, Data.Gaussian(random, n * d));
        var searcher = new ExactMipsSearcher(items, 8);
        var queries = Data.Gaussian(random, count * d);
        // Query 2 excludes nothing; the others exclude different, uneven sets.
        var perQuery = Enumerable.Range(0, count).Select(q => q == 2 ? [] : Enumerable.Range(0, 30 * (q + 1)).Select(_ => random.Next(n)).Distinct().Order().ToArray()).ToArray();
        int[] rows = [.. perQuery.SelectMany(r => r)];
        int[] offsets = [0, .. perQuery.Select(r => r.Length).ToArray().Select((_, q) => perQuery.Take(q + 1).Sum(r => r.Length))];
        var blockIds = new long[count * k];
        var blockScores = new float[count * k];
        Assert.Equal(k, searcher.SearchBlock(queries, count, k, blockIds, blockScores, rows, offsets));
        for (int q = 0; q < count; q++)
        {
            var ids = new long[k];
            var scores = new float[k];
            searcher.Search(queries.AsSpan(q * d, d), k, ids, scores, perQuery[q]);
            Assert.Equal(ids, blockIds.AsSpan(q * k, k).ToArray());
            Assert.Equal(scores, blockScores.AsSpan(q * k, k).ToArray());
            Assert.DoesNotContain(ids, id => perQuery[q].Contains((int)id));
        }
    }

    [Fact]
    public void TooFewRowsLeftPadsWithMinusOne()
    {
        var random = new Random(8);
        var items = new EmbeddingTable(3, Data.Gaussian(random, 10 * 3));
        var searcher = new ExactMipsSearcher(items);
        var ids = new long[5];
        var scores = new float[5];
        Assert.Equal(3, searcher.Search(Data.Gaussian(random, 3), 5, ids, scores, [0, 1, 2, 4, 6, 7, 9]));
        Assert.Equal([3L, 5L, 8L], ids[..3].Order());
        Assert.Equal([-1L, -1L], ids[3..]);
        Assert.All(scores[3..], s => Assert.Equal(float.NegativeInfinity, s));
    }

    [Fact]
    public void MalformedExclusionsThrow()
    {
        var items = new EmbeddingTable(2, Data.Gaussian(new Random(9), 20 * 2));
        var searcher = new ExactMipsSearcher(items, 2);
        var ids = new long[4];
        var scores = new float[4];
        float[] query = [0.5f, -1.25f];
        Assert.Throws<ArgumentException>(() => searcher.Search(query, 2, ids, scores, [3, 3]));
        Assert.Throws<ArgumentException>(() => searcher.Search(query, 2, ids, scores, [5, 4]));
        Assert.Throws<ArgumentException>(() => searcher.Search(query, 2, ids, scores, [20]));
        Assert.Throws<ArgumentException>(() => searcher.Search(query, 2, ids, scores, [-1]));
        float[] two = [.. query, .. query];
        Assert.Throws<ArgumentException>(() => searcher.SearchBlock(two, 2, 2, ids, scores, [1, 2], [0, 2]));
        Assert.Throws<ArgumentException>(() => searcher.SearchBlock(two, 2, 2, ids, scores, [1, 2], [0, 2, 1]));
        Assert.Throws<ArgumentException>(() => searcher.SearchBlock(two, 2, 2, ids, scores, [1, 2], [0, 1, 3]));
    }
}
