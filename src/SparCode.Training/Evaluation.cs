using SparCode.Data;
using SparCode.IndexBuild;

namespace SparCode.Training;

/// <summary>Everything one evaluation produced; <c>metrics.json</c> holds it.</summary>
/// <param name="Data">Where the data came from (<see cref="SequenceDataset.Source"/>).</param>
/// <param name="Users">Test users ranked.</param>
/// <param name="Items">Catalogue size ranked over.</param>
/// <param name="Sparsity">The sparsity the index was (or is assumed to have been) exported with.</param>
/// <param name="Export">The export's report when this evaluation exported the index; null otherwise.</param>
/// <param name="Rows">The rows in order: served, exhaustive sparse, exhaustive dense, ceiling, then two-tower exact when given (a two-tower model alone: its exact row only).</param>
/// <param name="FallbackUsers">Served users whose top-50 needed the popularity fill.</param>
/// <param name="CodeMismatchUsers">Users whose engine codes differ from the torch codes.</param>
public sealed record EvaluationReport(string Data, int Users, int Items, SparsityOptions Sparsity, ExportReport? Export, IReadOnlyList<EvaluationRow> Rows, int FallbackUsers, int CodeMismatchUsers);

/// <summary>What <see cref="Evaluation.Run"/> evaluates.</summary>
public sealed record EvaluationOptions
{
    /// <summary>Index file name inside a model folder when <see cref="Index"/> is not given.</summary>
    public const string DefaultIndexFile = "index.sci";

    /// <summary>Folder of the trained model (SparCode, or two-tower for its exact row alone).</summary>
    public required string Model { get; init; }

    /// <summary>Folder of a trained two-tower model whose exact row is added (null: none).</summary>
    public string? TwoTower { get; init; }

    /// <summary>Data source instead of the manifest's (see <see cref="DataSource.Load"/>; null: the manifest's).</summary>
    public string? Data { get; init; }

    /// <summary>Format of <see cref="Data"/>.</summary>
    public InteractionFormat Format { get; init; }

    /// <summary>Sparsity of the export.</summary>
    public SparsityOptions Sparsity { get; init; } = new();

    /// <summary>Index file (null: <see cref="DefaultIndexFile"/> in the model folder).</summary>
    public string? Index { get; init; }

    /// <summary>Export the index even if the file exists (it is always exported when missing).</summary>
    public bool Export { get; init; }

    /// <summary>Rank the all-to-all ceiling on at most this many test users (0: all).</summary>
    public int CeilingUsers { get; init; }

    /// <summary>The index file evaluated.</summary>
    public string IndexPath => Index ?? Path.Combine(Model, DefaultIndexFile);
}

/// <summary>The evaluation pipeline behind <c>sparcode eval</c> and the demo: export, serve, score and rank every row.</summary>
public static class Evaluation
{
    /// <summary>File name of the evaluation report.</summary>
    public const string MetricsFile = "metrics.json";

    /// <summary>
    /// Loads the model and its data (the manifest's, or <see cref="EvaluationOptions.Data"/>), evaluates it and writes
    /// the report: <c>metrics.json</c> in the model folder for its default index, <c>&lt;index&gt;.metrics.json</c> for
    /// any other. A two-tower model gets its exact row alone (there is no index to serve); a SparCode model gets
    /// <see cref="Evaluate"/>'s rows, exporting the index first when it is missing or <see cref="EvaluationOptions.Export"/> is set.
    /// </summary>
    /// <param name="options">What to evaluate.</param>
    /// <param name="log">Receives progress lines.</param>
    /// <returns>The report and the path it was written to.</returns>
    /// <exception cref="FileNotFoundException">A model folder holds no trained model, or the data file is missing.</exception>
    /// <exception cref="InteractionFormatException">The data file is not in the expected format.</exception>
    public static (EvaluationReport Report, string MetricsPath) Run(EvaluationOptions options, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (model, manifest) = TrainedModel.Load(options.Model);
        using (model)
        {
            var data = manifest.LoadData(options.Data, options.Format, log);
            if (manifest.Options.Model == ModelKind.TwoTower)
            {
                var row = Evaluator.Exact(TwoTowerExactRow, model, data);
                var only = new EvaluationReport(data.Source, row.Users, data.ItemCount, options.Sparsity, null, [row], 0, 0);
                string metrics = Path.Combine(options.Model, MetricsFile);
                Evaluator.WriteJson(metrics, only);
                return (only, metrics);
            }
            TrainedModel? twoTower = options.TwoTower is null ? null : TrainedModel.Load(options.TwoTower).Model;
            using (twoTower)
            {
                string indexPath = options.IndexPath;
                var report = Evaluate(model, twoTower, data, options.Sparsity, indexPath, options.Export || !File.Exists(indexPath), options.CeilingUsers, log);
                string path = options.Index is null ? Path.Combine(options.Model, MetricsFile) : Path.ChangeExtension(indexPath, "." + MetricsFile);
                Evaluator.WriteJson(path, report);
                return (report, path);
            }
        }
    }

    /// <summary>
    /// Evaluates a SparCode model on the test split of <paramref name="data"/>: exports the index when
    /// <paramref name="export"/> is set, then ranks the rows of <see cref="EvaluationReport.Rows"/> (served through the
    /// engine, exhaustive quantized with and without thresholds, the all-to-all ceiling, and two-tower exact when given).
    /// </summary>
    /// <param name="sparCode">A trained SparCode model.</param>
    /// <param name="twoTower">A trained two-tower model for its exact row (null: none).</param>
    /// <param name="data">The data the models were trained on.</param>
    /// <param name="sparsity">Sparsity of the export (for an existing index, the one it was exported with).</param>
    /// <param name="indexPath">The index file to write and serve.</param>
    /// <param name="export">Export the index to <paramref name="indexPath"/> first; otherwise serve the existing file.</param>
    /// <param name="ceilingUsers">Rank the ceiling on at most this many test users (0: all).</param>
    /// <param name="log">Receives progress lines.</param>
    /// <exception cref="InvalidOperationException"><paramref name="sparCode"/> is a two-tower model.</exception>
    public static EvaluationReport Evaluate(TrainedModel sparCode, TrainedModel? twoTower, SequenceDataset data, SparsityOptions sparsity,
        string indexPath, bool export, int ceilingUsers, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(sparCode);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(indexPath);
        log ??= _ => { };
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
            rows.Add(Evaluator.Exact(TwoTowerExactRow, twoTower, data));
        }
        return new EvaluationReport(data.Source, served.Users.Length, data.ItemCount, sparsity, report, rows, served.FallbackUsers, mismatches);
    }

    private const string TwoTowerExactRow = "two-tower exact (dot product, full scan)";
}
