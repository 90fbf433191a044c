namespace SparCode.Baselines.Tests;

public class HnswTests
{
    [Fact]
    public void RecallOnSmallClusteredSetIsHighAndGrowsWithEf()
    {
        var model = SyntheticTwoTower.Create(new SyntheticTwoTowerOptions { ItemCount = 3000, UserCount = 40, Dimension = 16, Seed = 11 });
        using var index = HnswIndex.Build(model.Items, new HnswOptions { Connectivity = 16, ExpansionAdd = 64 });
        Assert.Equal(3000, index.Count);
        Assert.True(index.MemoryBytes > 3000L * 16 * sizeof(float));
        Assert.True(index.SerializedBytes > 3000L * 16 * sizeof(float));
        var exact = new ExactMipsSearcher(model.Items);
        const int k = 10;
        var keys = new ulong[k];
        var ids = new long[k];
        var scores = new float[k];
        var truth = new long[k];
        var truthScores = new float[k];
        double Recall(int ef)
        {
            index.ExpansionSearch = ef;
            Assert.Equal(ef, index.ExpansionSearch);
            int hits = 0;
            for (int u = 0; u < model.Users.Count; u++)
            {
                var query = model.Users.Row(u);
                exact.Search(query, k, truth, truthScores);
                int found = index.Search(query, k, keys, ids, scores);
                Assert.Equal(k, found);
                for (int i = 0; i < found; i++)
                {
                    // Scores are inner products (1 − distance), consistent with the exact scan.
                    Assert.Equal(Dot(model.Items.Row((int)ids[i]), query), scores[i], 3);
                }
                hits += ids.Intersect(truth).Count();
            }
            return hits / (double)(k * model.Users.Count);
        }
        double low = Recall(10), high = Recall(200);
        Assert.True(high >= 0.95, $"recall@10 at ef = 200 is {high}");
        Assert.True(high >= low, $"recall fell from {low} to {high} as ef grew");
    }

    [Fact]
    public void FilteredSearchSkipsExcludedRowsAndForgetsThemAfterwards()
    {
        var model = SyntheticTwoTower.Create(new SyntheticTwoTowerOptions { ItemCount = 2500, UserCount = 30, Dimension = 16, Seed = 12 });
        // One adding thread: the same graph every run.
        using var index = HnswIndex.Build(model.Items, new HnswOptions { Connectivity = 16, ExpansionAdd = 64, BuildThreads = 1 });
        index.ExpansionSearch = 200;
        var exact = new ExactMipsSearcher(model.Items);
        const int k = 10;
        var keys = new ulong[k];
        var ids = new long[k];
        var scores = new float[k];
        var truth = new long[k];
        var truthScores = new float[k];
        int hits = 0;
        for (int u = 0; u < model.Users.Count; u++)
        {
            var query = model.Users.Row(u);
            // Exclude the exact top 5 (ids are rows in a synthetic table) and some uneven others.
            exact.Search(query, 5, truth, truthScores);
            int[] excluded = [.. truth.Take(5).Select(id => (int)id).Concat([u, 7 * u + 3]).Distinct().Order()];
            Assert.Equal(k, index.Search(query, k, keys, ids, scores, excluded));
            Assert.DoesNotContain(ids, id => excluded.Contains((int)id));
            exact.Search(query, k, truth, truthScores, excluded);
            hits += ids.Intersect(truth).Count();
            // The mask is cleared: a search without exclusions finds the best item again.
            index.Search(query, k, keys, ids, scores, []);
            exact.Search(query, 1, truth, truthScores);
            Assert.Contains(truth[0], ids);
        }
        Assert.True(hits >= 0.95 * k * model.Users.Count, $"filtered recall@{k} at ef = 200 is {hits / (double)(k * model.Users.Count)}");
        Assert.Throws<ArgumentException>(() => index.Search(model.Users.Row(0), k, keys, ids, scores, [2500]));
    }

    [Fact]
    public void BadQueryThrows()
    {
        var model = SyntheticTwoTower.Create(new SyntheticTwoTowerOptions { ItemCount = 100, UserCount = 1, Dimension = 8 });
        using var index = HnswIndex.Build(model.Items);
        Assert.Throws<ArgumentException>(() => index.Search(new float[7], 5, new ulong[5], new long[5], new float[5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.ExpansionSearch = 0);
    }

    private static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        float sum = 0;
        for (int i = 0; i < a.Length; i++) sum += a[i] * b[i];
        return sum;
    }
}
