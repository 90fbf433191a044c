using SparCode.Engine;

namespace SparCode.Tests;

public class ListRankScoresTests
{
    [Fact]
    public void Floor_is_reached_by_enough_postings_and_is_within_a_bucket_of_the_exact_rank_score()
    {
        var random = new Random(17);
        // Lists of every interesting length: empty, below the first rank, around ranks, longer than the
        // last; scores with many ties, and one list of equal scores.
        int[] lengths = [0, 3, 7, 8, 9, 12, 95, 96, 97, 1023, 1024, 1025, 3000];
        var lists = lengths.Select(n => Enumerable.Range(0, n).Select(_ => random.Next(0, 400) * 0.25f).ToArray())
            .Append(Enumerable.Repeat(2.5f, 300).ToArray()).ToArray();
        var offsets = new long[lists.Length + 1];
        for (int c = 0; c < lists.Length; c++)
        {
            offsets[c + 1] = offsets[c] + lists[c].Length;
        }
        var maxima = lists.Select(l => l.Length == 0 ? 0f : l.Max()).ToArray();
        var table = ListRankScores.Build(offsets, lists.SelectMany(l => l).ToArray(), maxima);
        foreach (int needed in new[] { 1, 8, 9, 50, 96, 97, 1024, 1025 })
        {
            int rankIndex = Array.FindIndex(ListRankScores.Ranks, r => r >= needed);
            for (int c = 0; c < lists.Length; c++)
            {
                float floor = table.Floor([c], needed);
                if (rankIndex < 0 || lists[c].Length < ListRankScores.Ranks[rankIndex])
                {
                    Assert.Equal(0f, floor);
                    continue;
                }
                int rank = ListRankScores.Ranks[rankIndex];
                float exact = lists[c].OrderDescending().ElementAt(rank - 1);
                // Valid: at least `rank` postings reach it. Tight: at most one bucket (max / 256) below the exact score.
                Assert.True(lists[c].Count(x => x >= floor) >= rank, $"list {c}, rank {rank}: floor {floor} reached by too few");
                Assert.InRange(floor, exact - maxima[c] / 256f * 1.001f, exact);
            }
            var codes = new[] { 2, 9, 11, 12, 13 };
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
            var table = ListRankScores.Build(offsets, lists.SelectMany(l => l.Select(p => p.Score)).ToArray(), lists.Select(l => l.Length == 0 ? 0f : l.Max(p => p.Score)).ToArray());
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
