using BenchmarkDotNet.Attributes;
using SparCode.Benchmarks.Infrastructure;
using SparCode.Kernels.Cpu;

namespace SparCode.Benchmarks.Kernels;

/// <summary>
/// The collect pass of a query: <see cref="TopKSelector.CollectAndClearCore"/> reads, clears and offers
/// ~40k accumulated scores to a top-k heap, with the scalar path against the AVX2 gather + threshold
/// filter path, both chosen in-process through the <see cref="SimdPath"/> argument.
/// </summary>
/// <remarks>
/// Every invocation first refills the accumulator with the same four lists through
/// <see cref="PostingKernels.AccumulateCore"/> (the collect pass empties it), so every row includes
/// that accumulate. <see cref="ClearOnly"/> is accumulate plus a plain read-and-zero with no heap: the
/// floor the two collect paths can approach. Under the AVX2 job the Vector256 path is the same code as
/// under AVX-512 (.NET 10 has no 512-bit gather); under the Scalar job it falls back to scalar.
/// </remarks>
[Config(typeof(IsaMethodBaselineConfig))]
public class TopKBenchmarks
{
    private const int AccumulatorSize = 1_000_000;
    private static readonly int[] ListLengths = [10_007, 9_871, 10_250, 9_778];

    private int[][] _ids = [];
    private float[][] _scores = [];
    private float[] _accumulator = [];
    private TopKSelector _selector = new(0);

    /// <summary>Results kept.</summary>
    [ParamsSource(nameof(KValues))]
    public int K { get; set; }

    /// <summary>The values of <see cref="K"/>; only the smallest with <c>--quick</c>.</summary>
    public static IEnumerable<int> KValues => RunOptions.Quick ? [50] : [50, 500];

    [GlobalSetup]
    public void Setup()
    {
        (_ids, _scores) = TestData.PostingLists(AccumulatorSize, ListLengths, seed: 4321);
        _accumulator = new float[AccumulatorSize];
        _selector = new TopKSelector(K);
        // Both paths must keep the same pairs (ties break by id, so the set is deterministic).
        var scalar = Collect(SimdPath.Scalar);
        var vector = Collect(SimdPath.Vector256);
        if (!scalar.SequenceEqual(vector))
        {
            throw new InvalidOperationException("The Vector256 collect path keeps different results from the scalar path.");
        }
        TestData.ReportSetup(nameof(TopKBenchmarks), $"{ListLengths.Sum()} postings into {AccumulatorSize} floats, k = {K}");
    }

    /// <summary>
    /// Accumulate, then read and zero every touched slot and count the positive ones, without a heap
    /// (an integer count: a float sum would chain a 4-cycle add through every posting).
    /// </summary>
    [Benchmark]
    public int ClearOnly()
    {
        Accumulate();
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

    /// <summary>Accumulate, then the scalar collect path.</summary>
    [Benchmark(Baseline = true)]
    public int CollectScalar() => CollectCount(SimdPath.Scalar);

    /// <summary>Accumulate, then the AVX2 gather + threshold filter collect path.</summary>
    [Benchmark]
    public int CollectVector256() => CollectCount(SimdPath.Vector256);

    private int CollectCount(SimdPath path)
    {
        Accumulate();
        _selector.Reset(K);
        for (int l = 0; l < _ids.Length; l++)
        {
            _selector.CollectAndClearCore(_accumulator, _ids[l], path);
        }
        return _selector.Count;
    }

    private void Accumulate()
    {
        for (int l = 0; l < _ids.Length; l++)
        {
            PostingKernels.AccumulateCore(_accumulator, _ids[l], _scores[l]);
        }
    }

    private (int, float)[] Collect(SimdPath path)
    {
        int count = CollectCount(path);
        var ids = new int[count];
        var scores = new float[count];
        _selector.DrainSorted(ids, scores);
        return [.. ids.Zip(scores)];
    }
}
