using System.Diagnostics.CodeAnalysis;
using SparCode.Kernels.Cpu;

namespace SparCode.Engine;

/// <summary>
/// Runs queries against one <see cref="SparCodeIndex"/>. Owns its scratch, so after the first query of
/// the largest k and history length it does not allocate. Not thread-safe: use one per thread.
/// </summary>
/// <remarks>
/// A query: history → K_u tokens → K_u codes → scatter-add of the K_u posting lists into a
/// catalogue-sized accumulator (a code chosen twice counts twice) → excluded items zeroed → one pass
/// over the same lists that reads, clears and offers each score to a top-k heap (so the accumulator
/// is reset in O(postings touched), not O(n_items)) → scores descending, ties by smaller item id →
/// optional fill to k with score-0 items from the fallback order.
/// </remarks>
public sealed class SparCodeSearcher
{
    private const float Marked = -1f;

    private readonly SparCodeIndex _index;
    private readonly float[] _accumulator;
    private readonly float[] _scratchA;
    private readonly float[] _scratchB;
    private readonly float[] _tokens;
    private readonly int[] _codes;
    private readonly TopKSelector _selector = new(0);
    private int[] _history = [];
    private int[] _exclude = [];
    private int[] _results = [];

    internal SparCodeSearcher(SparCodeIndex index)
    {
        _index = index;
        var dims = index.Dimensions;
        _accumulator = new float[dims.ItemCount];
        _scratchA = new float[index.Tower.MaxWidth];
        _scratchB = new float[index.Tower.MaxWidth];
        _tokens = new float[dims.UserTokens * dims.TokenDim];
        _codes = new int[dims.UserTokens];
    }

    /// <summary>The index this searcher reads.</summary>
    public SparCodeIndex Index => _index;

    /// <summary>Searches with the history excluded from the results (by default).</summary>
    /// <inheritdoc cref="Search(ReadOnlySpan{long}, ReadOnlySpan{long}, int, Span{long}, Span{float}, SearchOptions?)"/>
    public int Search(ReadOnlySpan<long> history, int k, Span<long> ids, Span<float> scores, SearchOptions? options = null) =>
        Search(history, [], k, ids, scores, options);

    /// <summary>Finds the top-k items for a user history.</summary>
    /// <param name="history">External item ids, oldest first; the last <c>L</c> known ones feed the query tower.</param>
    /// <param name="exclude">Further external ids to drop from the results; unknown ones are ignored.</param>
    /// <param name="k">Results wanted, 1..n_items.</param>
    /// <param name="ids">Receives up to k external item ids, best first.</param>
    /// <param name="scores">Receives their scores (sums of posting scores; 0 for filled items).</param>
    /// <param name="options">Options; <see cref="SearchOptions.Default"/> if null.</param>
    /// <returns>How many results were written: k, unless filling is off or fewer than k items are not excluded.</returns>
    /// <exception cref="ArgumentException">The history is empty or has no known item, or a destination is shorter than k.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is not in 1..n_items.</exception>
    /// <exception cref="UnknownItemException">A history id is unknown and <see cref="UnknownItemPolicy.Error"/> is in force.</exception>
    public int Search(ReadOnlySpan<long> history, ReadOnlySpan<long> exclude, int k, Span<long> ids, Span<float> scores, SearchOptions? options = null)
    {
        options ??= SearchOptions.Default;
        CheckK(k, _index.Dimensions.ItemCount);
        if (ids.Length < k || scores.Length < k)
        {
            ThrowShortDestination(k, ids.Length, scores.Length);
        }
        int known = Resolve(history, options.UnknownItems);
        var items = _history.AsSpan(0, known);
        Span<int> codes = _codes;
        _index.Tower.Tokens(items, _tokens, _scratchA, _scratchB);
        _index.Tower.Codes(_tokens, codes);

        var acc = _accumulator.AsSpan();
        var offsets = _index.PostingOffsets.Span;
        var postingItems = _index.PostingItems.Span;
        var postingScores = _index.PostingScores.Span;
        foreach (int code in codes)
        {
            int start = (int)offsets[code], length = (int)(offsets[code + 1] - offsets[code]);
            PostingKernels.AccumulateCore(acc, postingItems.Slice(start, length), postingScores.Slice(start, length));
        }

        int excluded = ResolveExclusions(options.ExcludeHistory ? items : [], exclude);
        var excludedItems = _exclude.AsSpan(0, excluded);
        foreach (int item in excludedItems)
        {
            acc[item] = 0f;
        }

        _selector.Reset(k);
        for (int t = 0; t < codes.Length; t++)
        {
            // A repeated code's items were already read and cleared by its first occurrence.
            if (codes[..t].Contains(codes[t]))
            {
                continue;
            }
            int start = (int)offsets[codes[t]], length = (int)(offsets[codes[t] + 1] - offsets[codes[t]]);
            _selector.CollectAndClearCore(acc, postingItems.Slice(start, length), Simd.Best);
        }

        if (_results.Length < k)
        {
            _results = new int[k];
        }
        int count = _selector.DrainSorted(_results, scores);
        if (count < k && options.FillToK)
        {
            count = Fill(count, k, excludedItems, scores);
        }
        var external = _index.ExternalIds.Span;
        for (int i = 0; i < count; i++)
        {
            ids[i] = external[_results[i]];
        }
        return count;
    }

    /// <summary>Computes the K_u codes a history maps to (the quantized user tokens' code ids).</summary>
    /// <param name="history">External item ids, oldest first.</param>
    /// <param name="codes">Receives K_u codes.</param>
    /// <param name="unknownItems">What to do with unknown ids.</param>
    /// <exception cref="ArgumentException">The history is empty or has no known item, or <paramref name="codes"/> is shorter than K_u.</exception>
    /// <exception cref="UnknownItemException">A history id is unknown and <see cref="UnknownItemPolicy.Error"/> is in force.</exception>
    public void Encode(ReadOnlySpan<long> history, Span<int> codes, UnknownItemPolicy unknownItems = UnknownItemPolicy.Error)
    {
        int tokens = _index.Dimensions.UserTokens;
        if (codes.Length < tokens)
        {
            throw new ArgumentException($"codes holds {codes.Length}; expected at least K_u = {tokens}.", nameof(codes));
        }
        int known = Resolve(history, unknownItems);
        _index.Tower.Tokens(_history.AsSpan(0, known), _tokens, _scratchA, _scratchB);
        _index.Tower.Codes(_tokens, codes);
    }

    /// <summary>Maps history ids to internal ids into <see cref="_history"/>; returns how many are known.</summary>
    private int Resolve(ReadOnlySpan<long> history, UnknownItemPolicy policy)
    {
        if (history.IsEmpty)
        {
            throw new ArgumentException("The history is empty; a query needs at least one item id.", nameof(history));
        }
        if (_history.Length < history.Length)
        {
            _history = new int[history.Length];
        }
        var map = _index.File.ItemIds;
        int known = 0;
        for (int i = 0; i < history.Length; i++)
        {
            if (map.TryGetInternal(history[i], out int item))
            {
                _history[known++] = item;
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

    private int ResolveExclusions(ReadOnlySpan<int> historyItems, ReadOnlySpan<long> exclude)
    {
        int needed = historyItems.Length + exclude.Length;
        if (_exclude.Length < needed)
        {
            _exclude = new int[needed];
        }
        historyItems.CopyTo(_exclude);
        int count = historyItems.Length;
        var map = _index.File.ItemIds;
        foreach (long id in exclude)
        {
            if (map.TryGetInternal(id, out int item))
            {
                _exclude[count++] = item;
            }
        }
        return count;
    }

    /// <summary>
    /// Appends score-0 items in fallback order, skipping results and excluded items. Every item with a
    /// positive score is already a result (the heap was not full), so the accumulator is all zeros here:
    /// marking results and exclusions in it costs no extra memory, and the marks are cleared after.
    /// </summary>
    private int Fill(int count, int k, ReadOnlySpan<int> excluded, Span<float> scores)
    {
        var acc = _accumulator.AsSpan();
        foreach (int item in _results.AsSpan(0, count))
        {
            acc[item] = Marked;
        }
        foreach (int item in excluded)
        {
            acc[item] = Marked;
        }
        var order = _index.FallbackOrder.Span;
        int n = order.IsEmpty ? acc.Length : order.Length;
        for (int i = 0; i < n && count < k; i++)
        {
            int item = order.IsEmpty ? i : order[i];
            if (acc[item] == 0f)
            {
                _results[count] = item;
                scores[count] = 0f;
                count++;
            }
        }
        foreach (int item in _results.AsSpan(0, count))
        {
            acc[item] = 0f;
        }
        foreach (int item in excluded)
        {
            acc[item] = 0f;
        }
        return count;
    }

    internal static void CheckK(int k, int itemCount)
    {
        if (k < 1 || k > itemCount)
        {
            ThrowBadK(k, itemCount);
        }
    }

    [DoesNotReturn]
    private static void ThrowBadK(int k, int itemCount) =>
        throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in 1..{itemCount} (the catalogue size).");

    [DoesNotReturn]
    private static void ThrowShortDestination(int k, int ids, int scores) =>
        throw new ArgumentException($"Destinations hold {ids} ids and {scores} scores; k = {k} needs at least {k} of each.");
}
