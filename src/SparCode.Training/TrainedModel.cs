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
public sealed record ModelManifest(TrainOptions Options, int ItemCount, string Data, InteractionFormat Format, int BestEpoch, double BestValidationHr50);

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

/// <summary>Builds model inputs from sequences.</summary>
internal static class Batches
{
    /// <summary>Histories (the <paramref name="length"/> items before each end) as embedding rows [B, L], left-padded with 0.</summary>
    public static Tensor Histories(int[][] sequences, IReadOnlyList<(int User, int End)> rows, int length)
    {
        var data = new long[rows.Count * length];
        for (int r = 0; r < rows.Count; r++)
        {
            var (u, end) = rows[r];
            int start = Math.Max(0, end - length);
            int n = end - start;
            for (int t = 0; t < n; t++)
            {
                data[r * length + length - n + t] = sequences[u][start + t] + 1L;
            }
        }
        return tensor(data, [rows.Count, length]);
    }
}
