using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using SparCode.Benchmarks.Infrastructure;
using SparCode.Engine;

namespace SparCode.Benchmarks.Engine;

/// <summary>
/// End to end: <see cref="SparCodeSearcher.Search(ReadOnlySpan{long}, int, Span{long}, Span{float}, SearchOptions?)"/>
/// with k = 50 on a synthetic index of 4096 posting lists (K_c = 64, M = 2) averaging
/// <see cref="PostingsPerList"/> postings, for 256 seeded histories cycled one per invocation.
/// </summary>
/// <remarks>
/// A query is tower → 4 codes → scatter-add of 4 lists (~40k postings) → collect into the top-k heap,
/// one accumulator window at a time (see <see cref="Window"/>).
/// The 1M-item index is ~600 MB and takes a while to build the first time; it is cached across the
/// benchmark processes (see <see cref="SyntheticIndexCache"/>). The Postings/query and ns/posting
/// columns come from <see cref="SearchWorkload.PostingsPerQuery(int, int)"/>. Ratio is time relative to
/// the Scalar job.
/// </remarks>
[Config(typeof(SearchConfig))]
public class SearchBenchmarks
{
    private SparCodeIndex? _index;
    private SparCodeSearcher? _searcher;
    private long[][] _histories = [];
    private long[] _ids = [];
    private float[] _scores = [];
    private int _next;

    /// <summary>Catalogue size (the accumulator has one float per item).</summary>
    [ParamsSource(nameof(ItemCounts))]
    public int ItemCount { get; set; }

    /// <summary>The values of <see cref="ItemCount"/>: 100k (accumulator in L2) and 1M; a tiny index with <c>--quick</c>.</summary>
    public static IEnumerable<int> ItemCounts => RunOptions.Quick ? [10_000] : [100_000, 1_000_000];

    /// <summary>Mean posting-list length (log-normal lengths, σ = 0.8).</summary>
    [ParamsSource(nameof(PostingsPerListValues))]
    public int PostingsPerList { get; set; }

    /// <summary>The values of <see cref="PostingsPerList"/>: 10,000 (~35k postings per query at 1M items) and 11,400 (~40k, the engine brief's workload and <c>sparcode bench</c>'s 1M run).</summary>
    public static IEnumerable<int> PostingsPerListValues => RunOptions.Quick ? [100] : [10_000, 11_400];

    /// <summary>
    /// The searcher's accumulator: <c>64Ki</c> is the engine's default window (2^16 floats, scored one
    /// window of the catalogue at a time); <c>all</c> is one window over the whole catalogue, i.e. a
    /// catalogue-sized accumulator as before windowed accumulation.
    /// </summary>
    [ParamsSource(nameof(Windows))]
    public string Window { get; set; } = "64Ki";

    /// <summary>The values of <see cref="Window"/>; only the default with <c>--quick</c>.</summary>
    public static IEnumerable<string> Windows => RunOptions.Quick ? ["64Ki"] : ["64Ki", "all"];

    [GlobalSetup]
    public void Setup()
    {
        string path = SyntheticIndexCache.GetOrCreate(SearchWorkload.Options(ItemCount, PostingsPerList));
        // Full validation reads every byte, which also maps every page before the first measurement.
        _index = SparCodeIndex.Open(path);
        _searcher = Window switch
        {
            "64Ki" => _index.CreateSearcher(),
            "all" => _index.CreateSearcher(ItemCount),
            _ => throw new InvalidOperationException($"Unknown window '{Window}'."),
        };
        _histories = SearchWorkload.Histories(ItemCount);
        _ids = new long[SearchWorkload.K];
        _scores = new float[SearchWorkload.K];
        foreach (var history in _histories)
        {
            if (_searcher.Search(history, SearchWorkload.K, _ids, _scores) != SearchWorkload.K)
            {
                throw new InvalidOperationException("A search returned fewer than k results.");
            }
        }
        var (accumulated, collected) = SearchWorkload.PostingsPerQuery(_index, _histories);
        TestData.ReportSetup(nameof(SearchBenchmarks),
            $"{ItemCount} items, {_index.Dimensions.CodeCount} lists, window {Window}; mean postings per query: {accumulated:F0} accumulated, {collected:F0} collected");
    }

    [GlobalCleanup]
    public void Cleanup() => _index?.Dispose();

    /// <summary>One top-50 search; the next invocation takes the next history.</summary>
    [Benchmark]
    public int Search()
    {
        var history = _histories[_next];
        _next = (_next + 1) % SearchWorkload.HistoryCount;
        return _searcher!.Search(history, SearchWorkload.K, _ids, _scores);
    }
}

/// <summary>The instruction-set jobs plus the postings columns.</summary>
public sealed class SearchConfig : IsaConfig
{
    /// <summary>Adds Postings/query, ns/posting and the 50th and 95th percentiles (per query when run with <c>--invocationCount 1</c>).</summary>
    public SearchConfig()
    {
        AddColumn(new PostingsColumn(PostingsColumn.Kind.PostingsPerQuery), new PostingsColumn(PostingsColumn.Kind.NanosecondsPerPosting));
        AddColumn(StatisticColumn.P50, StatisticColumn.P95);
    }
}
