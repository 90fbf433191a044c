using SparCode.Data;

namespace SparCode.Training;

/// <summary>
/// The log of one training run, as <c>train.json</c> in the model folder holds it: the manifest of the kept
/// checkpoint and every epoch's record (loss, validation metrics, memory, codebook usage).
/// </summary>
/// <param name="Manifest">What <c>model.json</c> records for the kept checkpoint.</param>
/// <param name="Epochs">Every epoch run, in order.</param>
public sealed record TrainingLog(ModelManifest Manifest, IReadOnlyList<EpochRecord> Epochs)
{
    /// <summary>File name of the log in the model folder.</summary>
    public const string FileName = "train.json";

    /// <summary>
    /// Loads the data named by <paramref name="data"/> (<see cref="DataSource.Load"/>), trains on it
    /// (<see cref="Trainer.Train"/>), keeps the best checkpoint in <paramref name="outFolder"/> and writes
    /// <see cref="FileName"/> next to it. Progress lines (the data loaded, each batch report and epoch) go to
    /// <paramref name="log"/>; the caller decides how to show them.
    /// </summary>
    /// <param name="data">A data file, or <c>synthetic[:USERS:ITEMS]</c>; recorded in the manifest so that the data reloads from it.</param>
    /// <param name="format">The data file's format.</param>
    /// <param name="options">Every hyperparameter.</param>
    /// <param name="outFolder">Folder for <c>model.json</c>, <c>model.bin</c> and <see cref="FileName"/>.</param>
    /// <param name="log">Receives progress lines.</param>
    /// <param name="cancellationToken">Stops training between batches.</param>
    /// <returns>The log written.</returns>
    /// <exception cref="ArgumentException">The options are invalid, or the data has no training examples.</exception>
    /// <exception cref="FileNotFoundException">The data file does not exist.</exception>
    /// <exception cref="InteractionFormatException">The data file is not in the expected format.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public static TrainingLog Train(string data, InteractionFormat format, TrainOptions options, string outFolder, Action<string>? log = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(outFolder);
        var dataset = DataSource.Load(data, format, log);
        var (model, epochs, manifest) = Trainer.Train(dataset, options, outFolder, log, data, format, cancellationToken);
        model.Dispose();
        var result = new TrainingLog(manifest, epochs);
        Evaluator.WriteJson(Path.Combine(outFolder, FileName), result);
        return result;
    }
}
