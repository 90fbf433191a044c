using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using SparCode.Cli.Rendering;
using SparCode.Engine;
using SparCode.Format;
using SparCode.Synthetic;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Rendering;

namespace SparCode.Cli.Commands;

/// <summary>
/// <c>sparcode serve-demo</c>: the engine's end-to-end tour. Synthesizes an index, writes it, opens and verifies it,
/// prints its summary, runs example queries, then times single-threaded search and batched search.
/// </summary>
internal sealed class ServeDemoCommand : GuardedCommand<ServeDemoCommand.Settings>
{
    private const int K = 10;
    private const int ExampleQueries = 3;
    private const int HistorySeed = 2023;
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(0.5);

    /// <summary>Options of <c>serve-demo</c>.</summary>
    internal sealed class Settings : CommandSettings
    {
        /// <summary>Catalogue size.</summary>
        [CommandOption("--items <N>")]
        [Description("Catalogue size n_items.")]
        [DefaultValue(200_000)]
        public int Items { get; init; }

        /// <summary>Mean posting-list length.</summary>
        [CommandOption("--postings-per-list <N>")]
        [Description("Mean posting-list length.")]
        [DefaultValue(2_500)]
        public int PostingsPerList { get; init; }

        /// <summary>Timed queries.</summary>
        [CommandOption("--queries <N>")]
        [Description("Queries to time (single-threaded, then as one batch on all cores).")]
        [DefaultValue(2_000)]
        public int Queries { get; init; }

        /// <summary>Output folder.</summary>
        [CommandOption("--out <DIR>")]
        [Description("Folder for the index file (index.sci).")]
        [DefaultValue("out/demo")]
        public string Out { get; init; } = "out/demo";

        /// <summary>The generator options for these settings.</summary>
        public SyntheticOptions ToOptions() => new() { ItemCount = Items, MeanPostingsPerList = PostingsPerList };

        /// <inheritdoc/>
        public override ValidationResult Validate()
        {
            if (Items < K)
            {
                return ValidationResult.Error($"--items is {Items}; the demo needs at least {K} to show a top-{K}.");
            }
            if (Queries < 1)
            {
                return ValidationResult.Error($"--queries is {Queries}; expected at least 1.");
            }
            if (string.IsNullOrWhiteSpace(Out))
            {
                return ValidationResult.Error("--out needs a folder.");
            }
            return SynthesisOptions.Check(ToOptions());
        }
    }

    /// <inheritdoc/>
    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        var options = settings.ToOptions();
        string path = Path.Combine(settings.Out, "index.sci");
        var total = Stopwatch.StartNew();

        Step(1, "Synthesize and write", $"{Units.Count(options.ItemCount)} items, {Units.Count(options.Dimensions().CodeCount)} codes, ~{Units.Count(options.MeanPostingsPerList)} postings per list, seed {options.Seed}");
        var made = Synthesis.CreateAndWrite(options, path);
        AnsiConsole.MarkupLineInterpolated($"Wrote [bold]{path}[/]: {Units.Bytes(made.FileLength)}, {Units.Count(made.Postings)} postings (generate {Units.Duration(made.Generate)}, write {Units.Duration(made.Write)})");
        // The generated arrays are garbage now; collect them before timing anything.
        GC.Collect();

        Step(2, "Open and verify", "size → magic → caps → version → checksum → structure");
        var clock = Stopwatch.StartNew();
        using var index = SparCodeIndex.Open(path);
        var openTime = clock.Elapsed;
        clock.Restart();
        index.Verify();
        var verifyTime = clock.Elapsed;
        AnsiConsole.MarkupLineInterpolated($"[green]OK[/]: SparCodeIndex.Open (full validation) {Units.Duration(openTime)}, Verify() {Units.Duration(verifyTime)}");

        Step(3, "Index summary", "what `sparcode inspect` prints, without sections and metadata");
        using (var file = IndexFile.Open(path, IndexValidation.SkipChecksum))
        {
            InspectCommand.Print(file, openTime, full: false);
        }

        Step(4, "Example queries", $"top-{K} for {ExampleQueries} synthetic histories; 0-score rows are fill from the popularity order");
        var searcher = index.CreateSearcher();
        var examples = SyntheticIndex.Histories(options.ItemCount, ExampleQueries, options.HistoryLength, HistorySeed);
        var panels = new List<IRenderable>();
        for (int q = 0; q < examples.Length; q++)
        {
            panels.Add(ExampleTable(index, searcher, q + 1, examples[q]));
        }
        AnsiConsole.WriteLine();
        AnsiConsole.Write(new Columns(panels) { Expand = false });

        Step(5, "Throughput", $"{Units.Count(settings.Queries)} synthetic histories of 1..{options.HistoryLength} items, k = {K}");
        var histories = SyntheticIndex.Histories(options.ItemCount, settings.Queries, options.HistoryLength, HistorySeed + 1);
        var timing = Measure(index, searcher, histories, cancellationToken);
        AnsiConsole.Write(TimingTable(timing, settings.Queries));
        if (timing.Mismatches > 0)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]warning:[/] SearchBatch disagreed with single-threaded Search on {timing.Mismatches} of {settings.Queries} queries.");
        }
        AnsiConsole.MarkupLineInterpolated($"[green]Demo finished[/] in {Units.Duration(total.Elapsed)}. Try: [bold]sparcode inspect {path}[/], [bold]sparcode query {path} --history 1,2,3[/]");
        return 0;
    }

    private static void Step(int number, string title, string detail)
    {
        AnsiConsole.WriteLine();
        AnsiConsole.Write(new Rule($"[bold]{number}/5 {Markup.Escape(title)}[/] [grey]{Markup.Escape(detail)}[/]").LeftJustified());
    }

    private static Table ExampleTable(SparCodeIndex index, SparCodeSearcher searcher, int number, long[] history)
    {
        var ids = new long[K];
        var scores = new float[K];
        int count = searcher.Search(history, K, ids, scores);
        var codes = searcher.LastCodes.ToArray();
        AnsiConsole.MarkupLineInterpolated($"[bold]query {number}[/]: history {Units.List<long>(history, 6)} → codes {Units.List<int>(codes)}");
        var table = new Table()
            .Title($"query {number}")
            .AddColumn(new TableColumn("#").RightAligned()).AddColumn(new TableColumn("item").RightAligned()).AddColumn(new TableColumn("score").RightAligned());
        for (int i = 0; i < count; i++)
        {
            table.AddRow(new Text(Units.Count(i + 1)), new Text(ids[i].ToString(CultureInfo.InvariantCulture)),
                scores[i] > 0 ? new Text(Units.Number(scores[i], 3)) : new Markup("[grey]0[/]"));
        }
        return table;
    }

    /// <summary>What <see cref="Measure"/> found.</summary>
    private sealed record Timing(double P50Micros, double P99Micros, double MeanMicros, double MeanPostings, double NanosPerPosting,
        double BatchQps, int Threads, int BatchRuns, int Mismatches);

    private static Timing Measure(SparCodeIndex index, SparCodeSearcher searcher, long[][] histories, CancellationToken cancellationToken)
    {
        int n = histories.Length;
        var ids = new long[n * K];
        var scores = new float[n * K];
        long postings = 0;
        for (int q = 0; q < n; q++)
        {
            searcher.Search(histories[q], K, ids.AsSpan(q * K, K), scores.AsSpan(q * K, K));
            postings += searcher.LastPostingsTouched;
        }

        var counts = new int[n];
        // Warm-up on the same workload for a fixed time, not a fixed count: the JIT promotes hot methods from
        // tier 0 to optimized code only after ~30 calls plus a quiet period, so a short run would time tier-0 code.
        var warmUp = Stopwatch.StartNew();
        for (int q = 0; warmUp.Elapsed < WarmUp; q = q + 1 == n ? 0 : q + 1)
        {
            searcher.Search(histories[q], K, ids.AsSpan(q * K, K), scores.AsSpan(q * K, K));
        }
        var latencies = new double[n];
        long sum = 0;
        for (int q = 0; q < n; q++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            long start = Stopwatch.GetTimestamp();
            counts[q] = searcher.Search(histories[q], K, ids.AsSpan(q * K, K), scores.AsSpan(q * K, K));
            long elapsed = Stopwatch.GetTimestamp() - start;
            sum += elapsed;
            latencies[q] = Units.Microseconds(elapsed);
        }
        Array.Sort(latencies);

        var flat = histories.SelectMany(h => h).ToArray();
        var offsets = new int[n + 1];
        for (int q = 0; q < n; q++)
        {
            offsets[q + 1] = offsets[q] + histories[q].Length;
        }
        var batchIds = new long[n * K];
        var batchScores = new float[n * K];
        var batchCounts = new int[n];
        warmUp.Restart();
        do
        {
            index.SearchBatch(flat, offsets, K, batchIds, batchScores, batchCounts);
        }
        while (warmUp.Elapsed < WarmUp);
        // Repeat the batch for at least half a second so that QPS is not one short, noisy sample.
        int runs = 0;
        var clock = Stopwatch.StartNew();
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            index.SearchBatch(flat, offsets, K, batchIds, batchScores, batchCounts);
            runs++;
        }
        while (clock.Elapsed < TimeSpan.FromSeconds(0.5) && runs < 1000);
        double qps = runs * (double)n / clock.Elapsed.TotalSeconds;

        int mismatches = 0;
        for (int q = 0; q < n; q++)
        {
            var row = new Range(q * K, q * K + counts[q]);
            if (batchCounts[q] != counts[q] || !ids.AsSpan(row).SequenceEqual(batchIds.AsSpan(row)) || !scores.AsSpan(row).SequenceEqual(batchScores.AsSpan(row)))
            {
                mismatches++;
            }
        }

        return new Timing(Percentile(latencies, 50), Percentile(latencies, 99), latencies.Average(), (double)postings / n,
            Units.Microseconds(sum) * 1000 / Math.Max(postings, 1), qps, Environment.ProcessorCount, runs, mismatches);
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];

    private static Table TimingTable(Timing t, int queries)
    {
        var table = new Table().Title("[bold]Search timing (measured on this machine)[/]")
            .AddColumn("measure").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("single-threaded latency p50", $"{Units.Number(t.P50Micros)} µs");
        table.AddRow("single-threaded latency p99", $"{Units.Number(t.P99Micros)} µs");
        table.AddRow("single-threaded latency mean", $"{Units.Number(t.MeanMicros)} µs");
        table.AddRow("postings touched per query (mean)", Units.Count((long)Math.Round(t.MeanPostings)));
        table.AddRow("ns per posting (query time ÷ postings)", Units.Number(t.NanosPerPosting, 2));
        table.AddRow($"SearchBatch on {t.Threads} cores", $"{Units.Count((long)Math.Round(t.BatchQps))} queries/s");
        table.AddRow("SearchBatch runs timed", $"{t.BatchRuns} × {Units.Count(queries)} queries");
        table.AddRow("batch results = single-threaded", t.Mismatches == 0 ? "[green]yes[/]" : $"[red]no ({t.Mismatches} differ)[/]");
        return table;
    }
}
