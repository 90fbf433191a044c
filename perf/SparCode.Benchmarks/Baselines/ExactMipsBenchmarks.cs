using BenchmarkDotNet.Attributes;
using SparCode.Baselines;
using SparCode.Benchmarks.Infrastructure;

namespace SparCode.Benchmarks.Baselines;

/// <summary>
/// Two-tower exact maximum inner product search (<see cref="ExactMipsSearcher"/>), top-50 over a
/// seeded clustered item matrix of d = 64, under each instruction-set job (Ratio: time relative to
/// Scalar).
/// </summary>
/// <remarks>
/// <see cref="Single"/> streams the whole matrix for one query. <see cref="Blocked"/> scores
/// <see cref="Block"/> queries per pass over L2-sized tiles of the matrix; it reports time per
/// query (<c>OperationsPerInvoke</c>), while a real caller waits for the whole block.
/// <see cref="SingleExcluding"/> skips <see cref="BaselineWorkload.ExcludedPerQuery"/> history rows, as
/// the bench does for trained models.
/// </remarks>
[Config(typeof(IsaConfig))]
public class ExactMipsBenchmarks
{
    /// <summary>Queries per pass of <see cref="Blocked"/>.</summary>
    public const int Block = 8;

    private TwoTowerModel? _model;
    private ExactMipsSearcher? _searcher;
    private int[] _excludedRows = [];
    private int[] _excludedOffsets = [];
    private long[] _ids = [];
    private float[] _scores = [];
    private int _next;

    /// <summary>Catalogue size: uneven, 1.3 MB (fits the L3) and 25.6 MB (DRAM-bound) of floats.</summary>
    [ParamsSource(nameof(ItemCounts))]
    public int ItemCount { get; set; }

    /// <summary>The values of <see cref="ItemCount"/>; the smallest with <c>--quick</c>.</summary>
    public static IEnumerable<int> ItemCounts => RunOptions.Quick ? [5_003] : [5_003, 100_003];

    [GlobalSetup]
    public void Setup()
    {
        _model = BaselineWorkload.Model(ItemCount);
        _searcher = new ExactMipsSearcher(_model.Items, Block);
        (_excludedRows, _excludedOffsets) = BaselineWorkload.Exclusions(_model);
        _ids = new long[Block * BaselineWorkload.K];
        _scores = new float[Block * BaselineWorkload.K];
        // The blocked scan must return what one query at a time returns.
        var single = new long[BaselineWorkload.K];
        var singleScores = new float[BaselineWorkload.K];
        int d = _model.Users.Dimension;
        _searcher.SearchBlock(_model.Users.Vectors.AsSpan(0, Block * d), Block, BaselineWorkload.K, _ids, _scores);
        for (int q = 0; q < Block; q++)
        {
            _searcher.Search(_model.Users.Row(q), BaselineWorkload.K, single, singleScores);
            if (!single.AsSpan().SequenceEqual(_ids.AsSpan(q * BaselineWorkload.K, BaselineWorkload.K)))
            {
                throw new InvalidOperationException($"The blocked scan disagrees with the single-query scan on query {q}.");
            }
        }
        BaselineWorkload.Report(nameof(ExactMipsBenchmarks), _model, $"block {Block}, {BaselineWorkload.ExcludedPerQuery} excluded rows per query in SingleExcluding");
    }

    /// <summary>One query, one pass over the matrix.</summary>
    [Benchmark]
    public int Single()
    {
        int q = Next(1);
        return _searcher!.Search(_model!.Users.Row(q), BaselineWorkload.K, _ids, _scores);
    }

    /// <summary><see cref="Block"/> queries per pass; time is per query.</summary>
    [Benchmark(OperationsPerInvoke = Block)]
    public int Blocked()
    {
        int q = Next(Block);
        int d = _model!.Users.Dimension;
        return _searcher!.SearchBlock(_model.Users.Vectors.AsSpan(q * d, Block * d), Block, BaselineWorkload.K, _ids, _scores);
    }

    /// <summary>One query with its history rows skipped.</summary>
    [Benchmark]
    public int SingleExcluding()
    {
        int q = Next(1);
        var excluded = _excludedRows.AsSpan(_excludedOffsets[q], _excludedOffsets[q + 1] - _excludedOffsets[q]);
        return _searcher!.Search(_model!.Users.Row(q), BaselineWorkload.K, _ids, _scores, excluded);
    }

    /// <summary>The first of the next <paramref name="count"/> queries, cycling through all of them.</summary>
    private int Next(int count)
    {
        int q = _next;
        _next = (_next + count) % BaselineWorkload.QueryCount;
        return q;
    }
}
