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

/// <summary>Which query tower encodes the history.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<TowerKind>))]
public enum TowerKind
{
    /// <summary>The spec's tower: masked mean of the last L item embeddings, then an MLP.</summary>
    Mean,

    /// <summary>
    /// A SASRec-style causal self-attention tower: item embedding plus a learned position embedding (position 0 =
    /// the oldest kept item), pre-LayerNorm blocks of multi-head attention and a ReLU feed-forward layer, a final
    /// LayerNorm; the last position's output is the user vector.
    /// </summary>
    Attention,
}

/// <summary>Which validation metric selects the checkpoint and drives early stopping.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<SelectionMetric>))]
public enum SelectionMetric
{
    /// <summary>NDCG@10.</summary>
    Ndcg10,

    /// <summary>HR@50.</summary>
    Hr50,
}

/// <summary>How negatives are sampled (shared by the whole batch).</summary>
[JsonConverter(typeof(JsonStringEnumConverter<NegativeSampling>))]
public enum NegativeSampling
{
    /// <summary>Uniform over the catalogue.</summary>
    Uniform,

    /// <summary>Proportional to training popularity (plus one).</summary>
    Popularity,

    /// <summary>Every item of the catalogue is a negative (full softmax); <see cref="TrainOptions.Negatives"/> is not used.</summary>
    Full,
}

/// <summary>
/// Every hyperparameter of training, with the reference defaults of the method (docs/method.md#notation) unless noted.
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

    /// <summary>
    /// History length <c>L</c> read by the query tower [20]: the most recent L items; older ones are dropped. The
    /// attention tower's position embedding has L rows.
    /// </summary>
    public int HistoryLength { get; init; } = 20;

    /// <summary>Query tower kind (ours: <see cref="TowerKind.Mean"/>, the spec's).</summary>
    public TowerKind Tower { get; init; } = TowerKind.Mean;

    /// <summary>Hidden width of the mean tower's MLP (d → w → w → w → d) [256].</summary>
    public int TowerWidth { get; init; } = 256;

    /// <summary>Attention tower: number of blocks (ours: 2, as SASRec).</summary>
    public int Blocks { get; init; } = 2;

    /// <summary>Attention tower: attention heads per block; must divide d (ours: 1, as SASRec).</summary>
    public int Heads { get; init; } = 1;

    /// <summary>Attention tower: feed-forward width (0: d, as SASRec).</summary>
    public int FeedForwardWidth { get; init; }

    /// <summary>Dropout in the query tower (mean tower: after each hidden layer; attention tower: on the input embeddings, the attention weights and each residual branch) [0.1].</summary>
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

    /// <summary>
    /// Also use the batch's other positives as negatives, with the logQ correction (ours, off): every negative's
    /// logit is lowered by the log of its expected count among the batch's negatives.
    /// </summary>
    public bool InBatchNegatives { get; init; }

    /// <summary>
    /// Two-tower: score with L2-normalised user and item vectors divided by <see cref="Temperature"/> (cosine
    /// similarity) instead of the raw dot product (ours, off). Serving uses the normalised item vectors.
    /// </summary>
    public bool Normalize { get; init; }

    /// <summary>Temperature of the normalised two-tower score (ours: 0.05, as the HSTU reference configs).</summary>
    public double Temperature { get; init; } = 0.05;

    /// <summary>
    /// SparCode: at most this many target positions per batch enter the pair loss, sampled uniformly (every
    /// position's tokens are still quantized and update the codebooks). 0: all. Ours: 256, which bounds the
    /// cost of f per batch (perf/results/2026-12-02-code-notes).
    /// </summary>
    public int PairPositions { get; init; } = 256;

    /// <summary>Negative sampling.</summary>
    public NegativeSampling Sampling { get; init; } = NegativeSampling.Uniform;

    /// <summary>
    /// Batch size in training windows (ours: 128, as SASRec). A window is up to L consecutive next-item predictions
    /// of one user, encoded once under the causal mask; every position with a target is one example.
    /// </summary>
    public int BatchSize { get; init; } = 128;

    /// <summary>AdamW learning rate (ours: 1e-3).</summary>
    public double LearningRate { get; init; } = 1e-3;

    /// <summary>AdamW decoupled weight decay (ours: 0, which is Adam).</summary>
    public double WeightDecay { get; init; }

    /// <summary>Validation metric that selects the checkpoint and drives early stopping (ours: NDCG@10).</summary>
    public SelectionMetric SelectOn { get; init; } = SelectionMetric.Ndcg10;

    /// <summary>Maximum epochs.</summary>
    public int Epochs { get; init; } = 20;

    /// <summary>Epochs without a better smoothed validation metric (<see cref="SelectOn"/>, mean of the last two epochs) before stopping.</summary>
    public int Patience { get; init; } = 3;

    /// <summary>Validate on at most this many users (0: all, the default), chosen by seed.</summary>
    public int ValidationUsers { get; init; }

    /// <summary>Seed for weights, shuffling and sampling.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>
    /// Torch intra-op threads (0: all cores). Ours: 1, because on a shared machine OpenMP threads spin-wait
    /// under oversubscription and several threads train far slower than one (perf/results/2026-12-02-code-notes).
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
        if (Tower == TowerKind.Attention && (Blocks < 1 || Heads < 1 || EmbeddingDim % Heads != 0 || FeedForwardWidth < 0))
        {
            return $"attention tower: blocks {Blocks} and heads {Heads} must be positive, heads must divide d = {EmbeddingDim}, feed-forward width {FeedForwardWidth} must be 0 (d) or positive.";
        }
        if (Temperature <= 0 || WeightDecay < 0 || PairPositions < 0) return "temperature must be positive; weight decay and pair positions must not be negative.";
        if (Negatives < 1 || BatchSize < 1 || Epochs < 1 || Patience < 1) return "negatives, batch size, epochs and patience must be positive.";
        if (LearningRate <= 0) return "the learning rate must be positive.";
        if (Sampling == NegativeSampling.Full && InBatchNegatives) return "full softmax already scores every item: drop the in-batch negatives.";
        return null;
    }

    /// <summary>The attention tower's feed-forward width (<see cref="FeedForwardWidth"/>, or d when 0).</summary>
    [JsonIgnore]
    public int FeedForward => FeedForwardWidth > 0 ? FeedForwardWidth : EmbeddingDim;

    /// <summary>Number of codes <c>K_c^M</c>.</summary>
    [JsonIgnore]
    public int CodeCount => (int)Math.Pow(CodebookSize, Subspaces);

    /// <summary>JSON options used for every file this project writes.</summary>
    [JsonIgnore]
    internal static JsonSerializerOptions Json { get; } = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
}
