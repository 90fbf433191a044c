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

    /// <summary>Query-tower MLP layers, first to last.</summary>
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

    /// <summary>Optional refine sections (item tokens and the interaction MLP). Null: none are written.</summary>
    public RefineModel? Refine { get; init; }

    /// <summary>A JSON object describing how the index was made.</summary>
    public string MetadataJson { get; init; } = "{}";
}
