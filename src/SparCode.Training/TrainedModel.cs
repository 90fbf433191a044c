using System.Text.Json;
using SparCode.Data;
using static TorchSharp.torch;

namespace SparCode.Training;

/// <summary>What <c>model.json</c> records besides the options: catalogue size and data source.</summary>
/// <param name="Options">Hyperparameters.</param>
/// <param name="ItemCount">Catalogue size the model was built for.</param>
/// <param name="Data">The data file (or "synthetic").</param>
/// <param name="Format">The data format used.</param>
/// <param name="BestEpoch">Epoch of the kept checkpoint (1-based).</param>
/// <param name="BestValidationHr50">Validation HR@50 of the kept checkpoint.</param>
public sealed record ModelManifest(TrainOptions Options, int ItemCount, string Data, InteractionFormat Format, int BestEpoch, double BestValidationHr50)
{
    /// <summary>
    /// Reloads the data the model was trained on (<see cref="Data"/> in <see cref="Format"/>, through
    /// <see cref="DataSource.Load"/>), or <paramref name="data"/> in <paramref name="format"/> when given.
    /// </summary>
    /// <param name="data">Another data source to use instead of the manifest's (null: the manifest's).</param>
    /// <param name="format">The format of <paramref name="data"/>; not used when <paramref name="data"/> is null.</param>
    /// <param name="log">Receives the line describing what was loaded.</param>
    /// <exception cref="FileNotFoundException">The data file does not exist.</exception>
    /// <exception cref="InteractionFormatException">The data file is not in the expected format.</exception>
    public SequenceDataset LoadData(string? data = null, InteractionFormat format = InteractionFormat.Auto, Action<string>? log = null) =>
        data is null ? DataSource.Load(Data, Format, log) : DataSource.Load(data, format, log);
}

/// <summary>A trained model (either kind) with its options; owns native memory.</summary>
public sealed class TrainedModel : IDisposable
{
    internal TrainedModel(TrainOptions options, int itemCount, RecommenderNet net)
    {
        Options = options;
        ItemCount = itemCount;
        Net = net;
    }

    /// <summary>Hyperparameters.</summary>
    public TrainOptions Options { get; }

    /// <summary>Catalogue size.</summary>
    public int ItemCount { get; }

    internal RecommenderNet Net { get; }

    internal SparCodeNet SparCode => Net as SparCodeNet ?? throw new InvalidOperationException("This is a two-tower model; the operation needs a SparCode model.");

    internal static TrainedModel Create(TrainOptions options, int itemCount)
    {
        RecommenderNet net = options.Model == ModelKind.SparCode ? new SparCodeNet(itemCount, options) : new TwoTowerNet(itemCount, options);
        return new TrainedModel(options, itemCount, net);
    }

    /// <summary>Writes <c>model.json</c> and <c>model.bin</c> (TorchSharp format) into <paramref name="folder"/>.</summary>
    public void Save(string folder, ModelManifest manifest)
    {
        Directory.CreateDirectory(folder);
        Net.save(Path.Combine(folder, "model.bin"));
        File.WriteAllText(Path.Combine(folder, "model.json"), JsonSerializer.Serialize(manifest, TrainOptions.Json));
    }

    /// <summary>Loads a model saved by <see cref="Save"/>.</summary>
    /// <exception cref="FileNotFoundException">model.json or model.bin is missing.</exception>
    public static (TrainedModel Model, ModelManifest Manifest) Load(string folder)
    {
        string json = Path.Combine(folder, "model.json"), bin = Path.Combine(folder, "model.bin");
        if (!File.Exists(json) || !File.Exists(bin))
        {
            throw new FileNotFoundException($"'{folder}' holds no trained model (expected model.json and model.bin; run 'sparcode train' first).", json);
        }
        var manifest = JsonSerializer.Deserialize<ModelManifest>(File.ReadAllText(json), TrainOptions.Json)
            ?? throw new InvalidDataException($"{json} is empty.");
        var model = Create(manifest.Options, manifest.ItemCount);
        model.Net.load(bin);
        model.Net.eval();
        return (model, manifest);
    }

    /// <summary>Releases native memory.</summary>
    public void Dispose() => Net.Dispose();
}

/// <summary>
/// A training window of one user's sequence: items <c>[Start, End)</c> are the tower's inputs, and every input
/// position <c>a ≥ FirstTarget</c> predicts item <c>a + 1</c>. Positions before <c>FirstTarget</c> are context only.
/// </summary>
/// <param name="User">Row of the dataset.</param>
/// <param name="Start">First input item.</param>
/// <param name="FirstTarget">First input position with a target.</param>
/// <param name="End">One past the last input item (its target is item End).</param>
internal readonly record struct Window(int User, int Start, int FirstTarget, int End);

/// <summary>Builds model inputs from sequences.</summary>
internal static class Batches
{
    /// <summary>
    /// Histories (the <paramref name="length"/> items before each end) as embedding rows [B, T], right-padded
    /// with 0, T = the longest of them.
    /// </summary>
    public static Tensor Histories(int[][] sequences, IReadOnlyList<(int User, int End)> rows, int length)
    {
        int width = 1;
        foreach (var (_, end) in rows)
        {
            width = Math.Max(width, Math.Min(length, end));
        }
        var data = new long[rows.Count * width];
        for (int r = 0; r < rows.Count; r++)
        {
            var (u, end) = rows[r];
            int start = Math.Max(0, end - length);
            for (int t = start; t < end; t++)
            {
                data[r * width + t - start] = sequences[u][t] + 1L;
            }
        }
        return tensor(data, [rows.Count, width]);
    }

    /// <summary>
    /// Every training window of the users' training parts, end-aligned so that each next-item prediction is in
    /// exactly one window: windows of up to <paramref name="length"/> targets, each with up to
    /// <paramref name="context"/> earlier items as context.
    /// </summary>
    public static List<Window> Windows(SequenceDataset data, int length, int context)
    {
        var windows = new List<Window>();
        for (int u = 0; u < data.UserCount; u++)
        {
            int targets = data.Train(u).Length - 1;
            for (int end = targets; end > 0; end -= length)
            {
                int first = Math.Max(0, end - length);
                windows.Add(new Window(u, Math.Max(0, first - context), first, end));
            }
        }
        return windows;
    }

    /// <summary>Inputs and targets [B, T] of windows (embedding rows, right-padded with 0; target 0 = none).</summary>
    public static (Tensor Inputs, Tensor Targets) Windowed(int[][] sequences, ReadOnlySpan<Window> windows)
    {
        int width = 1;
        foreach (var w in windows)
        {
            width = Math.Max(width, w.End - w.Start);
        }
        var inputs = new long[windows.Length * width];
        var targets = new long[windows.Length * width];
        for (int r = 0; r < windows.Length; r++)
        {
            var w = windows[r];
            var seq = sequences[w.User];
            for (int a = w.Start; a < w.End; a++)
            {
                inputs[r * width + a - w.Start] = seq[a] + 1L;
                if (a >= w.FirstTarget)
                {
                    targets[r * width + a - w.Start] = seq[a + 1] + 1L;
                }
            }
        }
        return (tensor(inputs, [windows.Length, width]), tensor(targets, [windows.Length, width]));
    }
}
