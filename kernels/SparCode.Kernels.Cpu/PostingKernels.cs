using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace SparCode.Kernels.Cpu;

/// <summary>Scatter-add of one posting list into a catalogue-sized accumulator.</summary>
public static class PostingKernels
{
    /// <summary>
    /// <c>accumulator[ids[i]] += scores[i]</c> for every posting, in order.
    /// </summary>
    /// <remarks>
    /// Each item's sum is formed in the order its lists are applied, so the result is bit-identical on
    /// every SIMD path. .NET 10 exposes no AVX-512 scatter, and an AVX2 gather followed by per-lane
    /// stores measured slower than this unrolled scalar loop (see perf/), so this kernel has one
    /// path: the work is bound by the accumulator's cache misses, not by arithmetic.
    /// </remarks>
    /// <exception cref="ArgumentException">The id and score spans differ in length.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the accumulator.</exception>
    public static void Accumulate(Span<float> accumulator, ReadOnlySpan<int> ids, ReadOnlySpan<float> scores)
    {
        if (ids.Length != scores.Length)
        {
            throw new ArgumentException($"Posting ids ({ids.Length}) and scores ({scores.Length}) differ in length.", nameof(scores));
        }
        foreach (int id in ids)
        {
            if ((uint)id >= (uint)accumulator.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), id, $"Posting id must be in [0, {accumulator.Length}).");
            }
        }
        AccumulateCore(accumulator, ids, scores);
    }

    /// <summary>
    /// The kernel: <c>accumulator[ids[i] − windowStart] += scores[i]</c>. The ids were validated when the
    /// index was opened and the caller passes only the ids inside the window; an id outside it anyway (the
    /// file rewritten under the mapping, which the format forbids) is clamped into the window, so the
    /// results are wrong but no memory outside the accumulator is written (see <see cref="Slot"/>).
    /// </summary>
    internal static void AccumulateCore(Span<float> accumulator, ReadOnlySpan<int> ids, ReadOnlySpan<float> scores, int windowStart = 0) =>
        AccumulateCore(accumulator, ids, scores, windowStart, [], []);

    /// <summary>
    /// <see cref="AccumulateCore(Span{float}, ReadOnlySpan{int}, ReadOnlySpan{float}, int)"/> that also
    /// prefetches <paramref name="prefetchIds"/> and <paramref name="prefetchScores"/> (a later run of the
    /// same list), one cache line of each per 16 postings added, so the next run streams in at the pace
    /// of the work instead of in a burst that stalls the core once the miss buffers are full.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void AccumulateCore(Span<float> accumulator, ReadOnlySpan<int> ids, ReadOnlySpan<float> scores, int windowStart,
        ReadOnlySpan<int> prefetchIds, ReadOnlySpan<float> prefetchScores)
    {
        Debug.Assert(ids.Length == scores.Length && prefetchIds.Length == prefetchScores.Length);
        // Ids outside the window are clamped (PostingKernels.Slot), not asserted: they come from a mapping that a
        // process breaking the immutability rule could rewrite under us.
        Debug.Assert(ids.IsEmpty || !accumulator.IsEmpty);
        ref int id = ref MemoryMarshal.GetReference(ids);
        ref float score = ref MemoryMarshal.GetReference(scores);
        nint n = ids.Length;
        nint i = 0;
        fixed (int* nextId = prefetchIds)
        fixed (float* nextScore = prefetchScores)
        fixed (float* first = accumulator)
        {
            uint last = (uint)accumulator.Length - 1;
            nint prefetched = Sse.IsSupported ? 0 : prefetchIds.Length;
            // Four independent read-modify-writes per step let the core overlap their cache misses.
            for (; i + 16 <= n; i += 16)
            {
                if (prefetched < prefetchIds.Length)
                {
                    Sse.Prefetch0(nextId + prefetched);
                    Sse.Prefetch0(nextScore + prefetched);
                    prefetched += 16;
                }
                for (nint j = i; j < i + 16; j += 4)
                {
                    int a = Unsafe.Add(ref id, j), b = Unsafe.Add(ref id, j + 1);
                    int c = Unsafe.Add(ref id, j + 2), d = Unsafe.Add(ref id, j + 3);
                    first[Slot(a, windowStart, last)] += Unsafe.Add(ref score, j);
                    first[Slot(b, windowStart, last)] += Unsafe.Add(ref score, j + 1);
                    first[Slot(c, windowStart, last)] += Unsafe.Add(ref score, j + 2);
                    first[Slot(d, windowStart, last)] += Unsafe.Add(ref score, j + 3);
                }
            }
            for (; i < n; i++)
            {
                first[Slot(Unsafe.Add(ref id, i), windowStart, last)] += Unsafe.Add(ref score, i);
            }
            // A later run longer than this one: the rest in one go.
            for (; prefetched < prefetchIds.Length; prefetched += 16)
            {
                Sse.Prefetch0(nextId + prefetched);
                Sse.Prefetch0(nextScore + prefetched);
            }
        }
    }

    /// <summary>
    /// The slot of item <paramref name="id"/> in a window starting at <paramref name="windowStart"/> whose
    /// last slot is <paramref name="last"/>, clamped into the window: one subtraction, compare and
    /// conditional move per posting, which keeps every kernel inside its accumulator even if an index file
    /// is rewritten in place under its mapping (issue 13, F10). An id inside the window maps to itself.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static uint Slot(int id, int windowStart, uint last) => Math.Min((uint)(id - windowStart), last);

    /// <summary>
    /// Asks the memory system for every cache line of a run of postings without waiting for it. The
    /// engine calls it about two accumulation windows ahead of its scan of each list, so the list streams
    /// in while the current window is scored (the hardware prefetcher stops at every 4 KiB page, and the
    /// windowed scan visits each list in short runs). No effect when the lists are already cached.
    /// </summary>
    internal static unsafe void Prefetch(ReadOnlySpan<int> ids, ReadOnlySpan<float> scores)
    {
        if (!Sse.IsSupported)
        {
            return;
        }
        fixed (int* id = ids)
        fixed (float* score = scores)
        {
            for (int i = 0; i < ids.Length; i += 16)
            {
                Sse.Prefetch0(id + i);
                Sse.Prefetch0(score + i);
            }
        }
    }
}
