using System.ComponentModel;
using SparCode.Cli.Rendering;
using SparCode.Synthetic;
using Spectre.Console;
using Spectre.Console.Cli;

namespace SparCode.Cli.Commands;

/// <summary><c>sparcode synth</c>: generate a synthetic index and write it.</summary>
internal sealed class SynthCommand : GuardedCommand<SynthCommand.Settings>
{
    /// <summary>Options of <c>synth</c>; defaults follow <see cref="SyntheticOptions"/>.</summary>
    internal sealed class Settings : CommandSettings
    {
        /// <summary>Destination file.</summary>
        [CommandOption("-o|--out <PATH>", isRequired: true)]
        [Description("Index file to write (replaced atomically if it exists).")]
        public string Out { get; init; } = "";

        /// <summary>Catalogue size.</summary>
        [CommandOption("--items <N>")]
        [Description("Catalogue size n_items.")]
        [DefaultValue(100_000)]
        public int Items { get; init; }

        /// <summary>Mean posting-list length.</summary>
        [CommandOption("--postings-per-list <N>")]
        [Description("Mean posting-list length (lengths are log-normal around it).")]
        [DefaultValue(1_000)]
        public int PostingsPerList { get; init; }

        /// <summary>K_c.</summary>
        [CommandOption("--codebook-size <K_C>")]
        [Description("Codewords per sub-codebook K_c; there are K_c^M codes.")]
        [DefaultValue(64)]
        public int CodebookSize { get; init; }

        /// <summary>M.</summary>
        [CommandOption("--subspaces <M>")]
        [Description("Sub-codebooks M of the product quantizer (1..8).")]
        [DefaultValue(2)]
        public int Subspaces { get; init; }

        /// <summary>K_u.</summary>
        [CommandOption("--tokens <K_U>")]
        [Description("User tokens per query K_u.")]
        [DefaultValue(4)]
        public int Tokens { get; init; }

        /// <summary>D.</summary>
        [CommandOption("--token-dim <D>")]
        [Description("User token size D, a multiple of M.")]
        [DefaultValue(64)]
        public int TokenDim { get; init; }

        /// <summary>Seed.</summary>
        [CommandOption("--seed <S>")]
        [Description("Random seed for the generator.")]
        [DefaultValue(42)]
        public int Seed { get; init; }

        /// <summary>σ of the log-normal list length.</summary>
        [CommandOption("--length-spread <SIGMA>")]
        [Description("σ of the log-normal list length: 0 gives equal lengths, 1 a long tail.")]
        [DefaultValue(0.8)]
        public double LengthSpread { get; init; }

        /// <summary>Popularity skew of posting items.</summary>
        [CommandOption("--item-skew <S>")]
        [Description("Popularity skew of posting items, ≥ 1 (1 is uniform).")]
        [DefaultValue(2.0)]
        public double ItemSkew { get; init; }

        /// <summary>The generator options these settings describe.</summary>
        public SyntheticOptions ToOptions() => new()
        {
            ItemCount = Items,
            MeanPostingsPerList = PostingsPerList,
            CodebookSize = CodebookSize,
            Subspaces = Subspaces,
            UserTokens = Tokens,
            TokenDim = TokenDim,
            Seed = Seed,
            LengthSpread = LengthSpread,
            ItemSkew = ItemSkew,
        };

        /// <inheritdoc/>
        public override ValidationResult Validate()
        {
            if (string.IsNullOrWhiteSpace(Out))
            {
                return ValidationResult.Error("--out needs a file path.");
            }
            return SynthesisOptions.Check(ToOptions());
        }
    }

    /// <inheritdoc/>
    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        var options = settings.ToOptions();
        AnsiConsole.MarkupLineInterpolated($"Synthesizing [bold]{Units.Count(options.ItemCount)}[/] items, [bold]{Units.Count(options.Dimensions().CodeCount)}[/] codes, ~{Units.Count(options.MeanPostingsPerList)} postings per list (seed {options.Seed})");
        var result = Synthesis.CreateAndWrite(options, settings.Out);
        AnsiConsole.MarkupLineInterpolated($"[green]Wrote[/] {Path.GetFullPath(settings.Out)}");
        var grid = new Grid().AddColumn(new GridColumn().NoWrap().PadRight(2)).AddColumn();
        grid.AddRow("file size", $"{Units.Count(result.FileLength)} bytes ({Units.Bytes(result.FileLength)})");
        grid.AddRow("postings", $"{Units.Count(result.Postings)} in {Units.Count(result.Codes)} lists");
        grid.AddRow("time", Markup.Escape($"{Units.Duration(result.Generate + result.Write)} (generate {Units.Duration(result.Generate)}, write {Units.Duration(result.Write)})"));
        AnsiConsole.Write(grid);
        return 0;
    }
}

/// <summary>Checks synthetic options before any work, so that bad sizes are Spectre validation errors.</summary>
internal static class SynthesisOptions
{
    /// <summary>Success, or an error naming the option and what it expects.</summary>
    public static ValidationResult Check(SyntheticOptions options)
    {
        string? problem = options switch
        {
            { ItemCount: < 1 } => $"--items is {options.ItemCount}; expected at least 1.",
            { MeanPostingsPerList: < 0 } => $"--postings-per-list is {options.MeanPostingsPerList}; expected at least 0.",
            { CodebookSize: < 1 or > 1 << 16 } => $"--codebook-size is {options.CodebookSize}; expected 1..65536.",
            { Subspaces: < 1 or > 8 } => $"--subspaces is {options.Subspaces}; expected 1..8.",
            { UserTokens: < 1 or > 1024 } => $"--tokens is {options.UserTokens}; expected 1..1024.",
            { TokenDim: < 1 or > 1 << 16 } => $"--token-dim is {options.TokenDim}; expected 1..65536.",
            _ when options.TokenDim % options.Subspaces != 0 => $"--token-dim ({options.TokenDim}) must be a multiple of --subspaces ({options.Subspaces}).",
            _ when options.LengthSpread < 0 || !double.IsFinite(options.LengthSpread) => $"--length-spread is {options.LengthSpread}; expected a finite value ≥ 0.",
            _ when options.ItemSkew < 1 || !double.IsFinite(options.ItemSkew) => $"--item-skew is {options.ItemSkew}; expected a finite value ≥ 1.",
            _ => null,
        };
        if (problem is not null)
        {
            return ValidationResult.Error(problem);
        }
        var dims = options.Dimensions();
        // Whatever the generator or the format still rejects (e.g. more than 2^24 codes).
        if ((options.Problem() ?? dims.Problem()) is { } rejected)
        {
            return ValidationResult.Error($"Invalid synthetic index: {rejected}");
        }
        double expected = (double)dims.CodeCount * options.MeanPostingsPerList;
        if (expected > int.MaxValue / 2)
        {
            return ValidationResult.Error($"{Units.Count(dims.CodeCount)} codes × {Units.Count(options.MeanPostingsPerList)} postings per list is about {Units.Count((long)expected)} postings; an index holds at most {Units.Count(int.MaxValue)}.");
        }
        return ValidationResult.Success();
    }
}
