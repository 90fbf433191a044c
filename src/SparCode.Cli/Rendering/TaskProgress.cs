using Spectre.Console;

namespace SparCode.Cli.Rendering;

/// <summary>
/// Forwards a library's <see cref="IProgress{T}"/> fraction (0..1) to a Spectre progress task, synchronously
/// and from any thread. Reports may arrive out of order from parallel workers, so the bar only moves forward.
/// </summary>
internal sealed class TaskProgress(ProgressTask task) : IProgress<double>
{
    private readonly Lock _lock = new();
    private double _best;

    /// <inheritdoc/>
    public void Report(double value)
    {
        lock (_lock)
        {
            if (value <= _best)
            {
                return;
            }
            _best = value;
            task.IsIndeterminate = false;
            task.Value = Math.Clamp(value, 0, 1) * task.MaxValue;
        }
    }

    /// <summary>Marks the task finished.</summary>
    public void Complete()
    {
        lock (_lock)
        {
            task.IsIndeterminate = false;
            task.Value = task.MaxValue;
            task.StopTask();
        }
    }
}
