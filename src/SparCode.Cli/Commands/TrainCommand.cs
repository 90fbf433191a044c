using SparCode.Training;
using Spectre.Console;

namespace SparCode.Cli.Commands;

/// <summary><c>sparcode train</c>: trains SparCode or two-tower, validates each epoch, keeps the best checkpoint.</summary>
internal sealed class TrainCommand : GuardedCommand<TrainingSettings>
{
    /// <inheritdoc/>
    protected override int Run(TrainingSettings settings, CancellationToken cancellationToken)
    {
        var data = DataSettings.Load(settings.Data!, settings.Format, Log);
        var options = settings.ToOptions();
        var (model, epochs, manifest) = Trainer.Train(data, options, settings.Out, Log, settings.Data!, settings.Format, cancellationToken);
        using (model)
        {
            Evaluator.WriteJson(Path.Combine(settings.Out!, "train.json"), new { manifest, epochs });
        }
        return 0;
    }

    /// <summary>One progress line, timestamped.</summary>
    internal static void Log(string line) => AnsiConsole.MarkupLineInterpolated($"[grey]{DateTime.Now:HH:mm:ss}[/] {line}");
}
