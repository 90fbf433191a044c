using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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
    /// The unchecked kernel: <c>accumulator[ids[i] − windowStart] += scores[i]</c>. The ids were validated
    /// when the index was opened and the caller passes only the ids inside the window.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void AccumulateCore(Span<float> accumulator, ReadOnlySpan<int> ids, ReadOnlySpan<float> scores, int windowStart = 0)
    {
        Debug.Assert(ids.Length == scores.Length);
        Debug.Assert(ids.IsEmpty || (ids[0] >= windowStart && ids[^1] - windowStart < accumulator.Length));
        // Offsets are taken per posting: a byref pointing before the array would be a GC hole.
        ref float acc = ref MemoryMarshal.GetReference(accumulator);
        ref int id = ref MemoryMarshal.GetReference(ids);
        ref float score = ref MemoryMarshal.GetReference(scores);
        nint n = ids.Length;
        nint i = 0;
        // Four independent read-modify-writes per iteration let the core overlap their cache misses.
        for (; i + 4 <= n; i += 4)
        {
            int a = Unsafe.Add(ref id, i) - windowStart, b = Unsafe.Add(ref id, i + 1) - windowStart;
            int c = Unsafe.Add(ref id, i + 2) - windowStart, d = Unsafe.Add(ref id, i + 3) - windowStart;
            Unsafe.Add(ref acc, a) += Unsafe.Add(ref score, i);
            Unsafe.Add(ref acc, b) += Unsafe.Add(ref score, i + 1);
            Unsafe.Add(ref acc, c) += Unsafe.Add(ref score, i + 2);
            Unsafe.Add(ref acc, d) += Unsafe.Add(ref score, i + 3);
        }
        for (; i < n; i++)
        {
            Unsafe.Add(ref acc, Unsafe.Add(ref id, i) - windowStart) += Unsafe.Add(ref score, i);
        }
    }

    /// <summary>
    /// Asks the memory system for every cache line of a run of postings without waiting for it. The
    /// engine calls it about two accumulation windows ahead of its scan of each list, so the list streams
    /// in while the current window is scored (the hardware prefetcher stops at every 4 KiB page, and the
    /// windowed scan visits each list in short runs). No effect when the lists are already cached.
    /// </summary>
    internal static unsafe void Prefetch(ReadOnlySpan<int> ids, ReadOnlySpan<float> scores)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            return;
        }
        fixed (int* id = ids)
        fixed (float* score = scores)
        {
            for (int i = 0; i < ids.Length; i += 16)
            {
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(id + i);
                System.Runtime.Intrinsics.X86.Sse.Prefetch0(score + i);
            }
        }
    }
}
