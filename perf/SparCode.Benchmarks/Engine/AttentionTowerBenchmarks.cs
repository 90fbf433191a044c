using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using SparCode.Benchmarks.Infrastructure;
using SparCode.Engine;
using SparCode.Format;
using SparCode.Synthetic;

namespace SparCode.Benchmarks.Engine;

/// <summary>
/// <see cref="SparCodeSearcher.Encode"/> (history → K_u codes, one query, one thread) with the causal
/// self-attention tower (format version 2): d = 64, N = 2 blocks, full-length histories of L items, against
/// the mean + MLP tower (64→256→256→256→64) of the same index sizes as the method baseline.
/// </summary>
/// <remarks>
/// Each index (100k items, K_u = 4, D = 64, M = 2, K_c = 64, one posting per list) is written to a temporary
/// file and opened, so Encode runs exactly as a host calls it. 64 seeded histories of exactly L items are
/// cycled. The FLOP columns count the tower's multiply-adds as 2 (see <see cref="AttentionFlops"/>).
/// </remarks>
[Config(typeof(AttentionTowerConfig))]
public class AttentionTowerBenchmarks
{
    private const int HistoryCount = 64;
    private const int ItemCount = 100_000;

    private readonly List<SparCodeIndex> _indexes = [];
    private readonly List<string> _files = [];
    private SparCodeSearcher? _attention;
    private SparCodeSearcher? _mean;
    private long[][] _histories = [];
    private int[] _codes = [];
    private int _next;

    /// <summary>History length L (every history has exactly L items).</summary>
    [ParamsSource(nameof(Lengths))]
    public int HistoryLength { get; set; }

    /// <summary>Attention heads H.</summary>
    [ParamsSource(nameof(HeadCounts))]
    public int Heads { get; set; }

    /// <summary>Feed-forward width F.</summary>
    [ParamsSource(nameof(Widths))]
    public int FeedForward { get; set; }

    /// <summary>The values of <see cref="HistoryLength"/>; only the smallest with <c>--quick</c>.</summary>
    public static IEnumerable<int> Lengths => RunOptions.Quick ? [50] : [50, 200];

    /// <summary>The values of <see cref="Heads"/>.</summary>
    public static IEnumerable<int> HeadCounts => RunOptions.Quick ? [2] : [1, 2];

    /// <summary>The values of <see cref="FeedForward"/>.</summary>
    public static IEnumerable<int> Widths => RunOptions.Quick ? [64] : [64, 256];

    /// <summary>Multiply-adds × 2 of one Encode of a full-length history (the formula in perf/results/2026-12-02-attention-tower).</summary>
    public static long AttentionFlops(long n, long d, long blocks, long f, long tokenOutputs)
    {
        long fullBlock = n * (2 * 3 * d * d + 2 * d * d + 2 * 2 * d * f) + 2 * n * (n + 1) * d;
        long topBlock = 2 * 2 * d * d * n + 2 * d * d + 4 * n * d + 2 * d * d + 2 * 2 * d * f;
        return (blocks - 1) * fullBlock + topBlock + 2 * tokenOutputs * d;
    }

    [GlobalSetup]
    public void Setup()
    {
        var options = new SyntheticOptions { ItemCount = ItemCount, HistoryLength = HistoryLength, MeanPostingsPerList = 1, Seed = 5 };
        _attention = Open(options with { AttentionBlocks = 2, AttentionHeads = Heads, FeedForwardWidth = FeedForward });
        _mean = Open(options);
        var random = new Random(7);
        _histories = [.. Enumerable.Range(0, HistoryCount).Select(_ => Enumerable.Range(0, HistoryLength).Select(_ => (long)random.Next(ItemCount)).ToArray())];
        _codes = new int[options.UserTokens];
        TestData.ReportSetup(nameof(AttentionTowerBenchmarks), $"L={HistoryLength}, H={Heads}, F={FeedForward}, d=64, N=2, n_items={ItemCount}");
    }

    private SparCodeSearcher Open(SyntheticOptions options)
    {
        string path = Path.Combine(Path.GetTempPath(), $"sparcode-attention-bench-{Environment.ProcessId}-{_files.Count}.sci");
        IndexWriter.Write(path, SyntheticIndex.Create(options));
        _files.Add(path);
        var index = SparCodeIndex.Open(path);
        _indexes.Add(index);
        return index.CreateSearcher();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _indexes.ForEach(i => i.Dispose());
        _files.ForEach(File.Delete);
    }

    /// <summary>Encode with the attention tower.</summary>
    [Benchmark]
    public int Attention()
    {
        _attention!.Encode(NextHistory(), _codes);
        return _codes[0];
    }

    /// <summary>Encode with the mean + MLP tower, same history.</summary>
    [Benchmark(Baseline = true)]
    public int MeanTower()
    {
        _mean!.Encode(NextHistory(), _codes);
        return _codes[0];
    }

    private long[] NextHistory()
    {
        var history = _histories[_next];
        _next = (_next + 1) % HistoryCount;
        return history;
    }
}

/// <summary>AVX-512 and AVX2 jobs, the method baseline, P50/P95 and the FLOP columns.</summary>
public sealed class AttentionTowerConfig : IsaConfig
{
    /// <summary>Creates the config.</summary>
    public AttentionTowerConfig()
        : base([IsaLevel.Avx512, IsaLevel.Avx2], baselineJob: null)
    {
        AddColumn(StatisticColumn.P50, StatisticColumn.P95, new FlopsColumn(rate: false), new FlopsColumn(rate: true));
    }
}

/// <summary>MFLOP per Encode of the attention tower, or GFLOP/s at the P50 (the mean tower's rows show its own count).</summary>
public sealed class FlopsColumn(bool rate) : IColumn
{
    /// <inheritdoc/>
    public string Id => $"{nameof(FlopsColumn)}.{rate}";

    /// <inheritdoc/>
    public string ColumnName => rate ? "GFLOP/s (P50)" : "MFLOP/query";

    /// <inheritdoc/>
    public bool AlwaysShow => true;

    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Custom;

    /// <inheritdoc/>
    public int PriorityInCategory => rate ? 1 : 0;

    /// <inheritdoc/>
    public bool IsNumeric => true;

    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc/>
    public string Legend => rate ? "MFLOP/query divided by the P50 time" : "Multiply-adds × 2 of one Encode (tower and heads; layer norms, softmax and codes not counted)";

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (benchmarkCase.Parameters["HistoryLength"] is not int n || benchmarkCase.Parameters["FeedForward"] is not int f)
        {
            return "?";
        }
        const int d = 64, tokenOutputs = 4 * 64;
        // The mean tower: the mean of n rows, then 64→256→256→256→64 and the heads.
        long flops = benchmarkCase.Descriptor.WorkloadMethod.Name == nameof(AttentionTowerBenchmarks.Attention)
            ? AttentionTowerBenchmarks.AttentionFlops(n, d, 2, f, tokenOutputs)
            : (long)n * d + 2L * (64 * 256 + 256 * 256 + 256 * 256 + 256 * 64) + 2L * tokenOutputs * d;
        if (!rate)
        {
            return (flops / 1e6).ToString("F2", style.CultureInfo);
        }
        double? p50 = summary[benchmarkCase]?.ResultStatistics?.Percentiles?.P50;
        return p50 is { } ns && ns > 0 ? (flops / ns).ToString("F1", style.CultureInfo) : "?";
    }

    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
