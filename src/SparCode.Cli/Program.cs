using SparCode.Cli;
using SparCode.Cli.Commands;
using Spectre.Console;
using Spectre.Console.Cli;

// Logs and pipes get long lines instead of Spectre's 80-column default; a terminal keeps its own width.
if (Console.IsOutputRedirected)
{
    AnsiConsole.Profile.Width = 120;
}

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("sparcode");
    // Unknown or mistyped options (query --topk 5, train --epoch 5) are errors, not silently ignored.
    config.UseStrictParsing();
    // Parser and validation errors reach the handler below instead of Spectre's report on standard output.
    config.PropagateExceptions();
    config.AddCommand<DemoCommand>("demo")
        .WithDescription("The method end to end on embedded synthetic data: train two-tower and SparCode, export the index, evaluate every row, serve a few queries.")
        .WithExample("demo");
    config.AddCommand<ServeDemoCommand>("serve-demo")
        .WithDescription("Engine only: synthesize, write, verify, inspect and query an index, then time single-threaded and batched search.")
        .WithExample("serve-demo")
        .WithExample("serve-demo", "--items", "50000", "--queries", "500");
    config.AddCommand<SynthCommand>("synth")
        .WithDescription("Generate a seeded synthetic index and write it atomically.")
        .WithExample("synth", "--out", "out/synthetic.sci", "--items", "50000");
    config.AddCommand<InspectCommand>("inspect")
        .WithDescription("Show an index's header, model sizes, sections, posting statistics and metadata.")
        .WithExample("inspect", "out/synthetic.sci");
    config.AddCommand<VerifyCommand>("verify")
        .WithDescription("Open an index with full validation and recheck every byte; exit code 1 if it is damaged.")
        .WithExample("verify", "out/synthetic.sci");
    config.AddCommand<TrainCommand>("train")
        .WithDescription("Train SparCode or the two-tower baseline; validates HR@50 each epoch and keeps the best checkpoint.")
        .WithExample("train", "--data", "../shared/datasets/ml-100k/u.data", "--model", "sparcode", "--out", "out/ml100k-sparcode");
    config.AddCommand<ExportCommand>("export")
        .WithDescription("Export a trained SparCode model to an index: per-code thresholds (density or N_max), unused codes remapped, popularity fill.")
        .WithExample("export", "--model", "out/ml100k-sparcode", "--density", "0.05");
    config.AddCommand<EvalCommand>("eval")
        .WithDescription("Full-ranking HR/NDCG@10/20/50 on the test split: served through the engine, exhaustive quantized, all-to-all ceiling, two-tower exact.")
        .WithExample("eval", "--model", "out/ml100k-sparcode", "--two-tower", "out/ml100k-two-tower");
    config.AddCommand<QueryCommand>("query")
        .WithDescription("Run one query: a user history in, the top-k items out.")
        .WithExample("query", "out/synthetic.sci", "--history", "1,2,3", "-k", "10");
    config.AddCommand<TwoTowerExportCommand>("export-two-tower").WithDescription("Write a trained two-tower model's item table, test users' query vectors, test histories and held-out items for 'bench'.").WithExample("export-two-tower", "--model", "out/ml100k-two-tower");
    config.AddCommand<BenchCommand>("bench").WithDescription("One-run comparison: SparCode CPU vs two-tower exact vs HNSW (quality, latency, size, build time); markdown, JSON, PNG.").WithExample("bench", "--items", "100000", "--queries", "500");
});
try
{
    // A lone "-" (standard input, e.g. --history -) is not a token Spectre accepts as a value; "@-" is the same list.
    return app.Run([.. args.Select(a => a == "-" ? "@-" : a)]);
}
catch (CommandAppException e)
{
    // Unknown commands and options, bad option values, failed validation: one red line, exit code 1 (README),
    // with options spelled as they are typed (Spectre writes "option 'history'" for --history).
    return CliErrors.Fail(CliErrors.DashOptionNames(e.Message));
}
catch (Exception e)
{
    return CliErrors.Unexpected(e);
}
