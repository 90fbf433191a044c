using System.Text.Json;
using System.Text.Json.Serialization;

namespace SparCode.Training;

/// <summary>Which model to train.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ModelKind>))]
public enum ModelKind
{
    /// <summary>SparCode: product-quantized user tokens and an all-to-all MLP.</summary>
    SparCode,

    /// <summary>The two-tower baseline: the same query tower and item embedding, scored by a dot product.</summary>
    TwoTower,
}

/// <summary>How negatives are sampled (shared by the whole batch).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<NegativeSampling>))]
public enum NegativeSampling
{
    /// <summary>Uniform over the catalogue.</summary>
    Uniform,

    /// <summary>Proportional to training popularity (plus one).</summary>
    Popularity,
}

/// <summary>
/// Every hyperparameter of training, with the spec's defaults (docs/sparcode-method.md) unless noted.
/// Saved as <c>model.json</c> next to the weights so that export and evaluation rebuild the same model.
/// </summary>
public sealed record TrainOptions
{
    /// <summary>Model kind.</summary>
    public ModelKind Model { get; init; } = ModelKind.SparCode;

    /// <summary>Item embedding size <c>d</c> [64].</summary>
    public int EmbeddingDim { get; init; } = 64;

    /// <summary>Standard deviation of the item embedding's normal initialization (ours).</summary>
    public double EmbeddingInitStd { get; init; } = 0.05;

    /// <summary>History length <c>L</c> read by the query tower [20].</summary>
    public int HistoryLength { get; init; } = 20;

    /// <summary>Hidden width of the query-tower MLP (d → w → w → w → d) [256].</summary>
    public int TowerWidth { get; init; } = 256;

    /// <summary>Dropout in the query tower [0.1].</summary>
    public double Dropout { get; init; } = 0.1;

    /// <summary>User tokens <c>K_u</c> [4].</summary>
    public int UserTokens { get; init; } = 4;

    /// <summary>Token size <c>D</c> [64].</summary>
    public int TokenDim { get; init; } = 64;

    /// <summary>Sub-codebooks <c>M</c> [2].</summary>
    public int Subspaces { get; init; } = 2;

    /// <summary>Codewords per sub-codebook <c>K_c</c> [256].</summary>
    public int CodebookSize { get; init; } = 256;

    /// <summary>Item tokens <c>K_i</c> [4].</summary>
    public int ItemTokens { get; init; } = 4;

    /// <summary>Hidden width of the interaction MLP f [256].</summary>
    public int MlpWidth { get; init; } = 256;

    /// <summary>
    /// Adds a dot-product path to f (ours, off by default): <c>f(ẑ, v) = MLP([ẑ ; v]) + ⟨ẑ, v⁽¹⁾⟩</c>, with
    /// v⁽¹⁾ the first item token. The plain MLP has to learn a user–item match from an additive first
    /// layer, which it does slowly on ID-only data; the dot path gives it the two-tower's inductive bias
    /// per token while the MLP and the sum over K_u tokens add what a single dot product cannot express.
    /// Export and serving are unchanged (the index stores f − τ_c whatever f is).
    /// </summary>
    public bool DotPath { get; init; }

    /// <summary>EMA decay of the codebooks [0.99].</summary>
    public double EmaDecay { get; init; } = 0.99;

    /// <summary>EMA Laplace epsilon [1e-5].</summary>
    public double EmaEpsilon { get; init; } = 1e-5;

    /// <summary>Epochs that train with unquantized tokens while the codebooks follow them by EMA (ours: 1).</summary>
    public int QuantizerWarmupEpochs { get; init; } = 1;

    /// <summary>Commitment weight β [0.25].</summary>
    public double Commitment { get; init; } = 0.25;

    /// <summary>L2 weight on the embeddings used in a batch (ours: 1e-6, per row, averaged over the batch).</summary>
    public double L2 { get; init; } = 1e-6;

    /// <summary>Sampled negatives per batch, shared by all rows (ours: 50, as the prototype).</summary>
    public int Negatives { get; init; } = 50;

    /// <summary>Negative sampling.</summary>
    public NegativeSampling Sampling { get; init; } = NegativeSampling.Uniform;

    /// <summary>Batch size (ours: 256).</summary>
    public int BatchSize { get; init; } = 256;

    /// <summary>Adam learning rate (ours: 1e-3).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>Maximum epochs.</summary>
    public int Epochs { get; init; } = 20;

    /// <summary>Epochs without a better validation HR@50 before stopping.</summary>
    public int Patience { get; init; } = 3;

    /// <summary>Validate on at most this many users (0: all), chosen by seed.</summary>
    public int ValidationUsers { get; init; } = 5000;

    /// <summary>Seed for weights, shuffling and sampling.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>
    /// Torch intra-op threads (0: all cores). Ours: 1, because on a loaded 2-core machine 2 threads ran
    /// 0.5 batch/s against 7.3 batch/s for 1 thread (OpenMP spin-waiting under oversubscription).
    /// </summary>
    public int Threads { get; init; } = 1;

    /// <summary>Checks ranges and divisibility.</summary>
    /// <returns>Null if valid, else the first problem.</returns>
    public string? Problem()
    {
        if (EmbeddingDim < 1 || HistoryLength < 1 || TowerWidth < 1 || UserTokens < 1 || TokenDim < 1 || Subspaces < 1 || CodebookSize < 2 || ItemTokens < 1 || MlpWidth < 1)
        {
            return "sizes must be positive (and the codebook size at least 2).";
        }
        if (TokenDim % Subspaces != 0) return $"token dim {TokenDim} is not a multiple of subspaces {Subspaces}.";
        if (Math.Pow(CodebookSize, Subspaces) > 1 << 24) return $"{CodebookSize}^{Subspaces} codes is more than 2^24.";
        if (Dropout is < 0 or >= 1) return $"dropout {Dropout} must be in [0, 1).";
        if (EmaDecay is <= 0 or >= 1) return $"EMA decay {EmaDecay} must be in (0, 1).";
        if (Negatives < 1 || BatchSize < 1 || Epochs < 1 || Patience < 1) return "negatives, batch size, epochs and patience must be positive.";
        if (LearningRate <= 0) return "the learning rate must be positive.";
        if (Model == ModelKind.SparCode && BatchSize * UserTokens < CodebookSize) return $"batch × K_u = {BatchSize * UserTokens} tokens cannot seed {CodebookSize} codewords; raise the batch size.";
        return null;
    }

    /// <summary>Number of codes <c>K_c^M</c>.</summary>
    [JsonIgnore]
    public int CodeCount => (int)Math.Pow(CodebookSize, Subspaces);

    /// <summary>JSON options used for every file this project writes.</summary>
    [JsonIgnore]
    internal static JsonSerializerOptions Json { get; } = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}
