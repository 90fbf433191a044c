using System.Diagnostics.CodeAnalysis;
using SparCode.Format;

namespace SparCode.Engine;

/// <summary>
/// The rules every serving path applies, in one place: the CPU searcher, the batch, the GPU searcher
/// (<c>SparCode.Engine.Gpu</c>) and the training-side evaluation (through <see cref="SparCodeSearcher.SearchCodes"/>).
/// Id resolution and the unknown-id policy, the k check, batch shapes, the order lists are added in. Tie-breaking
/// (score descending, then the smaller item id) and the fill belong to <see cref="SparCodeSearcher"/>, which the
/// GPU searcher calls for fills.
/// </summary>
internal static class ServingRules
{
    /// <summary>Throws unless 1 ≤ k ≤ n_items.</summary>
    /// <exception cref="ArgumentOutOfRangeException">k is out of range.</exception>
    public static void CheckK(int k, int itemCount)
    {
        if (k < 1 || k > itemCount)
        {
            ThrowBadK(k, itemCount);
        }
    }

    /// <summary>Throws unless both destinations hold k results.</summary>
    /// <exception cref="ArgumentException">A destination is shorter than k.</exception>
    public static void CheckDestinations(int k, int ids, int scores)
    {
        if (ids < k || scores < k)
        {
            ThrowShortDestination(k, ids, scores);
        }
    }

    /// <summary>
    /// Checks a batch's shapes: offsets rise from 0 to at most the histories' length, and the destinations hold
    /// queries × k ids and scores and one count per query.
    /// </summary>
    /// <returns>The number of queries.</returns>
    /// <exception cref="ArgumentException">A shape disagrees.</exception>
    /// <exception cref="ArgumentOutOfRangeException">k is out of range.</exception>
    public static int CheckBatch(int historyLength, ReadOnlySpan<int> offsets, int k, int itemCount, long ids, long scores, long counts)
    {
        CheckK(k, itemCount);
        int queries = offsets.Length - 1;
        if (queries < 0 || ids < (long)queries * k || scores < (long)queries * k || counts < queries)
        {
            throw new ArgumentException($"For {Math.Max(queries, 0)} queries × k = {k} the batch needs offsets of length ≥ 1, {(long)Math.Max(queries, 0) * k} ids and scores and {Math.Max(queries, 0)} counts; got {offsets.Length} offsets, {ids} ids, {scores} scores, {counts} counts.");
        }
        return CheckOffsets(historyLength, offsets);
    }

    /// <summary>Checks that batch offsets rise from 0 to at most the histories' length.</summary>
    /// <returns>The number of queries, offsets.Length − 1.</returns>
    /// <exception cref="ArgumentException">The offsets are empty, do not start at 0, fall, or overrun the histories.</exception>
    public static int CheckOffsets(int historyLength, ReadOnlySpan<int> offsets)
    {
        int queries = offsets.Length - 1;
        if (queries < 0)
        {
            throw new ArgumentException("History offsets need query count + 1 entries; got none.", nameof(offsets));
        }
        for (int q = 0; q < queries; q++)
        {
            if (offsets[0] != 0 || offsets[q + 1] < offsets[q] || offsets[q + 1] > historyLength)
            {
                throw new ArgumentException($"History offsets must rise from 0 to at most {historyLength}; offsets[{q}] = {offsets[q]}, offsets[{q + 1}] = {offsets[q + 1]}.", nameof(offsets));
            }
        }
        return queries;
    }

    /// <summary>
    /// Maps a history's external ids to internal ones, in order, into <paramref name="items"/> (at least the
    /// history's length): unknown ids are an error or skipped, as <paramref name="policy"/> says.
    /// </summary>
    /// <returns>How many ids were known (at least one).</returns>
    /// <exception cref="ArgumentException">The history is empty, or none of its ids is known.</exception>
    /// <exception cref="UnknownItemException">An id is unknown and the policy is <see cref="UnknownItemPolicy.Error"/>.</exception>
    public static int ResolveHistory(ItemIdMap map, ReadOnlySpan<long> history, UnknownItemPolicy policy, Span<int> items)
    {
        if (history.IsEmpty)
        {
            throw new ArgumentException("The history is empty; a query needs at least one item id.", nameof(history));
        }
        int known = 0;
        for (int i = 0; i < history.Length; i++)
        {
            if (map.TryGetInternal(history[i], out int item))
            {
                items[known++] = item;
            }
            else if (policy == UnknownItemPolicy.Error)
            {
                throw new UnknownItemException(history[i], i);
            }
        }
        if (known == 0)
        {
            throw new ArgumentException($"None of the {history.Length} history item ids is in the index; a query needs at least one known item.", nameof(history));
        }
        return known;
    }

    /// <summary>A batch query's error as the batch reports it: the same exception, its message prefixed with the query's number.</summary>
    public static Exception InQuery(Exception e, int query, int from, int to) => e switch
    {
        UnknownItemException unknown => new UnknownItemException(unknown.ItemId, unknown.Position, query),
        ArgumentException argument => new ArgumentException($"Query {query} (histories[{from}..{to})): {argument.Message}", argument.ParamName, argument),
        _ => e,
    };

    /// <summary>
    /// Puts a query's codes in the order their lists are added: by list length ascending, ties by position
    /// (stable), so the longest list is the one fused with the collect pass and read once. Every reference
    /// that must reproduce the engine's float sums to the bit adds the lists in this order too
    /// (measurements in perf/results/2026-12-02-code-notes).
    /// </summary>
    /// <param name="postingOffsets">The index's CSR offsets (list c is <c>[offsets[c], offsets[c + 1])</c>).</param>
    /// <param name="codes">The codes, reordered in place.</param>
    public static void SortByListLength(ReadOnlySpan<long> postingOffsets, Span<int> codes)
    {
        for (int t = 1; t < codes.Length; t++)
        {
            int code = codes[t];
            long length = postingOffsets[code + 1] - postingOffsets[code];
            int at = t;
            while (at > 0 && postingOffsets[codes[at - 1] + 1] - postingOffsets[codes[at - 1]] > length)
            {
                codes[at] = codes[at - 1];
                at--;
            }
            codes[at] = code;
        }
    }

    [DoesNotReturn]
    private static void ThrowBadK(int k, int itemCount) =>
        throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in 1..{itemCount} (the catalogue size).");

    [DoesNotReturn]
    private static void ThrowShortDestination(int k, int ids, int scores) =>
        throw new ArgumentException($"Destinations hold {ids} ids and {scores} scores; k = {k} needs at least {k} of each.");
}
