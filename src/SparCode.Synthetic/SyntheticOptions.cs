using SparCode.Format;

namespace SparCode.Synthetic;

/// <summary>Sizes and shape of a synthetic index. Defaults give a small index that builds in about a second.</summary>
public sealed record SyntheticOptions
{
    /// <summary>Catalogue size (up to about 5M is practical).</summary>
    public int ItemCount { get; init; } = 100_000;

    /// <summary>Item embedding size d.</summary>
    public int EmbeddingDim { get; init; } = 64;

    /// <summary>History items the tower reads, L.</summary>
    public int HistoryLength { get; init; } = 20;

    /// <summary>User tokens per query, K_u.</summary>
    public int UserTokens { get; init; } = 4;

    /// <summary>Sub-codebooks, M.</summary>
    public int Subspaces { get; init; } = 2;

    /// <summary>Codewords per sub-codebook, K_c (codes = K_c^M).</summary>
    public int CodebookSize { get; init; } = 64;

    /// <summary>Token size D (a multiple of M).</summary>
    public int TokenDim { get; init; } = 64;

    /// <summary>Hidden widths of the tower MLP; a last layer back to d is added.</summary>
    public IReadOnlyList<int> HiddenWidths { get; init; } = [256, 256, 256];

    /// <summary>
    /// Blocks of a causal self-attention query tower (format version 2); 0 (the default) builds the mean + MLP
    /// tower of <see cref="HiddenWidths"/> instead, which is then ignored otherwise.
    /// </summary>
    public int AttentionBlocks { get; init; }

    /// <summary>Attention heads H of the attention tower (a divisor of d).</summary>
    public int AttentionHeads { get; init; } = 2;

    /// <summary>Feed-forward width F of the attention tower's blocks.</summary>
    public int FeedForwardWidth { get; init; } = 64;

    /// <summary>Mean posting-list length; lengths are log-normal around it (see <see cref="LengthSpread"/>).</summary>
    public int MeanPostingsPerList { get; init; } = 1_000;

    /// <summary>σ of the log-normal list length: 0 gives equal lengths, 1 a long tail.</summary>
    public double LengthSpread { get; init; } = 0.8;

    /// <summary>Popularity skew of posting items: rank = n·u^Skew, 1 is uniform, larger favours popular items.</summary>
    public double ItemSkew { get; init; } = 2.0;

    /// <summary>Seed; equal options and seed give identical indexes.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Store the popularity order as the fallback fill order.</summary>
    public bool WithFallbackOrder { get; init; } = true;

    /// <summary>The model sizes these options describe (the MLP tower has the hidden layers plus one back to d; the attention tower 0 MLP layers).</summary>
    public ModelDimensions Dimensions() =>
        new(ItemCount, EmbeddingDim, HistoryLength, UserTokens, Subspaces, CodebookSize, TokenDim, AttentionBlocks > 0 ? 0 : HiddenWidths.Count + 1);

    /// <summary>Returns null if the options are usable, else what is wrong.</summary>
    public string? Problem()
    {
        if (ItemCount < 1) return $"ItemCount is {ItemCount}; expected ≥ 1.";
        if (MeanPostingsPerList < 0) return $"MeanPostingsPerList is {MeanPostingsPerList}; expected ≥ 0.";
        if (LengthSpread < 0 || !double.IsFinite(LengthSpread)) return $"LengthSpread is {LengthSpread}; expected ≥ 0.";
        if (ItemSkew < 1 || !double.IsFinite(ItemSkew)) return $"ItemSkew is {ItemSkew}; expected ≥ 1.";
        if (HiddenWidths.Any(w => w < 1)) return "HiddenWidths must all be ≥ 1.";
        if (AttentionBlocks < 0 || AttentionBlocks > IndexLayout.MaxAttentionBlocks) return $"AttentionBlocks is {AttentionBlocks}; expected 0..{IndexLayout.MaxAttentionBlocks}.";
        if (AttentionBlocks > 0 && (AttentionHeads < 1 || EmbeddingDim % AttentionHeads != 0)) return $"AttentionHeads is {AttentionHeads}; expected a divisor of EmbeddingDim ({EmbeddingDim}).";
        if (AttentionBlocks > 0 && (FeedForwardWidth < 1 || FeedForwardWidth > IndexLayout.MaxFeedForwardWidth)) return $"FeedForwardWidth is {FeedForwardWidth}; expected 1..{IndexLayout.MaxFeedForwardWidth}.";
        return null;
    }
}
