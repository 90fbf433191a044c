namespace SparCode.Format;

/// <summary>
/// How postings spread over the codes' lists, over all K_c^M codes (empty lists included). <c>sparcode export</c>
/// and <c>sparcode inspect</c> both print these for a file, so they agree.
/// </summary>
/// <param name="Total">Postings across all lists.</param>
/// <param name="CodesUsed">Codes whose list is not empty.</param>
/// <param name="CodeCount">All codes, <c>K_c^M</c>.</param>
/// <param name="P0">Shortest list.</param>
/// <param name="P50">Median list length (nearest rank).</param>
/// <param name="P90">90th percentile list length.</param>
/// <param name="P99">99th percentile list length.</param>
/// <param name="Max">Longest list.</param>
/// <param name="Mean">Mean list length over all codes.</param>
public sealed record PostingStatistics(long Total, int CodesUsed, int CodeCount, long P0, long P50, long P90, long P99, long Max, double Mean)
{
    /// <summary>Computes the statistics from CSR offsets (<c>codes + 1</c> entries, ascending).</summary>
    /// <exception cref="ArgumentException">The offsets are empty.</exception>
    public static PostingStatistics FromOffsets(ReadOnlySpan<long> offsets)
    {
        if (offsets.IsEmpty)
        {
            throw new ArgumentException("Posting offsets need codes + 1 entries; got none.", nameof(offsets));
        }
        int codes = offsets.Length - 1;
        var lengths = new long[codes];
        int used = 0;
        for (int c = 0; c < codes; c++)
        {
            lengths[c] = offsets[c + 1] - offsets[c];
            used += lengths[c] > 0 ? 1 : 0;
        }
        Array.Sort(lengths);
        long total = offsets[codes] - offsets[0];
        return new PostingStatistics(total, used, codes,
            Percentile(lengths, 0), Percentile(lengths, 50), Percentile(lengths, 90), Percentile(lengths, 99),
            codes == 0 ? 0 : lengths[^1], codes == 0 ? 0 : (double)total / codes);
    }

    /// <summary>Nearest-rank percentile of sorted values (the smallest for p = 0).</summary>
    private static long Percentile(long[] sorted, double p)
    {
        if (sorted.Length == 0)
        {
            return 0;
        }
        int rank = (int)Math.Ceiling(p / 100 * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }

    /// <summary>p0/p50/p90/p99/max, as one line's text.</summary>
    public string Percentiles => $"{P0}/{P50}/{P90}/{P99}/{Max}";
}
