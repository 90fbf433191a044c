using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SparCode.Kernels.Cpu;

/// <summary>
/// Keeps the best <c>k</c> (score, id) pairs seen so far: higher score first, ties to the smaller id.
/// </summary>
/// <remarks>
/// A binary min-heap whose root is the worst kept pair, so a candidate is compared with one value.
/// Not thread-safe: each searcher owns one. <see cref="Reset"/> reuses the buffers without allocating.
/// </remarks>
public sealed class TopKSelector
{
    private float[] _scores;
    private int[] _ids;
    private int _k;
    private float _floor = float.Epsilon;

    /// <summary>Creates a selector with room for <paramref name="capacity"/> results.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is negative.</exception>
    public TopKSelector(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _scores = new float[capacity];
        _ids = new int[capacity];
    }

    /// <summary>How many pairs are kept now.</summary>
    public int Count { get; private set; }

    /// <summary>Empties the selector and sets how many pairs it keeps; grows its buffers only if <paramref name="k"/> exceeds every earlier k.</summary>
    /// <param name="k">Pairs to keep.</param>
    /// <param name="floor">
    /// A score every one of the k best is known to reach (0 if unknown): the collect passes never offer
    /// a value below it, so a good floor spares the heap most of its work. A floor above the true k-th
    /// best score loses results.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is not positive, or <paramref name="floor"/> is negative or NaN.</exception>
    public void Reset(int k, float floor = 0f)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        if (!(floor >= 0f))
        {
            throw new ArgumentOutOfRangeException(nameof(floor), floor, "The floor must be a score ≥ 0.");
        }
        if (k > _scores.Length)
        {
            _scores = new float[k];
            _ids = new int[k];
        }
        _k = k;
        _floor = MathF.Max(floor, float.Epsilon);
        Count = 0;
    }

    /// <summary>Offers one pair; it is kept if fewer than k are kept or it beats the worst kept pair.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Offer(float score, int id)
    {
        if (Count < _k)
        {
            Push(score, id);
        }
        else if (Beats(score, id, _scores[0], _ids[0]))
        {
            ReplaceRoot(score, id);
        }
    }

    /// <summary>
    /// For every id: reads <c>accumulator[id]</c>, sets it back to zero, and offers it if it is positive.
    /// </summary>
    /// <remarks>
    /// Reading and clearing in one pass resets the accumulator in O(touched). An id that occurs again
    /// (in another list) reads zero the second time and is not offered twice. Only values at or above
    /// the current threshold (anything positive until k are kept, then the worst kept score) reach the
    /// heap, so after the first few hundred ids the loop is a load and a store per id, plus one packed
    /// compare (<see cref="AnyAtLeast"/>) and one well-predicted branch per four ids (four ids per branch
    /// measured 10% faster per query than a branch per id, one-process A/B on the 1M-item index). This sparse pass is scalar on purpose: an AVX2 gather of
    /// eight slots plus eight clearing stores measured slower (42 against 37 µs for 35k postings in 16
    /// windows of 64Ki items, in a one-off microbenchmark that was not kept), and .NET 10 has no
    /// 512-bit gather or scatter. For dense windows use the vectorized <see cref="CollectWindowAndClear"/>.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the accumulator.</exception>
    /// <exception cref="ArgumentException">The ids are not strictly ascending (as in a posting list).</exception>
    public void CollectAndClear(Span<float> accumulator, ReadOnlySpan<int> ids)
    {
        CheckIds(accumulator.Length, ids);
        CollectAndClearCore(accumulator, ids);
    }

    /// <summary>
    /// The unchecked kernel over a window of the catalogue: slot <c>id − windowStart</c> of
    /// <paramref name="accumulator"/> holds item <c>id</c>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal unsafe void CollectAndClearCore(Span<float> accumulator, ReadOnlySpan<int> ids, int windowStart = 0)
    {
        Debug.Assert(_k > 0);
        // Ids outside the window are clamped (PostingKernels.Slot), not asserted: they come from a mapping that a
        // process breaking the immutability rule could rewrite under us.
        Debug.Assert(ids.IsEmpty || !accumulator.IsEmpty);
        ref int first = ref MemoryMarshal.GetReference(ids);
        float threshold = Threshold;
        nint n = ids.Length;
        nint i = 0;
        fixed (float* slots = accumulator)
        {
            // Every id is clamped into the window (PostingKernels.Slot), so a file rewritten under its mapping
            // cannot make this read or clear outside the accumulator; the id offered is the clamped one.
            uint last = (uint)accumulator.Length - 1;
            // Four slots per step, read and cleared before one combined compare: more independent loads in
            // flight and one well-predicted branch per four postings.
            for (; i + 4 <= n; i += 4)
            {
                uint a = PostingKernels.Slot(Unsafe.Add(ref first, i), windowStart, last), b = PostingKernels.Slot(Unsafe.Add(ref first, i + 1), windowStart, last);
                uint c = PostingKernels.Slot(Unsafe.Add(ref first, i + 2), windowStart, last), d = PostingKernels.Slot(Unsafe.Add(ref first, i + 3), windowStart, last);
                float v0 = slots[a], v1 = slots[b], v2 = slots[c], v3 = slots[d];
                slots[a] = 0f;
                slots[b] = 0f;
                slots[c] = 0f;
                slots[d] = 0f;
                if (AnyAtLeast(v0, v1, v2, v3, threshold))
                {
                    threshold = OfferAtLeast(v0, windowStart + (int)a, threshold);
                    threshold = OfferAtLeast(v1, windowStart + (int)b, threshold);
                    threshold = OfferAtLeast(v2, windowStart + (int)c, threshold);
                    threshold = OfferAtLeast(v3, windowStart + (int)d, threshold);
                }
            }
            for (; i < n; i++)
            {
                uint slot = PostingKernels.Slot(Unsafe.Add(ref first, i), windowStart, last);
                float value = slots[slot];
                slots[slot] = 0f;
                threshold = OfferAtLeast(value, windowStart + (int)slot, threshold);
            }
        }
    }

    /// <summary>
    /// True if any of four values reaches <paramref name="threshold"/>. With SIMD: one packed compare and
    /// a mask test instead of four scalar compares, each with its unordered (NaN) check (one-process A/B
    /// on the 1M index at 40k postings: search p50 63.2 → 56.5 and 62.7 → 56.2 µs). Both forms are false
    /// for NaN, so the result does not depend on the path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AnyAtLeast(float v0, float v1, float v2, float v3, float threshold) =>
        Vector128.IsHardwareAccelerated
            ? Vector128.GreaterThanOrEqualAny(Vector128.Create(v0, v1, v2, v3), Vector128.Create(threshold))
            : (v0 >= threshold) | (v1 >= threshold) | (v2 >= threshold) | (v3 >= threshold);

    /// <summary>Offers (value, id) if value reaches <paramref name="threshold"/>; returns the threshold now in force.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private float OfferAtLeast(float value, int id, float threshold)
    {
        if (value >= threshold)
        {
            Offer(value, id);
            return Threshold;
        }
        return threshold;
    }

    /// <summary>
    /// The last list of a window, fused with the collect pass: for every posting reads
    /// <c>accumulator[id] + score</c>, sets the slot to zero, and offers the sum if it is positive.
    /// </summary>
    /// <remarks>
    /// Saves the last list's store and its second read of the ids. The sum is formed in the same order
    /// as an accumulate followed by a collect, so the result is bit-identical to that pair. A slot set
    /// to −∞ beforehand (an excluded item) stays −∞ and is never offered.
    /// </remarks>
    /// <exception cref="ArgumentException">The spans differ in length or the ids are not strictly ascending.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the accumulator.</exception>
    public void AddCollectAndClear(Span<float> accumulator, ReadOnlySpan<int> ids, ReadOnlySpan<float> scores)
    {
        if (ids.Length != scores.Length)
        {
            throw new ArgumentException($"Posting ids ({ids.Length}) and scores ({scores.Length}) differ in length.", nameof(scores));
        }
        CheckIds(accumulator.Length, ids);
        AddCollectAndClearCore(accumulator, ids, scores);
    }

    /// <summary>The unchecked kernel of <see cref="AddCollectAndClear"/> over a window starting at item <paramref name="windowStart"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal unsafe void AddCollectAndClearCore(Span<float> accumulator, ReadOnlySpan<int> ids, ReadOnlySpan<float> scores, int windowStart = 0)
    {
        Debug.Assert(_k > 0 && ids.Length == scores.Length);
        // Ids outside the window are clamped (PostingKernels.Slot), not asserted: they come from a mapping that a
        // process breaking the immutability rule could rewrite under us.
        Debug.Assert(ids.IsEmpty || !accumulator.IsEmpty);
        ref int id = ref MemoryMarshal.GetReference(ids);
        ref float score = ref MemoryMarshal.GetReference(scores);
        float threshold = Threshold;
        nint n = ids.Length;
        nint i = 0;
        fixed (float* slots = accumulator)
        {
            // Ids clamped into the window, as in CollectAndClearCore.
            uint last = (uint)accumulator.Length - 1;
            for (; i + 4 <= n; i += 4)
            {
                uint a = PostingKernels.Slot(Unsafe.Add(ref id, i), windowStart, last), b = PostingKernels.Slot(Unsafe.Add(ref id, i + 1), windowStart, last);
                uint c = PostingKernels.Slot(Unsafe.Add(ref id, i + 2), windowStart, last), d = PostingKernels.Slot(Unsafe.Add(ref id, i + 3), windowStart, last);
                float v0 = slots[a] + Unsafe.Add(ref score, i), v1 = slots[b] + Unsafe.Add(ref score, i + 1);
                float v2 = slots[c] + Unsafe.Add(ref score, i + 2), v3 = slots[d] + Unsafe.Add(ref score, i + 3);
                slots[a] = 0f;
                slots[b] = 0f;
                slots[c] = 0f;
                slots[d] = 0f;
                if (AnyAtLeast(v0, v1, v2, v3, threshold))
                {
                    threshold = OfferAtLeast(v0, windowStart + (int)a, threshold);
                    threshold = OfferAtLeast(v1, windowStart + (int)b, threshold);
                    threshold = OfferAtLeast(v2, windowStart + (int)c, threshold);
                    threshold = OfferAtLeast(v3, windowStart + (int)d, threshold);
                }
            }
            for (; i < n; i++)
            {
                uint slot = PostingKernels.Slot(Unsafe.Add(ref id, i), windowStart, last);
                float value = slots[slot] + Unsafe.Add(ref score, i);
                slots[slot] = 0f;
                threshold = OfferAtLeast(value, windowStart + (int)slot, threshold);
            }
        }
    }

    /// <summary>
    /// Reads every slot of a window of the catalogue (slot <c>i</c> holds item <c>firstId + i</c>), offers
    /// the positive ones and leaves the window all zero: the SIMD threshold filter for dense windows.
    /// </summary>
    /// <remarks>
    /// Compares a whole vector of slots with the current threshold at once, so only survivors reach the
    /// heap, and clears with full-width stores. It reads every slot, touched or not, so it beats the
    /// per-posting <see cref="CollectAndClear"/> only when a window's postings are a sizeable fraction
    /// of its slots (the engine switches at one posting per 8 slots, measured). Every vector width
    /// offers the same values, so the result does not depend on the path.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="firstId"/> is negative or the window would pass <see cref="int.MaxValue"/>.</exception>
    public void CollectWindowAndClear(Span<float> window, int firstId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstId);
        if ((long)firstId + window.Length > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(firstId), firstId, $"A window of {window.Length} slots starting at item {firstId} passes int.MaxValue.");
        }
        CollectWindowAndClearCore(window, firstId, Simd.Best);
    }

    /// <summary>The kernel of <see cref="CollectWindowAndClear"/>; <paramref name="path"/> caps the vector width (tests force each one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal void CollectWindowAndClearCore(Span<float> window, int firstId, SimdPath path)
    {
        Debug.Assert(_k > 0);
        ref float slots = ref MemoryMarshal.GetReference(window);
        nint n = window.Length;
        nint i = 0;
        float threshold = Threshold;
        if (path == SimdPath.Vector512 && Vector512.IsHardwareAccelerated)
        {
            for (var limit = Vector512.Create(threshold); i + Vector512<float>.Count <= n; i += Vector512<float>.Count)
            {
                ulong mask = Vector512.GreaterThanOrEqual(Vector512.LoadUnsafe(ref slots, (nuint)i), limit).ExtractMostSignificantBits();
                if (mask != 0)
                {
                    limit = Vector512.Create(OfferLanes(mask, ref Unsafe.Add(ref slots, i), firstId + (int)i));
                }
                Vector512<float>.Zero.StoreUnsafe(ref slots, (nuint)i);
            }
        }
        else if (path >= SimdPath.Vector256 && Vector256.IsHardwareAccelerated)
        {
            for (var limit = Vector256.Create(threshold); i + Vector256<float>.Count <= n; i += Vector256<float>.Count)
            {
                ulong mask = Vector256.GreaterThanOrEqual(Vector256.LoadUnsafe(ref slots, (nuint)i), limit).ExtractMostSignificantBits();
                if (mask != 0)
                {
                    limit = Vector256.Create(OfferLanes(mask, ref Unsafe.Add(ref slots, i), firstId + (int)i));
                }
                Vector256<float>.Zero.StoreUnsafe(ref slots, (nuint)i);
            }
        }
        else if (path >= SimdPath.Vector128 && Vector128.IsHardwareAccelerated)
        {
            for (var limit = Vector128.Create(threshold); i + Vector128<float>.Count <= n; i += Vector128<float>.Count)
            {
                ulong mask = Vector128.GreaterThanOrEqual(Vector128.LoadUnsafe(ref slots, (nuint)i), limit).ExtractMostSignificantBits();
                if (mask != 0)
                {
                    limit = Vector128.Create(OfferLanes(mask, ref Unsafe.Add(ref slots, i), firstId + (int)i));
                }
                Vector128<float>.Zero.StoreUnsafe(ref slots, (nuint)i);
            }
        }
        threshold = Threshold;
        for (; i < n; i++)
        {
            float value = Unsafe.Add(ref slots, i);
            Unsafe.Add(ref slots, i) = 0f;
            if (value >= threshold)
            {
                Offer(value, firstId + (int)i);
                threshold = Threshold;
            }
        }
    }

    /// <summary>Offers the lanes set in <paramref name="mask"/> (slot <c>lane</c> is item <c>firstId + lane</c>); returns the new threshold.</summary>
    private float OfferLanes(ulong mask, ref float slots, int firstId)
    {
        do
        {
            int lane = System.Numerics.BitOperations.TrailingZeroCount(mask);
            mask &= mask - 1;
            Offer(Unsafe.Add(ref slots, lane), firstId + lane);
        }
        while (mask != 0);
        return Threshold;
    }

    /// <summary>
    /// The least value worth offering: anything positive and at least the floor until k pairs are kept,
    /// then the worst kept score (an equal score can still win on a smaller id, so the filters compare with ≥).
    /// </summary>
    private float Threshold => Count < _k ? _floor : _scores[0];

    private static void CheckIds(int length, ReadOnlySpan<int> ids)
    {
        for (int i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] >= (uint)length)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), ids[i], $"Id must be in [0, {length}).");
            }
            if (i > 0 && ids[i] <= ids[i - 1])
            {
                throw new ArgumentException($"Ids must be strictly ascending; ids[{i}] = {ids[i]} follows {ids[i - 1]}.", nameof(ids));
            }
        }
    }

    /// <summary>
    /// Writes the kept pairs to <paramref name="ids"/> and <paramref name="scores"/> best first (score
    /// descending, ties by smaller id) and empties the selector. Returns how many were written.
    /// </summary>
    /// <exception cref="ArgumentException">A destination is shorter than <see cref="Count"/>.</exception>
    public int DrainSorted(Span<int> ids, Span<float> scores)
    {
        int count = Count;
        if (ids.Length < count || scores.Length < count)
        {
            throw new ArgumentException($"Destinations hold {ids.Length} ids and {scores.Length} scores; {count} are needed.");
        }
        // Pop the worst pair into the last free slot until the heap is empty: heap order gives sorted order.
        for (int slot = count - 1; slot >= 0; slot--)
        {
            ids[slot] = _ids[0];
            scores[slot] = _scores[0];
            Count--;
            if (Count > 0)
            {
                _scores[0] = _scores[Count];
                _ids[0] = _ids[Count];
                SiftDown(0);
            }
        }
        return count;
    }

    /// <summary>True when (score, id) ranks above (otherScore, otherId): higher score, or equal score and smaller id.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Beats(float score, int id, float otherScore, int otherId) =>
        score > otherScore || (score == otherScore && id < otherId);

    private void Push(float score, int id)
    {
        int child = Count++;
        while (child > 0)
        {
            int parent = (child - 1) >> 1;
            if (!Beats(_scores[parent], _ids[parent], score, id))
            {
                break;
            }
            _scores[child] = _scores[parent];
            _ids[child] = _ids[parent];
            child = parent;
        }
        _scores[child] = score;
        _ids[child] = id;
    }

    private void ReplaceRoot(float score, int id)
    {
        _scores[0] = score;
        _ids[0] = id;
        SiftDown(0);
    }

    private void SiftDown(int parent)
    {
        float score = _scores[parent];
        int id = _ids[parent];
        int count = Count;
        while (true)
        {
            int child = 2 * parent + 1;
            if (child >= count)
            {
                break;
            }
            // Pick the worse child: the heap keeps the worst pair at the root.
            if (child + 1 < count && Beats(_scores[child], _ids[child], _scores[child + 1], _ids[child + 1]))
            {
                child++;
            }
            if (!Beats(score, id, _scores[child], _ids[child]))
            {
                break;
            }
            _scores[parent] = _scores[child];
            _ids[parent] = _ids[child];
            parent = child;
        }
        _scores[parent] = score;
        _ids[parent] = id;
    }
}
