using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using BenchmarkDotNet.Attributes;
using SparCode.Benchmarks.Infrastructure;
using SparCode.Kernels.Cpu;

namespace SparCode.Benchmarks.Kernels;

/// <summary>
/// The scatter-add of one query's posting lists into a catalogue-sized accumulator:
/// <see cref="PostingKernels.AccumulateCore(Span{float}, ReadOnlySpan{int}, ReadOnlySpan{float}, int)"/> (scalar, unrolled by four) against an experimental AVX2
/// gather + add + per-lane store variant, to check the kernel's documented claim that the gather
/// variant is slower.
/// </summary>
/// <remarks>
/// Each invocation accumulates four lists of about 10k ascending ids (~40k postings, uneven lengths so
/// that neither loop ends on a whole block), then resets the touched slots, as a query does. The
/// <see cref="ResetOnly"/> row is that reset alone: subtract it to get the accumulate cost.
/// The Scalar job is left out: the gather variant has no meaning without AVX2.
/// </remarks>
[Config(typeof(VectorIsaMethodBaselineConfig))]
public class PostingAccumulateBenchmarks
{
    private static readonly int[] ListLengths = [10_007, 9_871, 10_250, 9_778];

    private int[][] _ids = [];
    private float[][] _scores = [];
    private float[] _accumulator = [];

    /// <summary>
    /// Accumulator floats: 1M (4 MiB, a catalogue-sized accumulator, larger than a core's L2) and 64Ki
    /// (256 KiB, the searcher's default window, L2-resident; the ~40k ids are then dense).
    /// </summary>
    [ParamsSource(nameof(AccumulatorSizes))]
    public int AccumulatorSize { get; set; }

    /// <summary>The values of <see cref="AccumulatorSize"/>; only the smallest with <c>--quick</c>.</summary>
    public static IEnumerable<int> AccumulatorSizes => RunOptions.Quick ? [65_536] : [65_536, 1_000_000];

    [GlobalSetup]
    public void Setup()
    {
        (_ids, _scores) = TestData.PostingLists(AccumulatorSize, ListLengths, seed: 1234);
        _accumulator = new float[AccumulatorSize];
        // The two kernels must agree bit for bit: lists are applied in the same order and ids are
        // unique within a list, so each slot sees the same additions in the same order.
        foreach (var (ids, scores) in _ids.Zip(_scores))
        {
            PostingKernels.AccumulateCore(_accumulator, ids, scores);
        }
        var expected = (float[])_accumulator.Clone();
        Array.Clear(_accumulator);
        foreach (var (ids, scores) in _ids.Zip(_scores))
        {
            AccumulateGatherAvx2(_accumulator, ids, scores);
        }
        if (!_accumulator.AsSpan().SequenceEqual(expected))
        {
            throw new InvalidOperationException("The AVX2 gather variant disagrees with PostingKernels.AccumulateCore.");
        }
        Array.Clear(_accumulator);
        TestData.ReportSetup(nameof(PostingAccumulateBenchmarks),
            $"Avx2.IsSupported = {Avx2.IsSupported}; {ListLengths.Sum()} postings into {AccumulatorSize} floats");
    }

    /// <summary>The engine's kernel, <see cref="PostingKernels.AccumulateCore(Span{float}, ReadOnlySpan{int}, ReadOnlySpan{float}, int)"/>, plus the reset.</summary>
    [Benchmark(Baseline = true)]
    public int ScalarUnrolled()
    {
        for (int l = 0; l < _ids.Length; l++)
        {
            PostingKernels.AccumulateCore(_accumulator, _ids[l], _scores[l]);
        }
        return Reset();
    }

    /// <summary>The experimental AVX2 gather variant, plus the reset.</summary>
    [Benchmark]
    public int Avx2Gather()
    {
        for (int l = 0; l < _ids.Length; l++)
        {
            AccumulateGatherAvx2(_accumulator, _ids[l], _scores[l]);
        }
        return Reset();
    }

    /// <summary>
    /// The engine's kernel as it was before it clamped each slot into the accumulator (issue 13, F10): the
    /// same loop with a raw, unchecked index. <see cref="ScalarUnrolled"/> over this row is the clamp's cost.
    /// </summary>
    [Benchmark]
    public int ScalarUnclamped()
    {
        for (int l = 0; l < _ids.Length; l++)
        {
            AccumulateUnclamped(_accumulator, _ids[l], _scores[l]);
        }
        return Reset();
    }

    /// <summary>The reset alone (reads and zeroes every touched slot), to subtract from the rows above.</summary>
    [Benchmark]
    public int ResetOnly() => Reset();

    /// <summary>
    /// Reads and zeroes every touched slot, as the engine's collect pass does, and counts the positive
    /// ones. An integer count, not a float sum: a float sum would chain a 4-cycle add through every
    /// posting and measure that latency instead of the memory traffic.
    /// </summary>
    private int Reset()
    {
        var acc = _accumulator;
        int positive = 0;
        foreach (var ids in _ids)
        {
            foreach (int id in ids)
            {
                positive += acc[id] > 0f ? 1 : 0;
                acc[id] = 0f;
            }
        }
        return positive;
    }

    /// <summary>The pre-clamp <see cref="PostingKernels.AccumulateCore(Span{float}, ReadOnlySpan{int}, ReadOnlySpan{float}, int)"/> (window start 0, nothing to prefetch): four unchecked read-modify-writes per step.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void AccumulateUnclamped(Span<float> accumulator, ReadOnlySpan<int> ids, ReadOnlySpan<float> scores)
    {
        Debug.Assert(ids.Length == scores.Length);
        nint n = ids.Length;
        nint i = 0;
        fixed (float* slots = accumulator)
        fixed (int* id = ids)
        fixed (float* score = scores)
        {
            for (; i + 16 <= n; i += 16)
            {
                for (nint j = i; j < i + 16; j += 4)
                {
                    int a = id[j], b = id[j + 1], c = id[j + 2], d = id[j + 3];
                    slots[a] += score[j];
                    slots[b] += score[j + 1];
                    slots[c] += score[j + 2];
                    slots[d] += score[j + 3];
                }
            }
            for (; i < n; i++)
            {
                slots[id[i]] += score[i];
            }
        }
    }

    /// <summary>
    /// Experimental: eight postings at a time, <c>vpgatherdd</c> the eight accumulator slots, add the
    /// eight scores in one instruction, then store the lanes back one by one (x86 has a scatter only
    /// in AVX-512F, and .NET 10 exposes neither an AVX-512 gather nor a scatter).
    /// </summary>
    /// <remarks>
    /// Correct only because ids are strictly ascending within a list: two lanes of one block never
    /// name the same slot, so no lane's store can lose another's addition. Falls back to a scalar
    /// loop without AVX2. Uses a pointer because <see cref="Avx2.GatherVector256(float*, Vector256{int}, byte)"/>
    /// takes one (the reason this project allows unsafe code).
    /// </remarks>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static unsafe void AccumulateGatherAvx2(Span<float> accumulator, ReadOnlySpan<int> ids, ReadOnlySpan<float> scores)
    {
        Debug.Assert(ids.Length == scores.Length);
        int n = ids.Length;
        int i = 0;
        fixed (float* acc = accumulator)
        fixed (int* id = ids)
        fixed (float* score = scores)
        {
            if (Avx2.IsSupported)
            {
                for (; i + 8 <= n; i += 8)
                {
                    var sum = Avx2.GatherVector256(acc, Avx.LoadVector256(id + i), 4) + Avx.LoadVector256(score + i);
                    // Ids are reloaded from L1 rather than extracted from the index vector: a scalar
                    // load is cheaper than a lane extract.
                    var low = sum.GetLower();
                    var high = sum.GetUpper();
                    acc[id[i]] = low.ToScalar();
                    acc[id[i + 1]] = low.GetElement(1);
                    acc[id[i + 2]] = low.GetElement(2);
                    acc[id[i + 3]] = low.GetElement(3);
                    acc[id[i + 4]] = high.ToScalar();
                    acc[id[i + 5]] = high.GetElement(1);
                    acc[id[i + 6]] = high.GetElement(2);
                    acc[id[i + 7]] = high.GetElement(3);
                }
            }
            for (; i < n; i++)
            {
                acc[id[i]] += score[i];
            }
        }
    }
}
