using System.ComponentModel;
using System.Globalization;
using SparCode.Bench;
using Spectre.Console;
using Spectre.Console.Cli;

namespace SparCode.Cli.Commands;

/// <summary>
/// <c>sparcode bench</c>: SparCode CPU (1 thread and all threads), two-tower exact (single and blocked)
/// and two-tower HNSW at each ef, in one process, interleaved; markdown, JSON and PNG per catalogue size,
/// plus a scaling table and plot when several sizes are given.
/// </summary>
internal sealed class BenchCommand : GuardedCommand<BenchCommand.Settings>
{
    /// <summary>Options of <c>bench</c>.</summary>
    internal sealed class Settings : CommandSettings
    {
        /// <summary>Catalogue sizes.</summary>
        [CommandOption("--items <N,N,...>")]
        [Description("Catalogue size(s) of the synthetic models; several sizes give a scaling run.")]
        [DefaultValue("100000")]
        public string Items { get; init; } = "100000";

        /// <summary>Queries.</summary>
        [CommandOption("--queries <N>")]
        [Description("Queries per system.")]
        [DefaultValue(1000)]
        public int Queries { get; init; }

        /// <summary>k.</summary>
        [CommandOption("-k|--top <K>")]
        [Description("Results per query; quality is recall@k and HR@k.")]
        [DefaultValue(50)]
        public int K { get; init; }

        /// <summary>Rounds.</summary>
        [CommandOption("--rounds <N>")]
        [Description("Interleaving rounds (each system runs a chunk of the queries per round).")]
        [DefaultValue(5)]
        public int Rounds { get; init; }

        /// <summary>Trained index.</summary>
        [CommandOption("--index <PATH>")]
        [Description("A trained SparCode index (.sci); default: synthetic.")]
        public string? Index { get; init; }

        /// <summary>Two-tower file.</summary>
        [CommandOption("--two-tower <PATH>")]
        [Description("Two-tower embeddings file (items + one user vector per query, format in TwoTowerModel); default: synthetic clustered.")]
        public string? TwoTower { get; init; }

        /// <summary>Histories file.</summary>
        [CommandOption("--histories <PATH>")]
        [Description("SparCode query histories, one per line (ids separated by commas or spaces), in the same order as the two-tower users.")]
        public string? Histories { get; init; }

        /// <summary>Held-out items.</summary>
        [CommandOption("--held-out <PATH>")]
        [Description("Held-out item per query (one id per line, same order as the histories): adds each system's leave-one-out HR@k.")]
        public string? HeldOut { get; init; }

        /// <summary>Mean list length.</summary>
        [CommandOption("--postings-per-list <N>")]
        [Description("Mean posting-list length of the synthetic index (capped at items/4).")]
        [DefaultValue(10_000)]
        public int PostingsPerList { get; init; }

        /// <summary>K_u.</summary>
        [CommandOption("--tokens <K_U>")]
        [Description("User tokens K_u of the synthetic index (postings per query ≈ K_u × mean list length).")]
        [DefaultValue(4)]
        public int Tokens { get; init; }

        /// <summary>d.</summary>
        [CommandOption("--dim <D>")]
        [Description("Embedding size of the synthetic two-tower model and of the synthetic index's item embedding.")]
        [DefaultValue(64)]
        public int Dim { get; init; }

        /// <summary>ef values.</summary>
        [CommandOption("--ef <EF,EF,...>")]
        [Description("HNSW expansion_search values (USearch uses at least k); 'none' skips HNSW.")]
        [DefaultValue("50,100,200,400,800")]
        public string Ef { get; init; } = "50,100,200,400,800";

        /// <summary>HNSW M.</summary>
        [CommandOption("--connectivity <M>")]
        [Description("HNSW graph degree M.")]
        [DefaultValue(16)]
        public int Connectivity { get; init; }

        /// <summary>HNSW ef_construction.</summary>
        [CommandOption("--ef-construction <N>")]
        [Description("HNSW candidate list size while building.")]
        [DefaultValue(128)]
        public int EfConstruction { get; init; }

        /// <summary>Item norm spread.</summary>
        [CommandOption("--norm-spread <SIGMA>")]
        [Description("σ of the log-normal item norm of the synthetic two-tower model; 0 makes inner product close to cosine (easier for HNSW).")]
        [DefaultValue(0.1f)]
        public float NormSpread { get; init; }

        /// <summary>HNSW size cap.</summary>
        [CommandOption("--hnsw-max-items <N>")]
        [Description("Skip HNSW for catalogues larger than this (its build dominates the run time).")]
        [DefaultValue(2_000_000)]
        public int HnswMaxItems { get; init; }

        /// <summary>Block size.</summary>
        [CommandOption("--block <N>")]
        [Description("Queries per pass of the blocked exact scan.")]
        [DefaultValue(8)]
        public int Block { get; init; }

        /// <summary>Threads.</summary>
        [CommandOption("--threads <N>")]
        [Description("Threads of the all-threads runs and of the HNSW build; default: every core.")]
        public int? Threads { get; init; }

        /// <summary>Output folder.</summary>
        [CommandOption("-o|--out <DIR>")]
        [Description("Folder for bench-<items>.md/.json/.png (and scaling.* for several sizes).")]
        [DefaultValue("out/bench")]
        public string Out { get; init; } = "out/bench";

        /// <summary>Work folder.</summary>
        [CommandOption("--work <DIR>")]
        [Description("Folder for the synthetic index files.")]
        [DefaultValue("out/bench-work")]
        public string Work { get; init; } = "out/bench-work";

        /// <summary>Re-render from JSON.</summary>
        [CommandOption("--replot <JSON>")]
        [Description("Run nothing: re-render the markdown and PNG next to a bench-<items>.json (or scaling.json) written earlier.")]
        public string? Replot { get; init; }

        /// <summary>Seed.</summary>
        [CommandOption("--seed <S>")]
        [Description("Seed of every synthetic input.")]
        [DefaultValue(42)]
        public int Seed { get; init; }
    }

    /// <inheritdoc/>
    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        if (settings.Replot is not null)
        {
            return Replot(settings.Replot);
        }
        var sizes = ParseList(settings.Items, "--items");
        var ef = settings.Ef.Trim().Equals("none", StringComparison.OrdinalIgnoreCase) ? [] : ParseList(settings.Ef, "--ef");
        if (sizes.Count > 1 && (settings.Index is not null || settings.TwoTower is not null))
        {
            return Fail("Several --items sizes are for synthetic scaling runs; a given --index or --two-tower has its own size.");
        }
        string command = "sparcode bench " + string.Join(' ', Environment.GetCommandLineArgs().Skip(1).SkipWhile(a => a == "bench"));
        Directory.CreateDirectory(settings.Out);
        var results = new List<BenchResult>();
        foreach (int items in sizes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var options = new BenchOptions
            {
                Items = items,
                Queries = settings.Queries,
                K = settings.K,
                Rounds = settings.Rounds,
                IndexPath = settings.Index,
                TwoTowerPath = settings.TwoTower,
                HistoriesPath = settings.Histories,
                HeldOutPath = settings.HeldOut,
                PostingsPerList = Math.Max(1, Math.Min(settings.PostingsPerList, items / 4)),
                Tokens = settings.Tokens,
                SparCodeDim = settings.Dim,
                TwoTowerDim = settings.Dim,
                Ef = items > settings.HnswMaxItems ? [] : ef,
                Block = settings.Block,
                Connectivity = settings.Connectivity,
                ExpansionAdd = settings.EfConstruction,
                NormSpread = settings.NormSpread,
                Threads = settings.Threads ?? Environment.ProcessorCount,
                WorkFolder = settings.Work,
                Seed = settings.Seed,
            };
            AnsiConsole.MarkupLineInterpolated($"[bold]bench: {(settings.Index is null ? $"{items:N0} synthetic items" : settings.Index)}[/]");
            var result = BenchRunner.Run(options, command, line => AnsiConsole.WriteLine("  " + line));
            results.Add(result);
            // Named by the catalogue actually benchmarked (a given index has its own size).
            string stem = Path.Combine(settings.Out, $"bench-{result.Items}");
            string markdown = BenchReport.Markdown(result);
            File.WriteAllText(stem + ".md", markdown);
            File.WriteAllText(stem + ".json", BenchReport.Json([result]));
            BenchReport.QualityPlot(result, stem + ".png");
            bool heldOut = HeldOutPlot(result, stem);
            AnsiConsole.WriteLine(markdown);
            AnsiConsole.WriteLine($"Wrote {stem}.md, .json, .png{(heldOut ? $", {stem}-heldout.png" : "")}");
            if (settings.Index is null)
            {
                // The synthetic index is large and cheap to regenerate.
                File.Delete(Path.Combine(settings.Work, $"synthetic-{items}.sci"));
            }
        }
        if (results.Count > 1)
        {
            string stem = Path.Combine(settings.Out, "scaling");
            string markdown = BenchReport.ScalingMarkdown(results);
            File.WriteAllText(stem + ".md", markdown);
            File.WriteAllText(stem + ".json", BenchReport.Json(results));
            BenchReport.ScalingPlot(results, stem + ".png");
            AnsiConsole.WriteLine(markdown);
            AnsiConsole.WriteLine($"Wrote {stem}.md, .json, .png");
        }
        return 0;
    }

    private static int Replot(string json)
    {
        IReadOnlyList<BenchResult> results;
        try
        {
            results = BenchReport.ReadJson(File.ReadAllText(json));
        }
        catch (System.Text.Json.JsonException e)
        {
            return Fail($"{json} is not a bench JSON file: {e.Message}");
        }
        string stem = Path.Combine(Path.GetDirectoryName(Path.GetFullPath(json))!, Path.GetFileNameWithoutExtension(json));
        if (results.Count == 1)
        {
            File.WriteAllText(stem + ".md", BenchReport.Markdown(results[0]));
            BenchReport.QualityPlot(results[0], stem + ".png");
            HeldOutPlot(results[0], stem);
        }
        else
        {
            File.WriteAllText(stem + ".md", BenchReport.ScalingMarkdown(results));
            BenchReport.ScalingPlot(results, stem + ".png");
        }
        AnsiConsole.WriteLine($"Wrote {stem}.md, .png");
        return 0;
    }

    /// <summary>Writes <c>&lt;stem&gt;-heldout.png</c> (held-out HR@k against latency) when the run has held-out items.</summary>
    private static bool HeldOutPlot(BenchResult result, string stem)
    {
        if (result.Systems.Any(s => s.HeldOutHitRate is null))
        {
            return false;
        }
        BenchReport.QualityPlot(result, stem + "-heldout.png", heldOut: true);
        return true;
    }

    private static List<int> ParseList(string text, string option)
    {
        var values = new List<int>();
        foreach (string part in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(part.Replace("_", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < 1)
            {
                throw new ArgumentException($"{option}: '{part}' is not a positive integer.");
            }
            values.Add(value);
        }
        return values.Count > 0 ? values : throw new ArgumentException($"{option} is empty.");
    }
}
