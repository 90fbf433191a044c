using System.ComponentModel;
using SparCode.Data;
using SparCode.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace SparCode.Cli.Commands;

/// <summary>Where training data comes from: a file, or <c>synthetic</c> for the embedded cross-feature generator (<see cref="DataSource"/>).</summary>
internal class DataSettings : CommandSettings
{
    /// <summary>Data file, or "synthetic".</summary>
    [CommandOption("--data <PATH>")]
    [Description("Interaction file (MovieLens u.data / ratings.dat, 'user item item ...' sequences, or CSV with user,item,time header), or 'synthetic[[:USERS:ITEMS]]' for the embedded cross-feature generator (the demo's data).")]
    public string? Data { get; init; }

    /// <summary>Format override.</summary>
    [CommandOption("--format <FORMAT>")]
    [Description("auto (default), movielenstab, movielensdat, sequence, csv.")]
    [DefaultValue(InteractionFormat.Auto)]
    public InteractionFormat Format { get; init; }
}

/// <summary>Options of <c>train</c>: data, model kind, output folder and every hyperparameter (spec defaults).</summary>
internal sealed class TrainingSettings : DataSettings
{
    [CommandOption("--model <KIND>")]
    [Description("sparcode (default) or two-tower.")]
    [DefaultValue("sparcode")]
    public string Model { get; init; } = "sparcode";

    [CommandOption("--out <DIR>")]
    [Description("Folder for model.json, model.bin and train.json.")]
    public string? Out { get; init; }

    [CommandOption("--dim <N>")][Description("Item embedding size d.")][DefaultValue(64)] public int Dim { get; init; }
    [CommandOption("--history <N>")][Description("History length L read by the query tower.")][DefaultValue(20)] public int History { get; init; }
    [CommandOption("--tower <KIND>")][Description("Query tower: mean (the spec's masked mean + MLP) or attention (SASRec-style causal self-attention).")][DefaultValue(TowerKind.Mean)] public TowerKind Tower { get; init; }
    [CommandOption("--tower-width <N>")][Description("Hidden width of the mean tower's MLP.")][DefaultValue(256)] public int TowerWidth { get; init; }
    [CommandOption("--blocks <N>")][Description("Attention tower: blocks.")][DefaultValue(2)] public int Blocks { get; init; }
    [CommandOption("--heads <N>")][Description("Attention tower: heads per block (must divide --dim).")][DefaultValue(1)] public int Heads { get; init; }
    [CommandOption("--ffn-width <N>")][Description("Attention tower: feed-forward width (0: --dim).")][DefaultValue(0)] public int FeedForwardWidth { get; init; }
    [CommandOption("--dropout <P>")][Description("Query-tower dropout.")][DefaultValue(0.1)] public double Dropout { get; init; }
    [CommandOption("--user-tokens <N>")][Description("User tokens K_u.")][DefaultValue(4)] public int UserTokens { get; init; }
    [CommandOption("--token-dim <N>")][Description("Token size D.")][DefaultValue(64)] public int TokenDim { get; init; }
    [CommandOption("--subspaces <N>")][Description("Sub-codebooks M.")][DefaultValue(2)] public int Subspaces { get; init; }
    [CommandOption("--codebook-size <N>")][Description("Codewords per sub-codebook K_c.")][DefaultValue(256)] public int CodebookSize { get; init; }
    [CommandOption("--item-tokens <N>")][Description("Item tokens K_i.")][DefaultValue(4)] public int ItemTokens { get; init; }
    [CommandOption("--mlp-width <N>")][Description("Hidden width of the interaction MLP f.")][DefaultValue(256)] public int MlpWidth { get; init; }
    [CommandOption("--ema-decay <X>")][Description("Codebook EMA decay.")][DefaultValue(0.99)] public double EmaDecay { get; init; }
    [CommandOption("--commitment <X>")][Description("Commitment weight β.")][DefaultValue(0.25)] public double Commitment { get; init; }
    [CommandOption("--l2 <X>")][Description("L2 weight on the embeddings used.")][DefaultValue(1e-6)] public double L2 { get; init; }
    [CommandOption("--negatives <N>")][Description("Sampled negatives per batch (shared).")][DefaultValue(50)] public int Negatives { get; init; }
    [CommandOption("--in-batch")][Description("Also use the batch's other targets as negatives, with the logQ correction.")] public bool InBatch { get; init; }
    [CommandOption("--normalize")][Description("Two-tower: cosine of L2-normalised vectors divided by --temperature instead of the raw dot product.")] public bool Normalize { get; init; }
    [CommandOption("--temperature <T>")][Description("Temperature of the normalised two-tower score.")][DefaultValue(0.05)] public double Temperature { get; init; }
    [CommandOption("--pair-positions <N>")][Description("SparCode: target positions per batch in the pair loss, sampled (0: all).")][DefaultValue(256)] public int PairPositions { get; init; }
    [CommandOption("--weight-decay <X>")][Description("AdamW decoupled weight decay.")][DefaultValue(0.0)] public double WeightDecay { get; init; }
    [CommandOption("--select-on <METRIC>")][Description("Validation metric that selects the checkpoint: ndcg10 or hr50 (mean of the last two epochs).")][DefaultValue(SelectionMetric.Ndcg10)] public SelectionMetric SelectOn { get; init; }
    [CommandOption("--sampling <KIND>")][Description("uniform, popularity, or full (every item is a negative; --negatives is not used).")][DefaultValue(NegativeSampling.Uniform)] public NegativeSampling Sampling { get; init; }
    [CommandOption("--batch <N>")][Description("Batch size in training windows (up to L next-item predictions of one user each).")][DefaultValue(128)] public int Batch { get; init; }
    [CommandOption("--lr <X>")][Description("AdamW learning rate.")][DefaultValue(1e-3)] public double LearningRate { get; init; }
    [CommandOption("--epochs <N>")][Description("Maximum epochs.")][DefaultValue(20)] public int Epochs { get; init; }
    [CommandOption("--patience <N>")][Description("Early stopping: epochs without a better smoothed validation metric (--select-on).")][DefaultValue(3)] public int Patience { get; init; }
    [CommandOption("--validation-users <N>")][Description("Validate on at most N users (0: all).")][DefaultValue(0)] public int ValidationUsers { get; init; }
    [CommandOption("--seed <N>")][Description("Seed.")][DefaultValue(1)] public int Seed { get; init; }
    [CommandOption("--threads <N>")][Description("Torch threads (0: all cores; 1 is fastest on a loaded 2-core machine).")][DefaultValue(1)] public int Threads { get; init; }
    [CommandOption("--quantizer-warmup <N>")][Description("Epochs with unquantized tokens while the codebooks follow by EMA.")][DefaultValue(1)] public int QuantizerWarmup { get; init; }
    [CommandOption("--dot-path")][Description("Add ⟨ẑ, v⁽¹⁾⟩ to the interaction MLP f (ours; off = the spec's plain MLP). CPU export only.")] public bool DotPath { get; init; }

    /// <summary>The model kind named by <see cref="Model"/>.</summary>
    public ModelKind Kind => Model.Replace("-", "", StringComparison.Ordinal).ToLowerInvariant() switch
    {
        "sparcode" => ModelKind.SparCode,
        "twotower" => ModelKind.TwoTower,
        _ => throw new ArgumentException($"--model is '{Model}'; expected sparcode or two-tower."),
    };

    /// <summary>The options these settings describe.</summary>
    public TrainOptions ToOptions() => new()
    {
        Model = Kind, EmbeddingDim = Dim, HistoryLength = History, Tower = Tower, TowerWidth = TowerWidth, Blocks = Blocks, Heads = Heads,
        FeedForwardWidth = FeedForwardWidth, Dropout = Dropout, UserTokens = UserTokens, InBatchNegatives = InBatch, Normalize = Normalize,
        Temperature = Temperature, PairPositions = PairPositions, WeightDecay = WeightDecay, SelectOn = SelectOn,
        TokenDim = TokenDim, Subspaces = Subspaces, CodebookSize = CodebookSize, ItemTokens = ItemTokens, MlpWidth = MlpWidth,
        EmaDecay = EmaDecay, Commitment = Commitment, L2 = L2, Negatives = Negatives, Sampling = Sampling, BatchSize = Batch,
        LearningRate = LearningRate, Epochs = Epochs, Patience = Patience, ValidationUsers = ValidationUsers, Seed = Seed, Threads = Threads, QuantizerWarmupEpochs = QuantizerWarmup, DotPath = DotPath,
    };

    /// <inheritdoc/>
    public override ValidationResult Validate()
    {
        if (string.IsNullOrWhiteSpace(Data)) return ValidationResult.Error("--data is required (a file, or 'synthetic').");
        if (string.IsNullOrWhiteSpace(Out)) return ValidationResult.Error("--out is required.");
        try
        {
            return ToOptions().Problem() is { } problem ? ValidationResult.Error(problem) : ValidationResult.Success();
        }
        catch (ArgumentException e)
        {
            return ValidationResult.Error(e.Message);
        }
    }
}
