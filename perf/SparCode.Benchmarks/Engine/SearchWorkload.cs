using SparCode.Benchmarks.Infrastructure;
using SparCode.Engine;
using SparCode.Format;
using SparCode.Synthetic;

namespace SparCode.Benchmarks.Engine;

/// <summary>The end-to-end search workload: the synthetic index options, the queries and what they touch.</summary>
public static class SearchWorkload
{
    /// <summary>Distinct histories cycled by the benchmark.</summary>
    public const int HistoryCount = 256;

    /// <summary>Results per query.</summary>
    public const int K = 50;

    /// <summary>The synthetic index for a catalogue size and mean posting-list length (K_c = 64, so 4096 lists).</summary>
    public static SyntheticOptions Options(int itemCount, int postingsPerList) =>
        new() { ItemCount = itemCount, MeanPostingsPerList = postingsPerList, CodebookSize = 64 };

    /// <summary>The 256 seeded histories (external ids, 1..20 items, popularity-skewed).</summary>
    public static long[][] Histories(int itemCount) => SyntheticIndex.Histories(itemCount, HistoryCount, maxLength: 20, seed: 7);

    /// <summary>
    /// Mean postings per query over the histories: <c>Accumulated</c> counts the K_u lists' lengths (a
    /// code chosen twice counts twice, as the accumulate pass reads it twice), <c>Collected</c> the
    /// distinct lists' lengths read again by the collect pass.
    /// </summary>
    public static (double Accumulated, double Collected) PostingsPerQuery(SparCodeIndex index, long[][] histories)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(histories);
        var searcher = index.CreateSearcher();
        var codes = new int[index.Dimensions.UserTokens];
        long accumulated = 0, collected = 0;
        foreach (var history in histories)
        {
            searcher.Encode(history, codes);
            for (int t = 0; t < codes.Length; t++)
            {
                int length = index.PostingListLength(codes[t]);
                accumulated += length;
                if (!codes.AsSpan(0, t).Contains(codes[t]))
                {
                    collected += length;
                }
            }
        }
        return ((double)accumulated / histories.Length, (double)collected / histories.Length);
    }

    /// <summary>
    /// <see cref="PostingsPerQuery(SparCodeIndex, long[][])"/> for a cached index, computed once per
    /// process; null if the benchmark has not built the file yet.
    /// </summary>
    public static (double Accumulated, double Collected)? PostingsPerQuery(int itemCount, int postingsPerList)
    {
        lock (Cache)
        {
            if (Cache.TryGetValue((itemCount, postingsPerList), out var known))
            {
                return known;
            }
            if (SyntheticIndexCache.FindLatest(Options(itemCount, postingsPerList)) is not { } path)
            {
                return null;
            }
            using var index = SparCodeIndex.Open(path, IndexValidation.SkipChecksum);
            var stats = PostingsPerQuery(index, Histories(itemCount));
            Cache[(itemCount, postingsPerList)] = stats;
            return stats;
        }
    }

    private static readonly Dictionary<(int, int), (double, double)> Cache = [];
}
