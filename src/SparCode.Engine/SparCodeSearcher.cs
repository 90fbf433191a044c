using System.Diagnostics.CodeAnalysis;
using SparCode.Kernels.Cpu;

namespace SparCode.Engine;

/// <summary>
/// Runs queries against one <see cref="SparCodeIndex"/>. Owns its scratch (about 256 KiB, plus 2 × <see cref="QueryTower.ScratchLength"/> floats for the tower: with the attention tower of L = 50, d = 64, F = 64 about 125 KiB), so after the first query of
/// the largest k and history length it does not allocate. One thread at a time: use one per thread. A call that
/// overlaps another on the same searcher throws <see cref="InvalidOperationException"/> instead of corrupting the
/// scratch (a reentrancy guard: one interlocked exchange and one store per call).
/// </summary>
/// <remarks>
/// A query: history → K_u tokens → K_u codes → scatter-add of the K_u posting lists into a
/// window-sized accumulator, one cache-sized window of the catalogue at a time, shortest list first
/// (see <see cref="ServingRules.SortByListLength"/>; a code chosen twice counts twice) → excluded items dropped →
/// the window's scores read, cleared and offered to a top-k heap if they reach its threshold, which
/// starts at a score k results are known to reach (from the lists' tabulated rank scores, see
/// <c>ListRankScores</c>) instead of at zero; per posting for sparse windows (so the accumulator is
/// reset in O(postings touched), not O(n_items)) or by one SIMD pass for dense ones → scores
/// descending, ties by smaller item id → optional fill to k with score-0 items from the fallback order.
/// </remarks>
public sealed class SparCodeSearcher
{
    /// <summary>Items per accumulation window: 2^16 floats = 256 KiB, so the accumulator stays in a 1–2 MiB L2 however large the catalogue (perf/results/2026-12-02-code-notes).</summary>
    internal const int DefaultWindow = 1 << 16;

    /// <summary>
    /// A window with at least one posting per this many slots is collected by a SIMD pass over all its
    /// slots instead of per posting. At one posting per 8 slots the SIMD pass already wins on every instruction
    /// set TopKBenchmarks measured, so it is never chosen where it loses (perf/results/2026-12-02-code-notes).
    /// </summary>
    internal const int DenseCollectSlotsPerPosting = 8;

    /// <summary>How many windows' worth of each list the scan prefetches ahead of itself.</summary>
    private const int PrefetchWindows = 2;

    private readonly SparCodeIndex _index;
    private readonly float[] _window;
    private readonly int[] _cursors;
    private readonly int[] _ends;
    private readonly int[] _segmentEnds;
    private readonly int[] _prefetched;
    private readonly int[] _ahead;
    private readonly CollectMode _collect;
    private readonly ListWindows? _runEnds;
    private readonly float[] _scratchA;
    private readonly float[] _scratchB;
    private readonly float[] _tokens;
    private readonly int[] _codes;
    private readonly int[] _scanCodes;
    private readonly TopKSelector _selector = new(0);
    private int[] _history = [];
    private int[] _exclude = [];
    private int[] _results = [];
    private int[] _taken = [];

    /// <summary>1 while a call runs on this searcher (the reentrancy guard).</summary>
    private int _busy;

    internal SparCodeSearcher(SparCodeIndex index, int window = DefaultWindow, CollectMode collect = CollectMode.Auto)
    {
        _collect = collect;
        _runEnds = window == DefaultWindow ? index.Windows : null;
        _index = index;
        var dims = index.Dimensions;
        _window = new float[Math.Min(window, dims.ItemCount)];
        _cursors = new int[dims.UserTokens];
        _ends = new int[dims.UserTokens];
        _segmentEnds = new int[dims.UserTokens];
        _prefetched = new int[dims.UserTokens];
        _ahead = new int[dims.UserTokens];
        _scratchA = new float[index.Tower.ScratchLength];
        _scratchB = new float[index.Tower.ScratchLength];
        _tokens = new float[dims.UserTokens * dims.TokenDim];
        _codes = new int[dims.UserTokens];
        _scanCodes = new int[dims.UserTokens];
    }

    /// <summary>The index this searcher reads.</summary>
    public SparCodeIndex Index => _index;

    /// <summary>The K_u codes the last <c>Search</c> or <see cref="Encode"/> computed (valid until the next call).</summary>
    public ReadOnlySpan<int> LastCodes => _codes;

    /// <summary>Postings the last <c>Search</c> read: the summed lengths of its K_u lists (a repeated code counts twice).</summary>
    public long LastPostingsTouched { get; private set; }

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
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    /// <exception cref="InvalidOperationException">Another thread is using this searcher at the same time.</exception>
    public int Search(ReadOnlySpan<long> history, ReadOnlySpan<long> exclude, int k, Span<long> ids, Span<float> scores, SearchOptions? options = null)
    {
        using var call = Begin();
        return SearchCore(history, exclude, k, ids, scores, options);
    }

    /// <summary>
    /// Finds the top-k items for codes computed elsewhere, for example by the training-side tower, so that an
    /// evaluation ranks exactly as the engine does: the codes' lists (after the index's code remap) are added in the
    /// engine's order, <paramref name="exclude"/> is dropped, then the same selection, tie-breaking and fill as
    /// <see cref="Search(ReadOnlySpan{long}, ReadOnlySpan{long}, int, Span{long}, Span{float}, SearchOptions?)"/>.
    /// </summary>
    /// <param name="codes">K_u codes, each in <c>[0, K_c^M)</c>.</param>
    /// <param name="exclude">External ids to drop from the results; unknown ones are ignored.</param>
    /// <param name="k">Results wanted, 1..n_items.</param>
    /// <param name="ids">Receives up to k external item ids, best first.</param>
    /// <param name="scores">Receives their scores.</param>
    /// <param name="options">Only <see cref="SearchOptions.FillToK"/> applies; <see cref="SearchOptions.Default"/> if null.</param>
    /// <returns>How many results were written.</returns>
    /// <exception cref="ArgumentException">There are not K_u codes, a code is out of range, or a destination is shorter than k.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is not in 1..n_items.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    /// <exception cref="InvalidOperationException">Another thread is using this searcher at the same time.</exception>
    public int SearchCodes(ReadOnlySpan<int> codes, ReadOnlySpan<long> exclude, int k, Span<long> ids, Span<float> scores, SearchOptions? options = null)
    {
        using var call = Begin();
        var dims = _index.Dimensions;
        if (codes.Length != dims.UserTokens)
        {
            throw new ArgumentException($"{codes.Length} codes given; this index's queries have K_u = {dims.UserTokens}.", nameof(codes));
        }
        var remap = _index.Tower.CodeRemap.Span;
        for (int t = 0; t < codes.Length; t++)
        {
            if ((uint)codes[t] >= (uint)dims.CodeCount)
            {
                throw new ArgumentException($"Code {codes[t]} (token {t}) is not in [0, {dims.CodeCount}).", nameof(codes));
            }
            _codes[t] = remap.IsEmpty ? codes[t] : remap[codes[t]];
        }
        ServingRules.CheckK(k, dims.ItemCount);
        ServingRules.CheckDestinations(k, ids.Length, scores.Length);
        return SearchFromCodes(ResolveExclusions([], exclude), k, ids, scores, options ?? SearchOptions.Default);
    }

    /// <summary>Guard and lease for one public call; disposing ends both.</summary>
    private Call Begin()
    {
        Enter();
        if (!_index.TryAcquire())
        {
            Volatile.Write(ref _busy, 0);
            _index.ThrowDisposed();
        }
        return new Call(this);
    }

    /// <summary>An open call: the reentrancy guard held and the index leased.</summary>
    private readonly ref struct Call(SparCodeSearcher searcher)
    {
        public void Dispose()
        {
            searcher._index.Release();
            Volatile.Write(ref searcher._busy, 0);
        }
    }

    /// <summary>A search while the caller holds a lease on the index (a batch): the guard, no lease of its own.</summary>
    internal int SearchLeased(ReadOnlySpan<long> history, ReadOnlySpan<long> exclude, int k, Span<long> ids, Span<float> scores, SearchOptions? options)
    {
        Enter();
        try
        {
            return SearchCore(history, exclude, k, ids, scores, options);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>The reentrancy guard: claims this searcher for the calling thread or throws.</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
    private void Enter()
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            ThrowConcurrentUse();
        }
    }

    [DoesNotReturn]
    private static void ThrowConcurrentUse() =>
        throw new InvalidOperationException("This SparCodeSearcher is already running a call on another thread; a searcher serves one thread at a time. Create one searcher per thread (SparCodeIndex.CreateSearcher), or use SparCodeIndex.SearchBatch or SparCodeService.");

    private int SearchCore(ReadOnlySpan<long> history, ReadOnlySpan<long> exclude, int k, Span<long> ids, Span<float> scores, SearchOptions? options)
    {
        options ??= SearchOptions.Default;
        ServingRules.CheckK(k, _index.Dimensions.ItemCount);
        ServingRules.CheckDestinations(k, ids.Length, scores.Length);
        int known = Resolve(history, options.UnknownItems);
        var items = _history.AsSpan(0, known);
        _index.Tower.Tokens(items, _tokens, _scratchA, _scratchB);
        _index.Tower.Codes(_tokens, _codes);
        return SearchFromCodes(ResolveExclusions(options.ExcludeHistory ? items : [], exclude), k, ids, scores, options);
    }

    /// <summary>The search after the codes (in <see cref="_codes"/>) and the <paramref name="excluded"/> items of <see cref="_exclude"/> are known.</summary>
    private int SearchFromCodes(int excluded, int k, Span<long> ids, Span<float> scores, SearchOptions options)
    {
        ReadOnlySpan<int> codes = _codes;
        var excludedItems = _exclude.AsSpan(0, excluded);
        // Start the top-k filter at a score k results are known to reach (see ListRankScores).
        _selector.Reset(k, _index.RankScores.Floor(codes, k + excluded));
        var scanCodes = _scanCodes.AsSpan(0, codes.Length);
        codes.CopyTo(scanCodes);
        ServingRules.SortByListLength(_index.PostingOffsets.Span, scanCodes);
        ScoreWindows(scanCodes, excludedItems);
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

    /// <summary>
    /// Scores the catalogue one window of <see cref="_window"/>.Length items at a time, so the
    /// accumulator stays in L2 however large the catalogue is (windowed accumulation, as in SINDI).
    /// Lists are sorted by item id, so each list's part of a window is the run after the previous
    /// window's; its end comes from the index's window table (default window) or a galloping search. Per window:
    /// <list type="bullet">
    /// <item>Dense windows (at least one posting per <see cref="DenseCollectSlotsPerPosting"/> slots):
    /// scatter-add every list's run, zero the excluded items, then one SIMD threshold pass over the whole
    /// window offers and clears it.</item>
    /// <item>Sparse windows: scatter-add all but the last list, set excluded items to −∞, then the last
    /// list's run is added, read and cleared in one fused pass, and the other lists' runs are read and
    /// cleared (O(postings), not O(window)); excluded slots are set back to zero.</item>
    /// </list>
    /// Each list is prefetched about two windows ahead of the scan, interleaved with the scatter-add
    /// (a burst at the start of the query only), so its next runs stream in from memory while this
    /// window is scored.
    /// </summary>
    private void ScoreWindows(ReadOnlySpan<int> codes, ReadOnlySpan<int> excluded)
    {
        var offsets = _index.PostingOffsets.Span;
        var postingItems = _index.PostingItems.Span;
        var postingScores = _index.PostingScores.Span;
        Span<int> cursor = _cursors;
        Span<int> end = _ends;
        Span<int> segmentEnd = _segmentEnds;
        Span<int> prefetched = _prefetched;
        Span<int> ahead = _ahead;
        var window = _window.AsSpan();
        int itemCount = _index.Dimensions.ItemCount;
        int windowCount = (int)((itemCount + (long)window.Length - 1) / window.Length);
        long touched = 0;
        for (int t = 0; t < codes.Length; t++)
        {
            cursor[t] = prefetched[t] = (int)offsets[codes[t]];
            end[t] = (int)offsets[codes[t] + 1];
            touched += end[t] - cursor[t];
            ahead[t] = PrefetchWindows * ((end[t] - cursor[t]) / windowCount + 1);
            Prefetch(t, cursor[t] + ahead[t], postingItems, postingScores);
        }
        LastPostingsTouched = touched;
        int last = codes.Length - 1;
        for (int windowIndex = 0, windowStart = 0; windowIndex < windowCount; windowIndex++, windowStart = (int)Math.Min((long)windowStart + window.Length, itemCount))
        {
            var slots = window[..Math.Min(window.Length, itemCount - windowStart)];
            int windowEnd = windowStart + slots.Length;
            int postings = 0;
            for (int t = 0; t < codes.Length; t++)
            {
                segmentEnd[t] = _runEnds is { } runEnds ? runEnds.RunEnd(codes[t], windowIndex) : LowerBound(postingItems, cursor[t], end[t], windowEnd);
                postings += segmentEnd[t] - cursor[t];
            }
            if (postings == 0)
            {
                continue;
            }
            if (_collect == CollectMode.Dense || (_collect == CollectMode.Auto && (long)postings * DenseCollectSlotsPerPosting >= slots.Length))
            {
                for (int t = 0; t < codes.Length; t++)
                {
                    Accumulate(t, slots, windowStart, postingItems, postingScores);
                }
                SetExcluded(slots, windowStart, excluded, 0f);
                _selector.CollectWindowAndClearCore(slots, windowStart, Simd.Best);
            }
            else
            {
                for (int t = 0; t < last; t++)
                {
                    Accumulate(t, slots, windowStart, postingItems, postingScores);
                }
                Prefetch(last, segmentEnd[last] + ahead[last], postingItems, postingScores);
                SetExcluded(slots, windowStart, excluded, float.NegativeInfinity);
                _selector.AddCollectAndClearCore(slots, postingItems[cursor[last]..segmentEnd[last]], postingScores[cursor[last]..segmentEnd[last]], windowStart);
                for (int t = 0; t < last; t++)
                {
                    // A repeated code's items were already read and cleared by its first occurrence or the fused pass.
                    if (codes[t] != codes[last] && !codes[..t].Contains(codes[t]))
                    {
                        _selector.CollectAndClearCore(slots, postingItems[cursor[t]..segmentEnd[t]], windowStart);
                    }
                }
                SetExcluded(slots, windowStart, excluded, 0f);
            }
            segmentEnd.CopyTo(cursor);
        }
    }

    /// <summary>
    /// Scatter-adds list <paramref name="list"/>'s run in the current window, prefetching as it goes the
    /// part of the list up to <see cref="PrefetchWindows"/> windows beyond this run.
    /// </summary>
    private void Accumulate(int list, Span<float> slots, int windowStart, ReadOnlySpan<int> postingItems, ReadOnlySpan<float> postingScores)
    {
        int from = _cursors[list];
        int to = _segmentEnds[list];
        int prefetchFrom = _prefetched[list];
        int prefetchTo = Math.Max(prefetchFrom, Math.Min(_ends[list], to + _ahead[list]));
        _prefetched[list] = prefetchTo;
        PostingKernels.AccumulateCore(slots, postingItems[from..to], postingScores[from..to], windowStart,
            postingItems[prefetchFrom..prefetchTo], postingScores[prefetchFrom..prefetchTo]);
    }

    /// <summary>Sets the slots of the excluded items that fall in the window to <paramref name="value"/>.</summary>
    private static void SetExcluded(Span<float> slots, int windowStart, ReadOnlySpan<int> excluded, float value)
    {
        foreach (int item in excluded)
        {
            if ((uint)(item - windowStart) < (uint)slots.Length)
            {
                slots[item - windowStart] = value;
            }
        }
    }

    /// <summary>Prefetches list <paramref name="list"/> from where its last prefetch stopped up to posting <paramref name="upTo"/> (capped at the list's end).</summary>
    private void Prefetch(int list, int upTo, ReadOnlySpan<int> postingItems, ReadOnlySpan<float> postingScores)
    {
        int from = _prefetched[list];
        int to = Math.Min(upTo, _ends[list]);
        if (to > from)
        {
            PostingKernels.Prefetch(postingItems[from..to], postingScores[from..to]);
            _prefetched[list] = to;
        }
    }

    /// <summary>First index in [<paramref name="from"/>, <paramref name="to"/>) whose item is ≥ <paramref name="value"/> (galloping, then binary search).</summary>
    private static int LowerBound(ReadOnlySpan<int> items, int from, int to, int value)
    {
        int step = 1;
        int low = from;
        int high = from;
        while (high < to && items[high] < value)
        {
            low = high + 1;
            high = Math.Min(to, high + step);
            step <<= 1;
        }
        while (low < high)
        {
            int middle = (int)((uint)(low + high) >> 1);
            if (items[middle] < value)
            {
                low = middle + 1;
            }
            else
            {
                high = middle;
            }
        }
        return low;
    }

    /// <summary>Computes the K_u codes a history maps to (the quantized user tokens' code ids).</summary>
    /// <param name="history">External item ids, oldest first.</param>
    /// <param name="codes">Receives K_u codes.</param>
    /// <param name="unknownItems">What to do with unknown ids.</param>
    /// <exception cref="ArgumentException">The history is empty or has no known item, or <paramref name="codes"/> is shorter than K_u.</exception>
    /// <exception cref="UnknownItemException">A history id is unknown and <see cref="UnknownItemPolicy.Error"/> is in force.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    /// <exception cref="InvalidOperationException">Another thread is using this searcher at the same time.</exception>
    public void Encode(ReadOnlySpan<long> history, Span<int> codes, UnknownItemPolicy unknownItems = UnknownItemPolicy.Error)
    {
        using var call = Begin();
        EncodeCore(history, codes, unknownItems);
    }

    private void EncodeCore(ReadOnlySpan<long> history, Span<int> codes, UnknownItemPolicy unknownItems)
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
        if (_history.Length < history.Length)
        {
            _history = new int[history.Length];
        }
        return ServingRules.ResolveHistory(_index.File.ItemIds, history, policy, _history);
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
    /// Appends score-0 items in fallback order, skipping results and excluded items; if the fallback order
    /// runs out first (it may list only some items), continues with ascending internal ids not yet taken.
    /// Every item with a positive score is already a result (the heap was not full), so any other item not
    /// excluded scores 0. Results and exclusions are few: a sorted copy answers "taken?" by binary search.
    /// </summary>
    private int Fill(int count, int k, ReadOnlySpan<int> excluded, Span<float> scores)
    {
        int takenCount = count + excluded.Length;
        if (_taken.Length < takenCount + k)
        {
            _taken = new int[takenCount + k];
        }
        var taken = _taken.AsSpan(0, takenCount);
        _results.AsSpan(0, count).CopyTo(taken);
        excluded.CopyTo(taken[count..]);
        taken.Sort();
        var order = _index.FallbackOrder.Span;
        for (int i = 0; i < order.Length && count < k; i++)
        {
            int item = order[i];
            if (taken.BinarySearch(item) < 0)
            {
                _results[count] = item;
                scores[count] = 0f;
                count++;
            }
        }
        if (count < k)
        {
            // Past the fallback order (or without one): ascending ids, skipping everything taken so far.
            // count + excluded ≤ k + excluded, which the buffer holds.
            takenCount = count + excluded.Length;
            taken = _taken.AsSpan(0, takenCount);
            _results.AsSpan(0, count).CopyTo(taken);
            excluded.CopyTo(taken[count..]);
            taken.Sort();
            int itemCount = _index.Dimensions.ItemCount;
            for (int item = 0, t = 0; item < itemCount && count < k; item++)
            {
                while (t < taken.Length && taken[t] < item)
                {
                    t++;
                }
                if (t < taken.Length && taken[t] == item)
                {
                    continue;
                }
                _results[count] = item;
                scores[count] = 0f;
                count++;
            }
        }
        return count;
    }
}

/// <summary>How a searcher collects a window's scores: chosen per window by density, or forced (tests cover both paths).</summary>
internal enum CollectMode
{
    /// <summary>Dense SIMD pass when a window has at least one posting per <see cref="SparCodeSearcher.DenseCollectSlotsPerPosting"/> slots, else per posting.</summary>
    Auto,

    /// <summary>Always per posting (fused last list).</summary>
    Sparse,

    /// <summary>Always the SIMD pass over the whole window.</summary>
    Dense,
}
