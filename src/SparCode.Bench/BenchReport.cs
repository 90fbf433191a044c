using System.Globalization;
using System.Text;
using System.Text.Json;

namespace SparCode.Bench;

/// <summary>Writes a run as markdown, JSON and a quality-vs-latency PNG; several runs as a scaling table and plot.</summary>
public static class BenchReport
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true };

    /// <summary>The run as a markdown section: setting, then one table row per system.</summary>
    public static string Markdown(BenchResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"## {result.Items:N0} items, {result.Queries:N0} queries, k = {result.K}");
        text.AppendLine();
        text.AppendLine(CultureInfo.InvariantCulture, $"- Machine: {result.Machine}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Started {result.StartedUtc:yyyy-MM-dd HH:mm} UTC; load average before `{result.LoadBefore}`, after `{result.LoadAfter}` (the cores are shared; compare systems within this run).");
        text.AppendLine(CultureInfo.InvariantCulture, $"- SparCode: {result.SparCodeSource}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Two-tower: {result.TwoTowerSource}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Peak working set of the process: {Bytes(result.PeakWorkingSetBytes)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"- Command: `{result.Command}`");
        text.AppendLine("- Quality is against each model's own exhaustive answer (SparCode: every posting of the query's codes; two-tower: exact scan). " +
            "HR = the exhaustive top-1 is among the results. A blocked scan's latency is its block's time.");
        if (result.SparCodeTowerP50Micros is { } tower)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- SparCode's latency includes its query tower (history → K_u codes: p50 {tower:F1} µs alone, timed after the rounds); the two-tower rows are given precomputed user vectors (their user tower is not timed).");
        }
        if (result.TwoTowerExcludesHistory)
        {
            text.AppendLine("- Every system excludes the query's history items (SparCode in the engine, two-tower exact by skipping those rows in the scan, HNSW through USearch's filtered search), " +
                "as the leave-one-out evaluation does; the two-tower exhaustive answer excludes them too.");
        }
        if (result.Systems.Any(s => s.HeldOutHitRate is not null))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"- HR@{result.K} held-out = the query's held-out (test) item is among the results: the model's quality on the task, not the search's accuracy.");
        }
        text.AppendLine();
        bool heldOut = result.Systems.Any(s => s.HeldOutHitRate is not null);
        text.AppendLine(CultureInfo.InvariantCulture, $"| system | threads |{(heldOut ? $" HR@{result.K} held-out |" : "")} recall@{result.K} | HR@{result.K} (top-1) | p50 µs | p99 µs | QPS | postings/query | index size | memory | build s | build covers |");
        text.AppendLine(heldOut ? "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|" : "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var s in result.Systems)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"| {s.Name} | {s.Threads} |{(heldOut ? $" {s.HeldOutHitRate:F4} |" : "")} {s.RecallAtK:F4} | {s.HitRateAtK:F4} | {s.P50Micros:F0} | {s.P99Micros:F0} | {s.Qps:F0} | {(s.MeanPostings is { } p ? p.ToString("N0", CultureInfo.InvariantCulture) : "")} | {Bytes(s.IndexBytes)} | {Bytes(s.MemoryBytes)} | {s.BuildSeconds:F1} | {s.BuildNote} |");
        }
        return text.ToString();
    }

    /// <summary>Serializes runs as indented JSON.</summary>
    public static string Json(IReadOnlyList<BenchResult> results) => JsonSerializer.Serialize(results, JsonOptions);

    /// <summary>Reads runs written by <see cref="Json"/>.</summary>
    /// <exception cref="JsonException">The text is not such a list.</exception>
    public static IReadOnlyList<BenchResult> ReadJson(string json) =>
        JsonSerializer.Deserialize<List<BenchResult>>(json, JsonOptions) ?? throw new JsonException("The JSON holds no benchmark runs.");

    /// <summary>
    /// Quality against p50 latency (log scale) for every system of one run: recall@k against the model's own
    /// exhaustive answer, or with <paramref name="heldOut"/> the held-out HR@k (the run must have held-out items).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="heldOut"/> is set but the run has no held-out hit rates.</exception>
    public static void QualityPlot(BenchResult result, string path, bool heldOut = false, int width = 1000, int height = 640)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (heldOut && result.Systems.Any(s => s.HeldOutHitRate is null))
        {
            throw new ArgumentException("The run has no held-out hit rates to plot.", nameof(heldOut));
        }
        double Quality(SystemResult s) => heldOut ? s.HeldOutHitRate!.Value : s.RecallAtK;
        var plot = new ScottPlot.Plot();
        double maxX = result.Systems.Max(s => Math.Log10(s.P50Micros));
        void Series(IEnumerable<SystemResult> systems, string legend, bool label)
        {
            var points = systems.ToList();
            if (points.Count == 0)
            {
                return;
            }
            var scatter = plot.Add.Scatter(points.Select(s => Math.Log10(s.P50Micros)).ToArray(), points.Select(Quality).ToArray());
            scatter.LegendText = legend;
            scatter.MarkerSize = 9;
            scatter.LineWidth = points.Count > 1 && points.All(p => p.Ef is not null) ? 1.5f : 0;
            for (int i = 0; i < points.Count; i++)
            {
                var s = points[i];
                var text = plot.Add.Text(label ? $"ef={s.Ef}" : Short(s), Math.Log10(s.P50Micros), Quality(s));
                text.LabelFontSize = 11;
                // The slowest point's label goes to its left so that it stays inside the plot.
                bool rightmost = Math.Log10(s.P50Micros) >= maxX - 1e-9;
                text.LabelAlignment = rightmost ? ScottPlot.Alignment.UpperRight : ScottPlot.Alignment.UpperLeft;
                text.LabelOffsetX = rightmost ? -6 : 6;
                // Points of one series often share a recall (exact systems all sit at 1.0): alternate above and below.
                text.LabelOffsetY = label ? 4 : (i % 2 == 0 ? -18 : 6);
            }
        }
        Series(result.Systems.Where(s => s.Model == "SparCode"), heldOut ? "SparCode CPU" : "SparCode CPU (vs its own exhaustive)", false);
        Series(result.Systems.Where(s => s.Model != "SparCode" && s.Ef is null), "Two-tower exact", false);
        Series(result.Systems.Where(s => s.Ef is not null), "Two-tower HNSW (USearch)", true);
        plot.Axes.Margins(0.15, 0.08);
        plot.Title($"Quality vs latency, {result.Items:N0} items, k = {result.K} (load {result.LoadBefore.Split(' ')[0]})");
        plot.XLabel("p50 latency per query, log10(µs)");
        plot.YLabel(heldOut ? $"HR@{result.K} of the held-out item" : $"recall@{result.K} vs own model's exhaustive top-{result.K}");
        plot.ShowLegend(ScottPlot.Alignment.LowerRight);
        plot.SavePng(path, width, height);
    }

    private static string Short(SystemResult s) => s.Model == "SparCode"
        ? (s.Threads == 1 ? "SparCode 1 thread" : $"SparCode {s.Threads} threads")
        : s.Name.Replace("Two-tower ", "", StringComparison.Ordinal).Replace(" queries/pass", "/pass", StringComparison.Ordinal);

    /// <summary>Several runs of different catalogue sizes as one markdown table per system.</summary>
    public static string ScalingMarkdown(IReadOnlyList<BenchResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var text = new StringBuilder();
        text.AppendLine("## Scaling with catalogue size");
        text.AppendLine();
        text.AppendLine("| items | system | recall@k | p50 µs | p99 µs | QPS | postings/query | index size | memory | build s | process peak | load before |");
        text.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
        foreach (var name in results.SelectMany(r => r.Systems.Select(s => s.Name)).Distinct())
        {
            foreach (var run in results.OrderBy(r => r.Items))
            {
                if (run.Systems.FirstOrDefault(s => s.Name == name) is { } s)
                {
                    text.AppendLine(CultureInfo.InvariantCulture,
                        $"| {run.Items:N0} | {s.Name} | {s.RecallAtK:F4} | {s.P50Micros:F0} | {s.P99Micros:F0} | {s.Qps:F0} | {(s.MeanPostings is { } p ? p.ToString("N0", CultureInfo.InvariantCulture) : "")} | {Bytes(s.IndexBytes)} | {Bytes(s.MemoryBytes)} | {s.BuildSeconds:F1} | {Bytes(run.PeakWorkingSetBytes)} | `{run.LoadBefore.Split(' ')[0]}` |");
                }
            }
        }
        return text.ToString();
    }

    /// <summary>p50 latency against catalogue size (both log10), one line per system.</summary>
    public static void ScalingPlot(IReadOnlyList<BenchResult> results, string path, int width = 1000, int height = 640)
    {
        ArgumentNullException.ThrowIfNull(results);
        var plot = new ScottPlot.Plot();
        foreach (var name in results.SelectMany(r => r.Systems.Select(s => s.Name)).Distinct())
        {
            var points = results.OrderBy(r => r.Items).SelectMany(r => r.Systems.Where(s => s.Name == name).Select(s => (r.Items, s.P50Micros))).ToList();
            if (points.Count < 2)
            {
                continue;
            }
            var line = plot.Add.Scatter(points.Select(p => Math.Log10(p.Items)).ToArray(), points.Select(p => Math.Log10(p.P50Micros)).ToArray());
            line.LegendText = name;
            line.MarkerSize = 7;
        }
        plot.Title("p50 latency vs catalogue size");
        plot.XLabel("log10(items)");
        plot.YLabel("log10(p50 µs)");
        plot.ShowLegend(ScottPlot.Alignment.UpperLeft);
        plot.SavePng(path, width, height);
    }

    /// <summary>A byte count in binary units, invariant culture: 512 B, 3.2 KiB, 127.4 MiB (also used by the CLI).</summary>
    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        int unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        return unit == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{bytes:N0} B")
            : string.Create(CultureInfo.InvariantCulture, $"{value:N1} {units[unit]}");
    }
}
