using SparCode.Engine;

namespace SparCode.Tests;

public class ListRankScoresTests
{
    [Fact]
    public void Floor_is_the_largest_score_at_the_smallest_tabulated_rank_reaching_the_need()
    {
        var random = new Random(17);
        // Lists of every interesting length: empty, below the first rank, around ranks, longer than the last.
        int[] lengths = [0, 3, 7, 8, 9, 12, 95, 96, 97, 1023, 1024, 1025, 3000];
        var lists = lengths.Select(n => Enumerable.Range(0, n).Select(_ => random.Next(0, 400) * 0.25f).ToArray()).ToArray();
        var offsets = new long[lists.Length + 1];
        for (int c = 0; c < lists.Length; c++)
        {
            offsets[c + 1] = offsets[c] + lists[c].Length;
        }
        var table = ListRankScores.Build(offsets, lists.SelectMany(l => l).ToArray());
        foreach (int needed in new[] { 1, 8, 9, 50, 96, 97, 1024, 1025 })
        {
            int rankIndex = Array.FindIndex(ListRankScores.Ranks, r => r >= needed);
            for (int c = 0; c < lists.Length; c++)
            {
                var sorted = lists[c].OrderDescending().ToArray();
                float expected = rankIndex < 0 || sorted.Length < ListRankScores.Ranks[rankIndex] ? 0f : sorted[ListRankScores.Ranks[rankIndex] - 1];
                Assert.Equal(expected, table.Floor([c], needed));
            }
            var codes = new[] { 2, 9, 11, 12 };
            Assert.Equal(codes.Max(c => table.Floor([c], needed)), table.Floor(codes, needed));
        }
    }

    [Fact]
    public void Floor_never_exceeds_the_true_kth_best_total_of_a_search()
    {
        // The search tests compare every result with a brute force; this pins the premise they rely
        // on: with excluded items counted in, at least k items that can be returned reach the floor.
        var random = new Random(5);
        for (int trial = 0; trial < 200; trial++)
        {
            int items = random.Next(20, 300);
            var lists = Enumerable.Range(0, 4).Select(_ => Enumerable.Range(0, items).Where(_ => random.Next(3) == 0)
                .Select(i => (Item: i, Score: random.Next(0, 8) * 0.5f)).ToArray()).ToArray();
            var offsets = new long[lists.Length + 1];
            for (int c = 0; c < lists.Length; c++)
            {
                offsets[c + 1] = offsets[c] + lists[c].Length;
            }
            var table = ListRankScores.Build(offsets, lists.SelectMany(l => l.Select(p => p.Score)).ToArray());
            int k = random.Next(1, 40);
            var excluded = Enumerable.Range(0, random.Next(0, 15)).Select(_ => random.Next(items)).ToHashSet();
            var totals = new float[items];
            foreach (var list in lists)
            {
                foreach (var (item, score) in list)
                {
                    totals[item] += score;
                }
            }
            var ranked = Enumerable.Range(0, items).Where(i => !excluded.Contains(i)).Select(i => totals[i]).OrderDescending().ToArray();
            float floor = table.Floor([0, 1, 2, 3], k + excluded.Count);
            if (floor > 0f)
            {
                Assert.True(ranked.Length >= k && ranked[k - 1] >= floor, $"trial {trial}: floor {floor} above the {k}-th best total");
            }
        }
    }
}
