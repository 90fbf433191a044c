using BenchmarkDotNet.Attributes;
using SparCode.Benchmarks.Infrastructure;
using SparCode.Kernels.Cpu;

namespace SparCode.Benchmarks.Kernels;

/// <summary>
/// The collect pass of one accumulation window (2^16 items, as in the engine): four posting lists are
/// scatter-added, then their scores are read, cleared and offered to a top-k heap by one of three
/// passes, at a window density like the 1M-item workload's (~2,200 postings per window) and at denser ones.
/// </summary>
/// <remarks>
/// Every invocation refills the window through <see cref="PostingKernels.AccumulateCore(Span{float}, ReadOnlySpan{int}, ReadOnlySpan{float}, int)"/> (a collect
/// empties it), so every row includes that accumulate. <see cref="PerPosting"/> is the baseline: all
/// four lists accumulated, then read and cleared per posting. <see cref="FusedLastList"/> accumulates
/// three and adds, reads and clears the last in one pass (the engine's sparse path).
/// <see cref="WholeWindow"/> is the SIMD threshold pass over every slot (the engine's dense path; its
/// vector width follows the job). The engine switches from the fused to the whole-window pass at one
/// posting per 8 slots.
/// </remarks>
[Config(typeof(IsaMethodBaselineConfig))]
public class TopKBenchmarks
{
    private const int Window = 1 << 16;
    private const int K = 50;

    private int[][] _ids = [];
    private float[][] _scores = [];
    private float[] _window = [];
    private TopKSelector _selector = new(0);

    /// <summary>Postings per list in the window (four lists).</summary>
    [ParamsSource(nameof(ListLengths))]
    public int ListLength { get; set; }

    /// <summary>The values of <see cref="ListLength"/>: ~1M-item workload density (3.4%), then 12% and 31%; the first with <c>--quick</c>.</summary>
    public static IEnumerable<int> ListLengths => RunOptions.Quick ? [551] : [551, 1_999, 5_003];

    [GlobalSetup]
    public void Setup()
    {
        (_ids, _scores) = TestData.PostingLists(Window, [ListLength, ListLength + 13, ListLength - 7, ListLength + 3], seed: 4321);
        _window = new float[Window];
        _selector = new TopKSelector(K);
        // The three passes must keep the same pairs (ties break by id, so the set is deterministic).
        var perPosting = Drain(PerPosting());
        if (!perPosting.SequenceEqual(Drain(FusedLastList())) || !perPosting.SequenceEqual(Drain(WholeWindow())))
        {
            throw new InvalidOperationException("The collect passes keep different results.");
        }
        TestData.ReportSetup(nameof(TopKBenchmarks), $"{_ids.Sum(l => l.Length)} postings in a window of {Window} slots, k = {K}");
    }

    /// <summary>Accumulate four lists, then read and clear them per posting.</summary>
    [Benchmark(Baseline = true)]
    public int PerPosting()
    {
        Accumulate(_ids.Length);
        foreach (var ids in _ids)
        {
            _selector.CollectAndClearCore(_window, ids);
        }
        return _selector.Count;
    }

    /// <summary>Accumulate three lists, add-read-clear the fourth in one pass, then read and clear the three.</summary>
    [Benchmark]
    public int FusedLastList()
    {
        int last = _ids.Length - 1;
        Accumulate(last);
        _selector.AddCollectAndClearCore(_window, _ids[last], _scores[last]);
        for (int l = 0; l < last; l++)
        {
            _selector.CollectAndClearCore(_window, _ids[l]);
        }
        return _selector.Count;
    }

    /// <summary>Accumulate four lists, then one SIMD threshold pass over all 2^16 slots.</summary>
    [Benchmark]
    public int WholeWindow()
    {
        Accumulate(_ids.Length);
        _selector.CollectWindowAndClearCore(_window, 0, Simd.Best);
        return _selector.Count;
    }

    private void Accumulate(int lists)
    {
        _selector.Reset(K);
        for (int l = 0; l < lists; l++)
        {
            PostingKernels.AccumulateCore(_window, _ids[l], _scores[l]);
        }
    }

    private (int, float)[] Drain(int count)
    {
        var ids = new int[count];
        var scores = new float[count];
        _selector.DrainSorted(ids, scores);
        return [.. ids.Zip(scores)];
    }
}
