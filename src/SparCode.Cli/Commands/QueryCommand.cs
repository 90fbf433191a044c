using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using SparCode.Cli.Rendering;
using SparCode.Engine;
using Spectre.Console;
using Spectre.Console.Cli;

namespace SparCode.Cli.Commands;

/// <summary><c>sparcode query</c>: one history in, the top-k items out, with the codes it mapped to; <c>--timing</c> also times it.</summary>
internal sealed class QueryCommand : GuardedCommand<QueryCommand.Settings>
{
    private const int TimedRuns = 21;

    /// <summary>Options of <c>query</c>.</summary>
    internal sealed class Settings : CommandSettings
    {
        /// <summary>The index file.</summary>
        [CommandArgument(0, "<PATH>")]
        [Description("Index file to search.")]
        public string Path { get; init; } = "";

        /// <summary>History ids, comma-separated.</summary>
        [CommandOption("--history <IDS>", isRequired: true)]
        [Description("The user's history, oldest first: comma-separated external item ids (e.g. 1,2,3), @FILE to read them from a file, or - for standard input (commas or whitespace between ids).")]
        public string History { get; init; } = "";

        /// <summary>Results wanted.</summary>
        [CommandOption("-k|--top <K>")]
        [Description("Number of results.")]
        [DefaultValue(10)]
        public int K { get; init; }

        /// <summary>Extra ids to drop from the results.</summary>
        [CommandOption("--exclude <IDS>")]
        [Description("Further item ids to drop from the results, as for --history (unknown ids are ignored).")]
        public string? Exclude { get; init; }

        /// <summary>Ignore unknown history ids instead of failing.</summary>
        [CommandOption("--skip-unknown")]
        [Description("Ignore history ids the index does not know instead of failing.")]
        public bool SkipUnknown { get; init; }

        /// <summary>Do not fill up to k with score-0 items.</summary>
        [CommandOption("--no-fill")]
        [Description("Return only scored items, even if fewer than k.")]
        public bool NoFill { get; init; }

        /// <summary>Also time the query.</summary>
        [CommandOption("--timing")]
        [Description("Also time the query: warm up for 0.3 s, then report the median latency of 21 runs.")]
        public bool Timing { get; init; }

        /// <inheritdoc/>
        public override ValidationResult Validate()
        {
            if (!IdList.TryParse(History, out _, out string? error))
            {
                return ValidationResult.Error($"--history: {error}");
            }
            if (Exclude is not null && !IdList.TryParse(Exclude, out _, out error))
            {
                return ValidationResult.Error($"--exclude: {error}");
            }
            return K < 1 ? ValidationResult.Error($"-k is {K}; expected at least 1.") : ValidationResult.Success();
        }
    }

    /// <inheritdoc/>
    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        long[] history = IdList.Parse(settings.History);
        long[] exclude = IdList.Parse(settings.Exclude);
        var options = new SearchOptions
        {
            UnknownItems = settings.SkipUnknown ? UnknownItemPolicy.Skip : UnknownItemPolicy.Error,
            FillToK = !settings.NoFill,
        };

        using var index = SparCodeIndex.Open(settings.Path);
        var searcher = index.CreateSearcher();
        var dims = index.Dimensions;
        int known = history.Count(id => index.TryGetInternalId(id, out _));

        var ids = new long[settings.K];
        var scores = new float[settings.K];
        int count;
        try
        {
            count = searcher.Search(history, exclude, settings.K, ids, scores, options);
        }
        catch (UnknownItemException e)
        {
            return Fail($"history item id {e.ItemId} (entry {e.Position + 1} of --history) is not in the index; pass --skip-unknown to ignore unknown ids.");
        }
        double? micros = settings.Timing ? MedianMicroseconds(() => searcher.Search(history, exclude, settings.K, ids, scores, options)) : null;
        var codes = searcher.LastCodes.ToArray();
        long touched = searcher.LastPostingsTouched;

        var grid = new Grid().AddColumn(new GridColumn().NoWrap().PadRight(2)).AddColumn();
        grid.AddRow(new Markup("[bold]index[/]"), new Text($"{index.Description.Path} ({Units.Count(dims.ItemCount)} items, {Units.Count(dims.CodeCount)} codes)"));
        string skipped = known < history.Length ? $", {history.Length - known} unknown skipped" : "";
        grid.AddRow(new Markup("[bold]history[/]"), new Text($"{Units.List<long>(history)} ({known} known{skipped}; the tower reads the last {dims.HistoryLength})"));
        grid.AddRow(new Markup("[bold]codes[/]"), new Text($"{Units.List<int>(codes)} (K_u = {dims.UserTokens})"));
        grid.AddRow(new Markup("[bold]postings touched[/]"), new Text(Units.Count(touched)));
        if (micros is { } median)
        {
            grid.AddRow(new Markup("[bold]latency[/]"), new Text($"{Units.Number(median)} µs (median of {TimedRuns} runs after a 0.3 s warm-up)"));
        }
        AnsiConsole.Write(grid);

        var table = new Table().AddColumn(new TableColumn("rank").RightAligned()).AddColumn(new TableColumn("item id").RightAligned()).AddColumn(new TableColumn("score").RightAligned());
        for (int i = 0; i < count; i++)
        {
            string score = scores[i] > 0 ? Units.Number(scores[i], 4) : "[grey]0 (fill)[/]";
            table.AddRow(new Markup((i + 1).ToString(CultureInfo.InvariantCulture)), new Markup(ids[i].ToString(CultureInfo.InvariantCulture)), new Markup(score));
        }
        if (count < settings.K)
        {
            table.Caption(settings.NoFill ? $"{count} of {settings.K}: --no-fill" : $"{count} of {settings.K}: the rest are excluded");
        }
        AnsiConsole.Write(table);
        return 0;
    }

    /// <summary>
    /// The median wall time of <see cref="TimedRuns"/> calls of <paramref name="search"/>, after calling it for 0.3 s:
    /// early runs pay for JIT compilation (tier 0, then tier 1 after ~30 calls and a short delay), and the median
    /// after a warm-up is what a server sees.
    /// </summary>
    private static double MedianMicroseconds(Func<int> search)
    {
        var warmUp = Stopwatch.StartNew();
        for (int i = 0; i < 100_000 && warmUp.ElapsedMilliseconds < 300; i++)
        {
            search();
        }
        var runs = new double[TimedRuns];
        for (int i = 0; i < runs.Length; i++)
        {
            long start = Stopwatch.GetTimestamp();
            search();
            runs[i] = Units.Microseconds(Stopwatch.GetTimestamp() - start);
        }
        Array.Sort(runs);
        return runs[runs.Length / 2];
    }
}
