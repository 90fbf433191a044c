using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace SparCode.Kernels.Cpu;

/// <summary>
/// The collect passes: read score slots of an accumulator, set them back to zero, and offer the ones
/// worth keeping to a <see cref="TopKSelector"/>.
/// </summary>
/// <remarks>
/// Each pass compares a slot with the selector's current threshold before it calls
/// <see cref="TopKSelector.Offer"/> (anything positive and at least the floor until k pairs are kept, then
/// the worst kept score), so after the first few hundred slots the heap is rarely touched. The threshold
/// only filters out values the heap would reject, so every pass and every vector width keeps the same
/// pairs. Measurements behind the choices below: perf/results/2026-12-02-simd-generic/.
/// </remarks>
public static class AccumulatorCollect
{
    /// <summary>
    /// For every id: reads <c>accumulator[id]</c>, sets it back to zero, and offers it if it is positive.
    /// </summary>
    /// <remarks>
    /// Reading and clearing in one pass resets the accumulator in O(touched). An id that occurs again
    /// (in another list) reads zero the second time and is not offered twice. The loop is a load and a
    /// store per id, plus one packed compare (<see cref="AnyAtLeast"/>) and one well-predicted branch per
    /// four ids. It is scalar on purpose: an AVX2 gather of eight slots plus eight clearing stores is
    /// slower, and .NET 10 has no 512-bit gather or scatter. For dense windows use the vectorized
    /// <see cref="CollectWindowAndClear"/>.
    /// </remarks>
    /// <param name="selector">The selector that receives the pairs.</param>
    /// <param name="accumulator">Scores by item id; the slots of <paramref name="ids"/> are zero afterwards.</param>
    /// <param name="ids">The touched ids, strictly ascending (as in a posting list).</param>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the accumulator.</exception>
    /// <exception cref="ArgumentException">The ids are not strictly ascending.</exception>
    public static void CollectAndClear(this TopKSelector selector, Span<float> accumulator, ReadOnlySpan<int> ids)
    {
        CheckIds(accumulator.Length, ids);
        CollectAndClearCore(selector, accumulator, ids);
    }

    /// <summary>
    /// The unchecked kernel of <see cref="CollectAndClear"/> over a window of the catalogue: slot
    /// <c>id − windowStart</c> of <paramref name="accumulator"/> holds item <c>id</c>.
    /// </summary>
    internal static void CollectAndClearCore(this TopKSelector selector, Span<float> accumulator, ReadOnlySpan<int> ids, int windowStart = 0) =>
        CollectPostings<SlotOnly>(selector, accumulator, ids, ref Unsafe.NullRef<float>(), windowStart);

    /// <summary>
    /// The last list of a window, fused with the collect pass: for every posting reads
    /// <c>accumulator[id] + score</c>, sets the slot to zero, and offers the sum if it is positive.
    /// </summary>
    /// <remarks>
    /// Saves the last list's store and its second read of the ids. The sum is formed in the same order
    /// as an accumulate followed by a collect, so the result is bit-identical to that pair. A slot set
    /// to −∞ beforehand (an excluded item) stays −∞ and is never offered.
    /// </remarks>
    /// <param name="selector">The selector that receives the pairs.</param>
    /// <param name="accumulator">Scores by item id; the slots of <paramref name="ids"/> are zero afterwards.</param>
    /// <param name="ids">The last list's ids, strictly ascending.</param>
    /// <param name="scores">The last list's scores, one per id.</param>
    /// <exception cref="ArgumentException">The spans differ in length or the ids are not strictly ascending.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the accumulator.</exception>
    public static void AddCollectAndClear(this TopKSelector selector, Span<float> accumulator, ReadOnlySpan<int> ids, ReadOnlySpan<float> scores)
    {
        if (ids.Length != scores.Length)
        {
            throw new ArgumentException($"Posting ids ({ids.Length}) and scores ({scores.Length}) differ in length.", nameof(scores));
        }
        CheckIds(accumulator.Length, ids);
        AddCollectAndClearCore(selector, accumulator, ids, scores);
    }

    /// <summary>The unchecked kernel of <see cref="AddCollectAndClear"/> over a window starting at item <paramref name="windowStart"/>.</summary>
    internal static void AddCollectAndClearCore(this TopKSelector selector, Span<float> accumulator, ReadOnlySpan<int> ids, ReadOnlySpan<float> scores, int windowStart = 0)
    {
        Debug.Assert(ids.Length == scores.Length);
        CollectPostings<SlotPlusScore>(selector, accumulator, ids, ref MemoryMarshal.GetReference(scores), windowStart);
    }

    /// <summary>
    /// The per-posting pass behind <see cref="CollectAndClearCore"/> and <see cref="AddCollectAndClearCore"/>:
    /// for each id, <typeparamref name="TValue"/> forms the value from the slot (and the posting's score),
    /// the slot is cleared, and the value is offered if it reaches the threshold.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void CollectPostings<TValue>(TopKSelector selector, Span<float> accumulator, ReadOnlySpan<int> ids, ref float score, int windowStart)
        where TValue : struct, IPostingValue
    {
        Debug.Assert(selector.K > 0);
        // Ids outside the window are clamped (PostingKernels.Slot), not asserted: they come from a mapping that a
        // process breaking the immutability rule could rewrite under us.
        Debug.Assert(ids.IsEmpty || !accumulator.IsEmpty);
        ref int first = ref MemoryMarshal.GetReference(ids);
        float threshold = selector.Threshold;
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
                float v0 = TValue.Read(slots[a], ref score, i), v1 = TValue.Read(slots[b], ref score, i + 1);
                float v2 = TValue.Read(slots[c], ref score, i + 2), v3 = TValue.Read(slots[d], ref score, i + 3);
                slots[a] = 0f;
                slots[b] = 0f;
                slots[c] = 0f;
                slots[d] = 0f;
                if (AnyAtLeast(v0, v1, v2, v3, threshold))
                {
                    threshold = OfferAtLeast(selector, v0, windowStart + (int)a, threshold);
                    threshold = OfferAtLeast(selector, v1, windowStart + (int)b, threshold);
                    threshold = OfferAtLeast(selector, v2, windowStart + (int)c, threshold);
                    threshold = OfferAtLeast(selector, v3, windowStart + (int)d, threshold);
                }
            }
            for (; i < n; i++)
            {
                uint slot = PostingKernels.Slot(Unsafe.Add(ref first, i), windowStart, last);
                float value = TValue.Read(slots[slot], ref score, i);
                slots[slot] = 0f;
                threshold = OfferAtLeast(selector, value, windowStart + (int)slot, threshold);
            }
        }
    }

    /// <summary>How a per-posting pass forms the value it offers.</summary>
    private interface IPostingValue
    {
        /// <summary>The value for posting <paramref name="i"/>, whose slot holds <paramref name="slot"/>.</summary>
        static abstract float Read(float slot, ref float score, nint i);
    }

    /// <summary>The slot alone (<see cref="CollectAndClear"/>); the scores are never read.</summary>
    private readonly struct SlotOnly : IPostingValue
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Read(float slot, ref float score, nint i) => slot;
    }

    /// <summary>The slot plus the posting's score, in that order (<see cref="AddCollectAndClear"/>): the sum an accumulate would have stored.</summary>
    private readonly struct SlotPlusScore : IPostingValue
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static float Read(float slot, ref float score, nint i) => slot + Unsafe.Add(ref score, i);
    }

    /// <summary>
    /// Reads every slot of a window of the catalogue (slot <c>i</c> holds item <c>firstId + i</c>), offers
    /// the positive ones and leaves the window all zero: the SIMD threshold filter for dense windows.
    /// </summary>
    /// <remarks>
    /// Compares a whole vector of slots with the current threshold at once, so only survivors reach the
    /// heap, and clears with full-width stores. It reads every slot, touched or not, so it beats the
    /// per-posting <see cref="CollectAndClear"/> only when a window's postings are a sizeable fraction
    /// of its slots (the engine switches at one posting per 8 slots). Every vector width offers the same
    /// values, so the result does not depend on the path.
    /// </remarks>
    /// <param name="selector">The selector that receives the pairs.</param>
    /// <param name="window">The window's slots; all zero afterwards.</param>
    /// <param name="firstId">The item id of slot 0.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="firstId"/> is negative or the window would pass <see cref="int.MaxValue"/>.</exception>
    public static void CollectWindowAndClear(this TopKSelector selector, Span<float> window, int firstId)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(firstId);
        if ((long)firstId + window.Length > int.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(firstId), firstId, $"A window of {window.Length} slots starting at item {firstId} passes int.MaxValue.");
        }
        CollectWindowAndClearCore(selector, window, firstId, Simd.Best);
    }

    /// <summary>The kernel of <see cref="CollectWindowAndClear"/>; <paramref name="path"/> caps the vector width (tests force each one).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void CollectWindowAndClearCore(this TopKSelector selector, Span<float> window, int firstId, SimdPath path)
    {
        Debug.Assert(selector.K > 0);
        ref float slots = ref MemoryMarshal.GetReference(window);
        nint n = window.Length;
        nint i = CollectWindowLanes<Lanes512, Vector512<float>>(selector, ref slots, n, 0, firstId, path);
        i = CollectWindowLanes<Lanes256, Vector256<float>>(selector, ref slots, n, i, firstId, path);
        i = CollectWindowLanes<Lanes128, Vector128<float>>(selector, ref slots, n, i, firstId, path);
        float threshold = selector.Threshold;
        for (; i < n; i++)
        {
            float value = Unsafe.Add(ref slots, i);
            Unsafe.Add(ref slots, i) = 0f;
            if (value >= threshold)
            {
                selector.Offer(value, firstId + (int)i);
                threshold = selector.Threshold;
            }
        }
    }

    /// <summary>
    /// Slots from <paramref name="i"/> on, in whole vectors of <typeparamref name="W"/>; returns the first slot
    /// left for a narrower width (<paramref name="i"/> itself where <paramref name="path"/> or the hardware rules
    /// the width out).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static nint CollectWindowLanes<W, TVec>(TopKSelector selector, ref float slots, nint n, nint i, int firstId, SimdPath path)
        where W : struct, IVectorWidth<TVec>
        where TVec : struct
    {
        if (path < W.Path || !W.IsHardwareAccelerated)
        {
            return i;
        }
        var zero = W.Splat(0f);
        for (var limit = W.Splat(selector.Threshold); i + W.Count <= n; i += W.Count)
        {
            ulong mask = W.AtLeastBits(W.Load(ref slots, i), limit);
            if (mask != 0)
            {
                limit = W.Splat(OfferLanes(selector, mask, ref Unsafe.Add(ref slots, i), firstId + (int)i));
            }
            W.Store(zero, ref slots, i);
        }
        return i;
    }

    /// <summary>Offers the lanes set in <paramref name="mask"/> (slot <c>lane</c> is item <c>firstId + lane</c>); returns the new threshold.</summary>
    private static float OfferLanes(TopKSelector selector, ulong mask, ref float slots, int firstId)
    {
        do
        {
            int lane = BitOperations.TrailingZeroCount(mask);
            mask &= mask - 1;
            selector.Offer(Unsafe.Add(ref slots, lane), firstId + lane);
        }
        while (mask != 0);
        return selector.Threshold;
    }

    /// <summary>
    /// True if any of four values reaches <paramref name="threshold"/>. With SIMD: one packed compare and a
    /// mask test instead of four scalar compares, each with its unordered (NaN) check. Both forms are false
    /// for NaN, so the result does not depend on the path.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool AnyAtLeast(float v0, float v1, float v2, float v3, float threshold) =>
        Vector128.IsHardwareAccelerated
            ? Vector128.GreaterThanOrEqualAny(Vector128.Create(v0, v1, v2, v3), Vector128.Create(threshold))
            : (v0 >= threshold) | (v1 >= threshold) | (v2 >= threshold) | (v3 >= threshold);

    /// <summary>Offers (value, id) if value reaches <paramref name="threshold"/>; returns the threshold now in force.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float OfferAtLeast(TopKSelector selector, float value, int id, float threshold)
    {
        if (value >= threshold)
        {
            selector.Offer(value, id);
            return selector.Threshold;
        }
        return threshold;
    }

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
}
