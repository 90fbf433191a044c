using SparCode.Cli.Rendering;
using SparCode.Training;

namespace SparCode.Cli.Commands;

/// <summary><c>sparcode train</c>: trains SparCode or two-tower (<see cref="TrainingLog.Train"/>), printing its progress lines.</summary>
internal sealed class TrainCommand : GuardedCommand<TrainingSettings>
{
    /// <inheritdoc/>
    protected override int Run(TrainingSettings settings, CancellationToken cancellationToken)
    {
        TrainingLog.Train(settings.Data!, settings.Format, settings.ToOptions(), settings.Out!, Log, cancellationToken);
        return 0;
    }

    /// <summary>
    /// <see cref="ProgressLog.Line"/> under the name <c>export</c> still uses; ExportCommand.cs is being restructured on
    /// another branch, which switches to <see cref="ProgressLog.Line"/> at the merge and lets this go.
    /// </summary>
    internal static void Log(string line) => ProgressLog.Line(line);
}
