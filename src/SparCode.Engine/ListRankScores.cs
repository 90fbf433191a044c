namespace SparCode.Engine;

/// <summary>
/// For every posting list, a score that at least r of its postings reach, at a few fixed ranks r (the
/// r-th largest score, rounded down by at most 1/256 of the list's maximum): the source of a query's
/// starting top-k threshold.
/// </summary>
/// <remarks>
/// Scores are ≥ 0 (the index validator enforces it) and float addition of a non-negative term never
/// lowers a sum, so an item's total is at least its score in any one of the query's lists. If a list
/// holds at least <c>k + e</c> items scoring ≥ s (e = the excluded items), at least k items that may
/// be returned total ≥ s, so the k-th best result is ≥ s and nothing below s can enter the top k.
/// Starting the filter there instead of at "anything positive" removes most heap work
/// (perf/results/2026-12-02-code-notes). Built once when the index is opened, in one pass over the scores.
/// </remarks>
internal sealed class ListRankScores
{
    /// <summary>The tabulated ranks, about ×1.5 apart: a query uses the smallest one ≥ k + e.</summary>
    internal static readonly int[] Ranks = [8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024];

    /// <summary>Row-major lists × ranks; 0 where a list is shorter than the rank (0 is always a safe floor).</summary>
    private readonly float[] _scores;

    private ListRankScores(float[] scores) => _scores = scores;

    /// <summary>Score buckets per list: a rank's tabulated score is within 1/256 of the list's maximum below the exact one.</summary>
    private const int Buckets = 256;

    /// <summary>Tabulates, for every list, a score that at least r of its postings reach, for each rank r in <see cref="Ranks"/>.</summary>
    /// <param name="offsets">CSR offsets, one more than the lists.</param>
    /// <param name="scores">All postings' scores (≥ 0).</param>
    /// <param name="listMax">Each list's largest score.</param>
    /// <remarks>
    /// One pass per list: each score goes to one of 256 equal-width buckets over [0, max], which keep a
    /// count and their smallest score. Walking down from the top bucket, the first bucket at which the
    /// running count reaches r gives its smallest score: at least r postings score that much, because
    /// the bucket of a larger score is never lower. Spread over the cores. Buckets rather than a per-list
    /// top-1024 heap keep the cost of opening an index small (perf/results/2026-12-02-code-notes).
    /// </remarks>
    internal static ListRankScores Build(ReadOnlyMemory<long> offsets, ReadOnlyMemory<float> scores, ReadOnlyMemory<float> listMax)
    {
        int lists = offsets.Length - 1;
        var table = new float[checked(lists * Ranks.Length)];
        const int block = 64;
        Parallel.For(0, (lists + block - 1) / block, () => (Counts: new int[Buckets], Minima: new float[Buckets]), (b, _, scratch) =>
        {
            var offsetSpan = offsets.Span;
            var scoreSpan = scores.Span;
            for (int c = b * block; c < Math.Min(lists, (b + 1) * block); c++)
            {
                var list = scoreSpan[(int)offsetSpan[c]..(int)offsetSpan[c + 1]];
                float max = listMax.Span[c];
                if (list.Length < Ranks[0] || !(max > 0f) || !float.IsFinite(Buckets / max))
                {
                    continue;
                }
                Tabulate(list, max, scratch.Counts, scratch.Minima, table.AsSpan(c * Ranks.Length, Ranks.Length));
            }
            return scratch;
        }, _ => { });
        return new ListRankScores(table);
    }

    private static void Tabulate(ReadOnlySpan<float> list, float max, int[] counts, float[] minima, Span<float> row)
    {
        Array.Clear(counts);
        Array.Fill(minima, float.PositiveInfinity);
        float scale = Buckets / max;
        foreach (float score in list)
        {
            int bucket = Math.Min(Buckets - 1, (int)(score * scale));
            counts[bucket]++;
            minima[bucket] = MathF.Min(minima[bucket], score);
        }
        int reached = 0;
        int rank = 0;
        for (int bucket = Buckets - 1; bucket >= 0 && rank < Ranks.Length; bucket--)
        {
            reached += counts[bucket];
            while (rank < Ranks.Length && Ranks[rank] <= reached)
            {
                row[rank++] = minima[bucket];
            }
        }
    }

    /// <summary>
    /// A threshold every one of the top-k results is known to reach, for a query over
    /// <paramref name="codes"/> that needs <paramref name="needed"/> = k + excluded items: the largest
    /// tabulated score at the smallest rank ≥ <paramref name="needed"/> over the lists; 0 if none has one.
    /// </summary>
    internal float Floor(ReadOnlySpan<int> codes, int needed)
    {
        int rank = 0;
        while (rank < Ranks.Length && Ranks[rank] < needed)
        {
            rank++;
        }
        if (rank == Ranks.Length)
        {
            return 0f;
        }
        float floor = 0f;
        foreach (int code in codes)
        {
            floor = MathF.Max(floor, _scores[code * Ranks.Length + rank]);
        }
        return floor;
    }
}
