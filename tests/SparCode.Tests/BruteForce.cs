using SparCode.Format;

namespace SparCode.Tests;

/// <summary>
/// The obviously correct search: score every item of the catalogue by looking it up in each of the
/// query's K_u lists (binary search, adding the lists shortest first, ties by token position, as the
/// engine does), drop exclusions,
/// sort everything by score descending and id ascending, then fill with score-0 items in fallback order.
/// </summary>
public static class BruteForce
{
    public static (long[] Ids, float[] Scores) Search(IndexFile file, ReadOnlySpan<int> codes, IEnumerable<int> excludedInternal, int k, bool fill)
    {
        int n = file.Dimensions.ItemCount;
        var offsets = file.PostingOffsets.ToArray();
        var items = file.PostingItems.ToArray();
        var postingScores = file.PostingScores.ToArray();
        var score = new float[n];
        var listOrder = codes.ToArray().OrderBy(code => offsets[code + 1] - offsets[code]).ToArray();
        for (int i = 0; i < n; i++)
        {
            foreach (int code in listOrder)
            {
                int start = (int)offsets[code], length = (int)(offsets[code + 1] - offsets[code]);
                int at = Array.BinarySearch(items, start, length, i);
                if (at >= 0)
                {
                    score[i] += postingScores[at];
                }
            }
        }
        var excluded = excludedInternal.ToHashSet();
        var ranked = Enumerable.Range(0, n).Where(i => !excluded.Contains(i) && score[i] > 0)
            .OrderByDescending(i => score[i]).ThenBy(i => i).Take(k).ToList();
        if (fill && ranked.Count < k)
        {
            var order = file.HasFallbackOrder ? file.FallbackOrder.ToArray() : Enumerable.Range(0, n).ToArray();
            ranked.AddRange(order.Where(i => !excluded.Contains(i) && score[i] == 0).Take(k - ranked.Count));
        }
        var external = file.ExternalItemIds.ToArray();
        return (ranked.Select(i => external[i]).ToArray(), ranked.Select(i => score[i]).ToArray());
    }
}
