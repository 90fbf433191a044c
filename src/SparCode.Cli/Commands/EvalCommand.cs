using System.ComponentModel;
using SparCode.Cli.Rendering;
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
/// <c>sparcode eval</c>: full-ranking HR/NDCG@10/20/50 on the test split (<see cref="Evaluation.Run"/>: four rows plus
/// dense quantized, metrics.json next to the model; a two-tower model given as <c>--model</c> gets its exact row only).
/// </summary>
internal sealed class EvalCommand : GuardedCommand<EvalSettings>
{
    /// <inheritdoc/>
    protected override int Run(EvalSettings settings, CancellationToken cancellationToken)
    {
        var options = new EvaluationOptions
        {
            Model = settings.Model!, TwoTower = settings.TwoTower, Data = settings.Data, Format = settings.Format, Sparsity = settings.Sparsity,
            Index = settings.Index, Export = settings.Export, CeilingUsers = settings.CeilingUsers,
        };
        var (report, metrics) = Evaluation.Run(options, ProgressLog.Line);
        EvaluationTable.Print(report);
        AnsiConsole.MarkupLineInterpolated($"metrics written to {metrics}");
        return 0;
    }
}
