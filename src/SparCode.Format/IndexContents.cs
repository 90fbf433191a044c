namespace SparCode.Format;

/// <summary>One dense layer: <c>y = W·x + b</c> with <c>W</c> row-major <c>Outputs × Inputs</c>.</summary>
/// <param name="Outputs">Output size.</param>
/// <param name="Inputs">Input size.</param>
/// <param name="Weights">Row-major weights, <c>Outputs × Inputs</c>.</param>
/// <param name="Bias">Bias, <c>Outputs</c>.</param>
public sealed record DenseLayer(int Outputs, int Inputs, float[] Weights, float[] Bias);

/// <summary>
/// The optional refine sections: every item's token and the interaction MLP <c>f([z ; v])</c>, so a host can
/// re-score candidates with unquantized user tokens.
/// </summary>
/// <param name="ItemTokenDim">Size of one item token v_i, <c>K_i·D</c>.</param>
/// <param name="ItemTokens">Row-major <c>n_items × ItemTokenDim</c>; row i is internal item i.</param>
/// <param name="Interaction">
/// The MLP's layers, first to last (at least 2): layer 0 takes <c>D + ItemTokenDim</c> inputs ([z ; v]), ReLU after
/// every layer but the last, which has exactly one output.
/// </param>
/// <param name="DotPath">f also adds <c>⟨z, v[0..D)⟩</c> (training's dot path); needs ItemTokenDim ≥ D. Stored as InteractionFlags bit 0.</param>
public sealed record RefineModel(int ItemTokenDim, float[] ItemTokens, IReadOnlyList<DenseLayer> Interaction, bool DotPath = false);

/// <summary>One pre-norm transformer block of the attention tower (format version 2).</summary>
/// <remarks>
/// <c>h = LN(x; Norm1)</c>, <c>[q; k; v] = InProjection(h)</c>, causal multi-head attention <c>a</c>,
/// <c>x += OutProjection(a)</c>, <c>x += FeedForward2(ReLU(FeedForward1(LN(x; Norm2))))</c>. All vectors are
/// <c>d</c> long except as noted.
/// </remarks>
/// <param name="Norm1Gamma">Layer-norm gain before attention.</param>
/// <param name="Norm1Beta">Layer-norm shift before attention.</param>
/// <param name="InProjection"><c>3d × d</c>: rows 0..d−1 give q, d..2d−1 k, 2d..3d−1 v.</param>
/// <param name="OutProjection"><c>d × d</c>.</param>
/// <param name="Norm2Gamma">Layer-norm gain before the feed-forward.</param>
/// <param name="Norm2Beta">Layer-norm shift before the feed-forward.</param>
/// <param name="FeedForward1"><c>F × d</c>, followed by ReLU.</param>
/// <param name="FeedForward2"><c>d × F</c>.</param>
public sealed record AttentionBlock(float[] Norm1Gamma, float[] Norm1Beta, DenseLayer InProjection, DenseLayer OutProjection,
    float[] Norm2Gamma, float[] Norm2Beta, DenseLayer FeedForward1, DenseLayer FeedForward2);

/// <summary>
/// A SASRec-style causal self-attention query tower (format version 2), used instead of the MLP tower: with it
/// <see cref="IndexContents.Tower"/> is empty and <see cref="ModelDimensions.TowerLayers"/> is 0.
/// </summary>
/// <remarks>
/// For the <c>n = min(history, L)</c> most recent items, oldest first: <c>x[t] = E[item_t + 1] + P[t]</c>, the
/// blocks in order, then <c>user = LN(x[n − 1]; FinalNorm)</c> feeds the token heads (<c>d</c> inputs).
/// Attention heads split <c>d</c> into <c>Heads</c> slices of <c>dh = d / Heads</c>; position t attends to 0..t with
/// <c>softmax(q·k / sqrt(dh))</c>. Every layer norm uses the biased variance and <see cref="IndexLayout.LayerNormEpsilon"/>.
/// </remarks>
/// <param name="Heads">Attention heads <c>H</c>; <c>d % H == 0</c>.</param>
/// <param name="PositionEmbedding">Row-major <c>L × d</c>.</param>
/// <param name="Blocks">The blocks, first to last (1..<see cref="IndexLayout.MaxAttentionBlocks"/>), all with the same feed-forward width <c>F</c>.</param>
/// <param name="FinalNormGamma">Final layer-norm gain, <c>d</c>.</param>
/// <param name="FinalNormBeta">Final layer-norm shift, <c>d</c>.</param>
public sealed record AttentionTower(int Heads, float[] PositionEmbedding, IReadOnlyList<AttentionBlock> Blocks, float[] FinalNormGamma, float[] FinalNormBeta)
{
    /// <summary>Feed-forward width <c>F</c> (the first block's; the format requires all blocks to agree).</summary>
    public int FeedForwardWidth => Blocks.Count == 0 ? 0 : Blocks[0].FeedForward1.Outputs;
}

/// <summary>Everything an index file holds, in memory, ready for <see cref="IndexWriter.Write"/>. A record, so <c>contents with { … }</c> copies it with changes (arrays are shared, not cloned).</summary>
/// <remarks>
/// Internal item <c>i</c> (0-based) is embedding row <c>i + 1</c> and has external id <c>ItemIds[i]</c>.
/// Code <c>c = Σ_m j_m · K_c^m</c>; its posting list is
/// <c>PostingItems[PostingOffsets[c] .. PostingOffsets[c + 1])</c> with matching scores.
/// </remarks>
public sealed record IndexContents
{
    /// <summary>Model sizes.</summary>
    public required ModelDimensions Dimensions { get; init; }

    /// <summary>Item embedding table, <c>(n_items + 1) × d</c>, row 0 padding.</summary>
    public required float[] ItemEmbedding { get; init; }

    /// <summary>Query-tower MLP layers, first to last; empty with an <see cref="Attention"/> tower.</summary>
    public required IReadOnlyList<DenseLayer> Tower { get; init; }

    /// <summary>The K_u token heads stacked into one layer with <c>K_u·D</c> outputs.</summary>
    public required DenseLayer Heads { get; init; }

    /// <summary>The M codebooks stacked, <c>(M·K_c) × (D/M)</c>.</summary>
    public required float[] Codebooks { get; init; }

    /// <summary>CSR offsets, <c>codes + 1</c> entries, starting at 0 and non-decreasing.</summary>
    public required long[] PostingOffsets { get; init; }

    /// <summary>Posting item ids, strictly ascending within each list, each below n_items.</summary>
    public required int[] PostingItems { get; init; }

    /// <summary>Posting scores, finite and non-negative.</summary>
    public required float[] PostingScores { get; init; }

    /// <summary>External id of each internal item, distinct.</summary>
    public required long[] ItemIds { get; init; }

    /// <summary>Optional fill order: distinct internal ids, best first. Null fills by ascending internal id.</summary>
    public int[]? FallbackOrder { get; init; }

    /// <summary>Optional: for every code, the code whose list serves it (each value a code that maps to itself). Null: identity.</summary>
    public int[]? CodeRemap { get; init; }

    /// <summary>
    /// Optional attention query tower (format version 2). When set, <see cref="Tower"/> must be empty,
    /// <see cref="ModelDimensions.TowerLayers"/> 0 and the heads must read <c>d</c> inputs. Null: the MLP tower.
    /// </summary>
    public AttentionTower? Attention { get; init; }

    /// <summary>Optional refine sections (item tokens and the interaction MLP). Null: none are written.</summary>
    public RefineModel? Refine { get; init; }

    /// <summary>A JSON object describing how the index was made.</summary>
    public string MetadataJson { get; init; } = "{}";
}
