using SparCode.Kernels.Cpu;

namespace SparCode.Kernels.Tests;

public class TopKSelectorTests
{
    /// <summary>Reference: sort every positive (score, id) pair by score descending, id ascending.</summary>
    private static (int[] Ids, float[] Scores) Reference(float[] acc, int[] ids, int k)
    {
        var pairs = ids.Where(i => acc[i] > 0).Select(i => (Id: i, Score: acc[i]))
            .OrderByDescending(p => p.Score).ThenBy(p => p.Id).Take(k).ToArray();
        return (pairs.Select(p => p.Id).ToArray(), pairs.Select(p => p.Score).ToArray());
    }

    /// <summary>Reference over arbitrary candidates: the positive ones sorted by score descending, id ascending.</summary>
    private static (int[] Ids, float[] Scores) Reference(IEnumerable<(int Id, float Score)> candidates, int k)
    {
        var pairs = candidates.Where(p => p.Score > 0).OrderByDescending(p => p.Score).ThenBy(p => p.Id).Take(k).ToArray();
        return (pairs.Select(p => p.Id).ToArray(), pairs.Select(p => p.Score).ToArray());
    }

    private static void AssertDrains(TopKSelector selector, int k, int[] expectedIds, float[] expectedScores)
    {
        var actualIds = new int[k];
        var actualScores = new float[k];
        int count = selector.DrainSorted(actualIds, actualScores);
        Assert.Equal(expectedIds, actualIds[..count]);
        Assert.Equal(expectedScores, actualScores[..count]);
        Assert.Equal(0, selector.Count);
    }

    [Fact]
    public void AddCollectAndClear_offers_slot_plus_score_and_never_a_minus_infinity_slot()
    {
        var random = new Random(11);
        var selector = new TopKSelector(1);
        foreach (int n in Enumerable.Range(0, 66).Append(1000).Append(4097))
        {
            foreach (int k in new[] { 1, 3, 10, 100 })
            {
                int universe = Math.Max(2 * n, 8);
                int windowStart = random.Next(0, 1000);
                var acc = new float[universe];
                var ids = Enumerable.Range(0, universe).OrderBy(_ => random.Next()).Take(n).Order().Select(i => i + windowStart).ToArray();
                var scores = ids.Select(_ => random.Next(0, 4) * 0.5f).ToArray();
                foreach (int id in ids)
                {
                    // Earlier lists' sums (some zero), and a few excluded items parked at −∞.
                    acc[id - windowStart] = random.Next(0, 10) == 0 ? float.NegativeInfinity : random.Next(-1, 4) * 0.5f;
                }
                var (expectedIds, expectedScores) = Reference(ids.Select((id, i) => (id, acc[id - windowStart] + scores[i])), k);
                selector.Reset(k);
                selector.AddCollectAndClearCore(acc, ids, scores, windowStart);
                AssertDrains(selector, k, expectedIds, expectedScores);
                Assert.All(ids, id => Assert.Equal(0f, acc[id - windowStart]));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Paths.Available), MemberType = typeof(Paths))]
    public void CollectWindowAndClear_matches_full_sort_and_zeroes_the_window(SimdPath path)
    {
        var random = new Random(13);
        var selector = new TopKSelector(1);
        foreach (int n in Enumerable.Range(0, 66).Append(1000).Append(4097))
        {
            foreach (int k in new[] { 1, 3, 10, 100 })
            {
                int firstId = random.Next(0, 100_000);
                // Few distinct values force ties; zeros, negatives and −∞ must never be returned.
                var window = Enumerable.Range(0, n).Select(_ => random.Next(0, 12) == 0 ? float.NegativeInfinity : random.Next(-2, 5) * 0.5f).ToArray();
                var (expectedIds, expectedScores) = Reference(window.Select((score, i) => (firstId + i, score)), k);
                selector.Reset(k);
                selector.CollectWindowAndClearCore(window, firstId, path);
                AssertDrains(selector, k, expectedIds, expectedScores);
                Assert.All(window, value => Assert.Equal(0f, value));
            }
        }
    }

    [Fact]
    public void CollectAndClear_matches_full_sort_with_ties_by_id()
    {
        var random = new Random(7);
        var selector = new TopKSelector(1);
        foreach (int n in Enumerable.Range(0, 66).Append(1000).Append(4097))
        {
            foreach (int k in new[] { 1, 3, 10, 100 })
            {
                int universe = Math.Max(2 * n, 8);
                var acc = new float[universe];
                var ids = Enumerable.Range(0, universe).OrderBy(_ => random.Next()).Take(n).Order().ToArray();
                foreach (int id in ids)
                {
                    // Few distinct values force ties; some zeros and negatives must never be returned.
                    acc[id] = random.Next(-1, 6) * 0.5f;
                }
                var (expectedIds, expectedScores) = Reference(acc, ids, k);
                selector.Reset(k);
                selector.CollectAndClearCore(acc, ids);
                AssertDrains(selector, k, expectedIds, expectedScores);
                Assert.All(ids, id => Assert.Equal(0f, acc[id]));
            }
        }
    }

    [Fact]
    public void A_floor_keeps_lower_values_out_even_while_the_heap_is_not_full()
    {
        var selector = new TopKSelector(4);
        selector.Reset(4, floor: 2f);
        float[] window = [1f, 3f, 2f, 0.5f, 5f, 1.99f];
        selector.CollectWindowAndClear(window, 10);
        AssertDrains(selector, 4, [14, 11, 12], [5f, 3f, 2f]);
        Assert.All(window, value => Assert.Equal(0f, value));
    }

    [Fact]
    public void Offer_keeps_the_best_k_and_drains_in_rank_order()
    {
        var selector = new TopKSelector(2);
        selector.Reset(3);
        selector.Offer(1f, 10);
        selector.Offer(3f, 5);
        selector.Offer(3f, 2);
        selector.Offer(2f, 7);
        selector.Offer(3f, 9);
        var ids = new int[3];
        var scores = new float[3];
        Assert.Equal(3, selector.DrainSorted(ids, scores));
        Assert.Equal([2, 5, 9], ids);
        Assert.Equal([3f, 3f, 3f], scores);
    }

    [Fact]
    public void Bad_arguments_are_rejected_with_the_value()
    {
        var selector = new TopKSelector(4);
        Assert.Throws<ArgumentOutOfRangeException>(() => selector.Reset(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => selector.Reset(2, -1f));
        Assert.Throws<ArgumentOutOfRangeException>(() => selector.Reset(2, float.NaN));
        selector.Reset(2);
        var e = Assert.Throws<ArgumentException>(() => selector.CollectAndClear(new float[8], [3, 3]));
        Assert.Contains("ids[1] = 3", e.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => selector.CollectAndClear(new float[8], [8]));
        Assert.Contains("differ in length", Assert.Throws<ArgumentException>(() => selector.AddCollectAndClear(new float[8], [1, 2], [1f])).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => selector.CollectWindowAndClear(new float[8], -1));
        selector.Offer(1f, 1);
        selector.Offer(2f, 2);
        Assert.Throws<ArgumentException>(() => selector.DrainSorted(new int[1], new float[2]));
    }
}
