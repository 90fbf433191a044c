namespace SparCode.Engine;

/// <summary>
/// For every posting list, its r-th largest score at a few fixed ranks r: the source of a query's
/// starting top-k threshold.
/// </summary>
/// <remarks>
/// Scores are ≥ 0 (the index validator enforces it) and float addition of a non-negative term never
/// lowers a sum, so an item's total is at least its score in any one of the query's lists. If a list
/// holds at least <c>k + e</c> items scoring ≥ s (e = the excluded items), at least k items that may
/// be returned total ≥ s, so the k-th best result is ≥ s and nothing below s can enter the top k.
/// Starting the filter there instead of at "anything positive" removes most heap work (measured on the
/// 1M-item benchmark index, k = 50: ~70 → ~58 µs per query; an oracle threshold gave ~56). Built once
/// when the index is opened, in one pass over the scores.
/// </remarks>
internal sealed class ListRankScores
{
    /// <summary>The tabulated ranks, about ×1.5 apart: a query uses the smallest one ≥ k + e.</summary>
    internal static readonly int[] Ranks = [8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024];

    /// <summary>Row-major lists × ranks; 0 where a list is shorter than the rank (0 is always a safe floor).</summary>
    private readonly float[] _scores;

    private ListRankScores(float[] scores) => _scores = scores;

    /// <summary>Tabulates every list's scores at <see cref="Ranks"/>.</summary>
    /// <param name="offsets">CSR offsets, one more than the lists.</param>
    /// <param name="scores">All postings' scores.</param>
    internal static ListRankScores Build(ReadOnlyMemory<long> offsets, ReadOnlyMemory<float> scores)
    {
        int lists = offsets.Length - 1;
        var table = new float[lists * Ranks.Length];
        // About 15 ns per posting on one core (1M-item benchmark index: 41M postings, ~0.6 s), so the
        // lists are shared out over the cores in blocks.
        const int block = 64;
        Parallel.For(0, (lists + block - 1) / block, () => new float[Ranks[^1]], (b, _, top) =>
        {
            var offsetSpan = offsets.Span;
            var scoreSpan = scores.Span;
            for (int c = b * block; c < Math.Min(lists, (b + 1) * block); c++)
            {
                var list = scoreSpan[(int)offsetSpan[c]..(int)offsetSpan[c + 1]];
                if (list.Length < Ranks[0])
                {
                    continue;
                }
                int kept = Largest(list, top);
                var row = table.AsSpan(c * Ranks.Length, Ranks.Length);
                for (int r = 0; r < Ranks.Length && Ranks[r] <= kept; r++)
                {
                    row[r] = top[Ranks[r] - 1];
                }
            }
            return top;
        }, _ => { });
        return new ListRankScores(table);
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

    /// <summary>Writes the <c>min(|list|, |top|)</c> largest scores to <paramref name="top"/>, descending; returns how many.</summary>
    private static int Largest(ReadOnlySpan<float> list, float[] top)
    {
        int kept = Math.Min(list.Length, top.Length);
        var heap = top.AsSpan(0, kept);
        list[..kept].CopyTo(heap);
        // A min-heap of the best seen so far: a later score replaces the root only if it beats it.
        for (int i = kept / 2 - 1; i >= 0; i--)
        {
            SiftDown(heap, i);
        }
        foreach (float score in list[kept..])
        {
            if (score > heap[0])
            {
                heap[0] = score;
                SiftDown(heap, 0);
            }
        }
        heap.Sort();
        heap.Reverse();
        return kept;
    }

    private static void SiftDown(Span<float> heap, int parent)
    {
        float value = heap[parent];
        while (true)
        {
            int child = 2 * parent + 1;
            if (child >= heap.Length)
            {
                break;
            }
            if (child + 1 < heap.Length && heap[child + 1] < heap[child])
            {
                child++;
            }
            if (heap[child] >= value)
            {
                break;
            }
            heap[parent] = heap[child];
            parent = child;
        }
        heap[parent] = value;
    }
}
