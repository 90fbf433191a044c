using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;
using SparCode.Baselines;
using SparCode.Benchmarks.Infrastructure;

namespace SparCode.Benchmarks.Baselines;

/// <summary>
/// Two-tower HNSW search through USearch (<see cref="HnswIndex"/>, M = 16, ef_construction = 128,
/// inner product), top-50 over a seeded clustered matrix of d = 64, at two expansion_search values.
/// </summary>
/// <remarks>
/// USearch's native library picks its own SIMD kernels, so the .NET instruction-set switches would not
/// change what is measured: one job (see <see cref="NativeConfig"/>). The graph is built in the global
/// setup with one thread (the same graph every run); the setup checks recall@50 against the exact scan
/// and prints it. <see cref="SearchExcluding"/> skips <see cref="BaselineWorkload.ExcludedPerQuery"/>
/// history rows through USearch's filtered search (a managed callback per candidate).
/// </remarks>
[Config(typeof(NativeConfig))]
public class HnswBenchmarks
{
    private HnswIndex? _index;
    private TwoTowerModel? _model;
    private int[] _excludedRows = [];
    private int[] _excludedOffsets = [];
    private readonly ulong[] _keys = new ulong[BaselineWorkload.K];
    private readonly long[] _ids = new long[BaselineWorkload.K];
    private readonly float[] _scores = new float[BaselineWorkload.K];
    private int _next;

    /// <summary>Catalogue size (uneven).</summary>
    [ParamsSource(nameof(ItemCounts))]
    public int ItemCount { get; set; }

    /// <summary>The values of <see cref="ItemCount"/>; a smaller graph with <c>--quick</c>.</summary>
    public static IEnumerable<int> ItemCounts => RunOptions.Quick ? [3_001] : [30_011];

    /// <summary>Search beam width (USearch expansion_search; it uses at least k = 50).</summary>
    [ParamsSource(nameof(EfValues))]
    public int Ef { get; set; }

    /// <summary>The values of <see cref="Ef"/>: 64 (fast, lower recall) and 256.</summary>
    public static IEnumerable<int> EfValues => [64, 256];

    [GlobalSetup]
    public void Setup()
    {
        _model = BaselineWorkload.Model(ItemCount);
        _index = HnswIndex.Build(_model.Items, new HnswOptions { Connectivity = 16, ExpansionAdd = 128, BuildThreads = 1 });
        _index.ExpansionSearch = Ef;
        (_excludedRows, _excludedOffsets) = BaselineWorkload.Exclusions(_model);
        var exact = new ExactMipsSearcher(_model.Items, 1);
        var truth = new long[BaselineWorkload.K];
        var truthScores = new float[BaselineWorkload.K];
        long hits = 0;
        for (int q = 0; q < BaselineWorkload.QueryCount; q++)
        {
            exact.Search(_model.Users.Row(q), BaselineWorkload.K, truth, truthScores);
            int found = _index.Search(_model.Users.Row(q), BaselineWorkload.K, _keys, _ids, _scores);
            hits += _ids.AsSpan(0, found).ToArray().Intersect(truth).Count();
        }
        double recall = hits / (double)(BaselineWorkload.K * BaselineWorkload.QueryCount);
        if (recall < 0.5)
        {
            throw new InvalidOperationException($"HNSW recall@{BaselineWorkload.K} is {recall:F3} at ef = {Ef}; the graph or the binding is broken.");
        }
        BaselineWorkload.Report(nameof(HnswBenchmarks), _model, $"ef = {Ef}, build {_index.BuildTime.TotalSeconds:F1} s on 1 thread, recall@{BaselineWorkload.K} {recall:F3}");
    }

    [GlobalCleanup]
    public void Cleanup() => _index?.Dispose();

    /// <summary>One top-50 search.</summary>
    [Benchmark]
    public int Search()
    {
        int q = Next();
        return _index!.Search(_model!.Users.Row(q), BaselineWorkload.K, _keys, _ids, _scores);
    }

    /// <summary>One top-50 search that skips the query's history rows inside the graph search.</summary>
    [Benchmark]
    public int SearchExcluding()
    {
        int q = Next();
        var excluded = _excludedRows.AsSpan(_excludedOffsets[q], _excludedOffsets[q + 1] - _excludedOffsets[q]);
        return _index!.Search(_model!.Users.Row(q), BaselineWorkload.K, _keys, _ids, _scores, excluded);
    }

    private int Next()
    {
        int q = _next;
        _next = (_next + 1) % BaselineWorkload.QueryCount;
        return q;
    }
}

/// <summary>One job with every instruction set on, for native code that ignores the .NET switches; Median, Min and allocations as in <see cref="IsaConfig"/>.</summary>
public sealed class NativeConfig : ManualConfig
{
    /// <summary>The native job.</summary>
    public NativeConfig()
    {
        AddJob(Job.Default.WithId("native"));
        AddColumn(StatisticColumn.Median, StatisticColumn.Min);
        AddDiagnoser(MemoryDiagnoser.Default);
        SummaryStyle = SummaryStyle.Default.WithRatioStyle(RatioStyle.Value);
    }
}
