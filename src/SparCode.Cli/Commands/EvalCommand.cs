using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using SparCode.IndexBuild;
using SparCode.Data;
using SparCode.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace SparCode.Cli.Commands;

/// <summary>Options of <c>eval</c>.</summary>
internal sealed class EvalSettings : ModelSettings
{
    [CommandOption("--two-tower <DIR>")]
    [Description("Folder of a trained two-tower model to add its exact row.")]
    public string? TwoTower { get; init; }

    [CommandOption("--ceiling-users <N>")]
    [Description("Rank the all-to-all ceiling on at most N test users (0: all; it is the slow row).")]
    [DefaultValue(0)]
    public int CeilingUsers { get; init; }

    [CommandOption("--export")]
    [Description("Export the index first even if it exists.")]
    public bool Export { get; init; }
}

/// <summary>
/// <c>sparcode eval</c>: full-ranking HR/NDCG@10/20/50 on the test split, four rows (plus dense quantized), metrics.json
/// next to the model; a two-tower model given as <c>--model</c> gets its exact row only.
/// </summary>
internal sealed class EvalCommand : GuardedCommand<EvalSettings>
{
    /// <inheritdoc/>
    protected override int Run(EvalSettings settings, CancellationToken cancellationToken)
    {
        var (model, manifest) = TrainedModel.Load(settings.Model!);
        using (model)
        {
            var data = DataSettings.Load(settings.Data ?? manifest.Data, settings.Data is null ? manifest.Format : settings.Format, TrainCommand.Log);
            if (manifest.Options.Model == ModelKind.TwoTower)
            {
                // A two-tower model alone: its exact row (there is no index to serve).
                var row = Evaluator.Exact("two-tower exact (dot product, full scan)", model, data);
                var only = new EvaluationResult(data.Source, row.Users, data.ItemCount, settings.Sparsity, null, [row], 0, 0);
                Pipeline.Print(only);
                string metrics = Path.Combine(settings.Model!, "metrics.json");
                Evaluator.WriteJson(metrics, only);
                AnsiConsole.MarkupLineInterpolated($"metrics written to {metrics}");
                return 0;
            }
            TrainedModel? twoTower = settings.TwoTower is null ? null : TrainedModel.Load(settings.TwoTower).Model;
            using (twoTower)
            {
                var result = Pipeline.Evaluate(model, twoTower, data, settings.Sparsity, settings.IndexPath, settings.Export || !File.Exists(settings.IndexPath), settings.CeilingUsers);
                Pipeline.Print(result);
                // metrics.json next to the model for its default index; <index>.metrics.json for any other index.
                string path = settings.Index is null ? Path.Combine(settings.Model!, "metrics.json") : Path.ChangeExtension(settings.IndexPath, ".metrics.json");
                Evaluator.WriteJson(path, result);
                AnsiConsole.MarkupLineInterpolated($"metrics written to {path}");
            }
        }
        return 0;
    }
}

/// <summary>Everything one evaluation produced.</summary>
internal sealed record EvaluationResult(string Data, int Users, int Items, SparsityOptions Sparsity, ExportReport? Export, IReadOnlyList<EvaluationRow> Rows, int FallbackUsers, int CodeMismatchUsers);

/// <summary>Export-and-evaluate steps shared by <c>eval</c> and <c>demo</c>.</summary>
internal static class Pipeline
{
    public static EvaluationResult Evaluate(TrainedModel sparCode, TrainedModel? twoTower, SequenceDataset data, SparsityOptions sparsity, string indexPath, bool export, int ceilingUsers)
    {
        var log = TrainCommand.Log;
        var table = CodeTable.Build(sparCode, data, sparsity, log);
        ExportReport? report = null;
        if (export)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(indexPath))!);
            report = Exporter.WriteScored(sparCode, data, table, sparsity, indexPath, log);
        }
        else
        {
            log($"eval: serving the existing index {indexPath}; it must have been exported with the same sparsity (density {sparsity.Density}, cap {sparsity.MaxPerCode})");
        }
        var rows = new List<EvaluationRow>();
        log("eval: serving every test user through the engine");
        var (servedRow, served) = Evaluator.Served(indexPath, data);
        rows.Add(servedRow);
        log("eval: exhaustive quantized scoring");
        var (sparse, dense, exhaustive) = Evaluator.Exhaustive(sparCode, data, table);
        int mismatches = 0;
        int tokens = sparCode.Options.UserTokens;
        for (int q = 0; q < served.Users.Length; q++)
        {
            if (!served.Codes.AsSpan(q * tokens, tokens).SequenceEqual(exhaustive.Codes.AsSpan(q * tokens, tokens)))
            {
                mismatches++;
            }
        }
        rows.Add(sparse with { Note = $"online gap vs served HR@50 {servedRow.Hr[2] - sparse.Hr[2]:+0.0000;-0.0000;0}; {mismatches} users whose engine codes differ from the torch codes" });
        rows.Add(dense);
        log("eval: all-to-all ceiling");
        rows.Add(Evaluator.Ceiling(sparCode, data, ceilingUsers));
        if (twoTower is not null)
        {
            log("eval: two-tower exact");
            rows.Add(Evaluator.Exact("two-tower exact (dot product, full scan)", twoTower, data));
        }
        return new EvaluationResult(data.Source, served.Users.Length, data.ItemCount, sparsity, report, rows, served.FallbackUsers, mismatches);
    }

    public static void Print(EvaluationResult result)
    {
        var table = new Table().Title($"Test split, full ranking over {result.Items:N0} items, history excluded, {result.Users:N0} users");
        table.AddColumn("row");
        foreach (var k in RankingMetrics.DefaultCutoffs)
        {
            table.AddColumn(new TableColumn($"HR@{k}").RightAligned());
        }
        foreach (var k in RankingMetrics.DefaultCutoffs)
        {
            table.AddColumn(new TableColumn($"NDCG@{k}").RightAligned());
        }
        table.AddColumn(new TableColumn("s").RightAligned());
        foreach (var row in result.Rows)
        {
            var cells = new List<string> { Markup.Escape(row.Name) };
            cells.AddRange(row.Hr.Select(F));
            cells.AddRange(row.Ndcg.Select(F));
            cells.Add(row.Seconds.ToString("F1", CultureInfo.InvariantCulture));
            table.AddRow(cells.ToArray());
        }
        AnsiConsole.Write(table);
        foreach (var row in result.Rows.Where(r => r.Note.Length > 0))
        {
            AnsiConsole.MarkupLineInterpolated($"  [grey]{row.Name}:[/] {row.Note}");
        }
        if (result.Export is { } e)
        {
            AnsiConsole.MarkupLineInterpolated($"  [grey]index:[/] {e.Bytes:N0} bytes, {e.CodesUsed:N0}/{e.CodeCount:N0} codes used, {e.Postings:N0} postings, density {e.DensityOverUsedCodes:F4} over used codes, list lengths over all codes p0/p50/p90/p99/max {e.Lists.Percentiles}, export {e.Seconds:F1} s");
        }
    }

    private static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);

    /// <summary>Serialization check (keeps System.Text.Json trimming-safe here).</summary>
    internal static string Json(EvaluationResult r) => JsonSerializer.Serialize(r);
}
