using SparCode.Cli.Rendering;
using SparCode.Training;

namespace SparCode.Cli.Commands;

/// <summary><c>sparcode train</c>: trains SparCode or two-tower (<see cref="TrainingLog.Train"/>), printing its progress lines.</summary>
internal sealed class TrainCommand : GuardedCommand<TrainingSettings>
{
    /// <inheritdoc/>
    protected override int Run(TrainingSettings settings, CancellationToken cancellationToken)
    {
        TrainingLog.Train(settings.Data!, settings.Format, settings.ToOptions(), settings.Out!, ProgressLog.Line, cancellationToken);
        return 0;
    }
}
