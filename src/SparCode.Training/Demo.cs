using System.Diagnostics;
using SparCode.Data;
using SparCode.IndexBuild;
using SparCode.Engine;

namespace SparCode.Training;

/// <summary>What <see cref="Demo.Run"/> runs on.</summary>
public sealed record DemoOptions
{
    /// <summary>Folder for the models (<c>two-tower/</c>, <c>sparcode/</c>), the index and the metrics.</summary>
    public string Out { get; init; } = "out/demo-train";

    /// <summary>Maximum epochs per model.</summary>
    public int Epochs { get; init; } = 20;

    /// <summary>Synthetic users (at least 100).</summary>
    public int Users { get; init; } = DataSource.DefaultSyntheticUsers;

    /// <summary>Synthetic catalogue size.</summary>
    public int Items { get; init; } = DataSource.DefaultSyntheticItems;

    /// <summary>Export density ρ, in (0, 1].</summary>
    public double Density { get; init; } = 0.2;

    /// <summary>Torch threads (0: all cores).</summary>
    public int Threads { get; init; } = 1;

    /// <summary>The first invalid option, described; null when all are valid.</summary>
    public string? Problem() =>
        Epochs < 1 || Users < 100 || Density is <= 0 or > 1 || Threads < 0 ? "--epochs ≥ 1, --users ≥ 100, --density in (0, 1], --threads ≥ 0."
        : string.IsNullOrWhiteSpace(Out) ? "--out needs a folder."
        : null;
}

/// <summary>The steps of <see cref="Demo.Run"/>, reported as each starts.</summary>
public enum DemoStage
{
    /// <summary>Generating the synthetic data.</summary>
    Data,

    /// <summary>Training the two-tower baseline.</summary>
    TrainTwoTower,

    /// <summary>Training SparCode.</summary>
    TrainSparCode,

    /// <summary>Exporting the index and evaluating every row.</summary>
    ExportAndEvaluate,
}

/// <summary>One test user served through the engine from the demo's index.</summary>
/// <param name="User">External user id.</param>
/// <param name="History">The history served (every item before the held-out one, oldest first), external ids.</param>
/// <param name="Codes">The K_u codes the history maps to.</param>
/// <param name="PostingsTouched">Postings the search read.</param>
/// <param name="Microseconds">Wall time of the one search (cold: includes first-call costs).</param>
/// <param name="Top">The top-10 item ids.</param>
/// <param name="HeldOut">The user's held-out next item.</param>
public sealed record DemoQuery(long User, long[] History, int[] Codes, long PostingsTouched, double Microseconds, long[] Top, long HeldOut);

/// <summary>What <see cref="Demo.Run"/> produced.</summary>
/// <param name="Evaluation">The evaluation rows (served, exhaustive, ceiling, two-tower exact last).</param>
/// <param name="TwoTowerEpochs">The two-tower model's epochs.</param>
/// <param name="SparCodeEpochs">The SparCode model's epochs.</param>
/// <param name="IndexPath">The exported index.</param>
/// <param name="MetricsPath">The <c>metrics.json</c> written.</param>
/// <param name="Queries">A few test users served from the index.</param>
/// <param name="Seconds">Wall time of the whole run.</param>
public sealed record DemoReport(EvaluationReport Evaluation, IReadOnlyList<EpochRecord> TwoTowerEpochs, IReadOnlyList<EpochRecord> SparCodeEpochs,
    string IndexPath, string MetricsPath, IReadOnlyList<DemoQuery> Queries, double Seconds);

/// <summary>
/// The method end to end on the embedded cross-feature synthetic data (<c>sparcode demo</c>): trains the two-tower
/// baseline and SparCode, exports the index, evaluates every row, writes <c>metrics.json</c> and serves a few test
/// users through the engine.
/// </summary>
public static class Demo
{
    /// <summary>Test users served at the end.</summary>
    public const int ServedUsers = 3;

    /// <summary>Users on which the all-to-all ceiling is ranked.</summary>
    private const int CeilingUsers = 1000;

    /// <summary>Results per served user.</summary>
    private const int K = 10;

    /// <summary>
    /// Demo model sizes: small enough for a few minutes on 2 cores; the same tower and embedding for both models. Each
    /// demo user's training items fit in one window, so 32 windows per batch (about 250 predictions) keep the step count
    /// per epoch of the earlier one-example-per-prefix batches of 256.
    /// </summary>
    /// <param name="kind">The model to train.</param>
    /// <param name="epochs">Maximum epochs.</param>
    /// <param name="threads">Torch threads.</param>
    public static TrainOptions ModelOptions(ModelKind kind, int epochs, int threads) => new()
    {
        Model = kind, EmbeddingDim = 32, TokenDim = 32, TowerWidth = 128, MlpWidth = 64, CodebookSize = 256, ItemTokens = 2,
        Negatives = 32, LearningRate = 3e-3, Epochs = epochs, Patience = 3, Threads = threads, ValidationUsers = 2000, BatchSize = 32,
        QuantizerWarmupEpochs = 2, DotPath = true,
    };

    /// <summary>
    /// Runs the demo: generates <see cref="DataSource.SyntheticOptions"/>, trains both models into
    /// <see cref="DemoOptions.Out"/> (their manifests name the data as <see cref="DataSource.SyntheticSpec"/>, so
    /// <c>eval</c> and <c>export</c> reload it), exports <c>sparcode/index.sci</c>, evaluates, writes
    /// <c>sparcode/metrics.json</c> and serves <see cref="ServedUsers"/> test users.
    /// </summary>
    /// <param name="options">Sizes, epochs, density, threads and the output folder.</param>
    /// <param name="log">Receives progress lines.</param>
    /// <param name="stage">Called as each step starts.</param>
    /// <param name="cancellationToken">Stops training between batches.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static DemoReport Run(DemoOptions options, Action<string>? log = null, Action<DemoStage>? stage = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Problem() is { } problem)
        {
            throw new ArgumentException($"Invalid demo options: {problem}", nameof(options));
        }
        log ??= _ => { };
        stage ??= _ => { };
        var total = Stopwatch.StartNew();
        var data = CrossFeatureGenerator.Generate(DataSource.SyntheticOptions(options.Users, options.Items));
        string spec = DataSource.SyntheticSpec(options.Users, options.Items);
        stage(DemoStage.Data);
        log($"{data.Source}");
        log($"{data.UserCount:N0} users, {data.ItemCount:N0} items, {data.InteractionCount:N0} interactions; leave-one-out split (train all but the last two, validate on the second-to-last, test on the last)");

        stage(DemoStage.TrainTwoTower);
        var (twoTower, twoTowerEpochs, _) = Trainer.Train(data, ModelOptions(ModelKind.TwoTower, options.Epochs, options.Threads), Path.Combine(options.Out, "two-tower"), log, spec, cancellationToken: cancellationToken);
        using (twoTower)
        {
            stage(DemoStage.TrainSparCode);
            var (sparCode, sparCodeEpochs, _) = Trainer.Train(data, ModelOptions(ModelKind.SparCode, options.Epochs, options.Threads), Path.Combine(options.Out, "sparcode"), log, spec, cancellationToken: cancellationToken);
            using (sparCode)
            {
                stage(DemoStage.ExportAndEvaluate);
                string indexPath = Path.Combine(options.Out, "sparcode", EvaluationOptions.DefaultIndexFile);
                var sparsity = new SparsityOptions { Density = options.Density };
                var result = Evaluation.Evaluate(sparCode, twoTower, data, sparsity, indexPath, export: true, CeilingUsers, log);
                string metrics = Path.Combine(options.Out, "sparcode", Evaluation.MetricsFile);
                Evaluator.WriteJson(metrics, new { result, twoTowerEpochs, sparCodeEpochs });
                var queries = Serve(indexPath, data);
                return new DemoReport(result, twoTowerEpochs, sparCodeEpochs, indexPath, metrics, queries, total.Elapsed.TotalSeconds);
            }
        }
    }

    /// <summary>Serves the first <see cref="ServedUsers"/> test users' histories through the engine, top-<see cref="K"/>.</summary>
    private static DemoQuery[] Serve(string indexPath, SequenceDataset data)
    {
        using var index = SparCodeIndex.Open(indexPath);
        var searcher = index.CreateSearcher();
        var ids = new long[K];
        var scores = new float[K];
        var queries = new List<DemoQuery>();
        foreach (int u in Evaluator.TestUsers(data).Take(ServedUsers))
        {
            var seq = data.Sequences[u];
            var history = seq.AsSpan(0, seq.Length - 1).ToArray().Select(i => data.ItemIds[i]).ToArray();
            var clock = Stopwatch.StartNew();
            int n = searcher.Search(history, K, ids, scores);
            double micros = clock.Elapsed.TotalMicroseconds;
            var codes = new int[index.Dimensions.UserTokens];
            searcher.Encode(history, codes);
            queries.Add(new DemoQuery(data.UserIds[u], history, codes, searcher.LastPostingsTouched, micros, ids[..n], data.ItemIds[seq[^1]]));
        }
        return [.. queries];
    }
}
