namespace SparCode.Format;

/// <summary>
/// Constants of the index file layout. The byte layout is documented in <c>docs/format.md</c>.
/// </summary>
/// <remarks>
/// <code>
/// offset 0                     64                     64 + 40·S                          L − 24      L
///        ┌─────────────────────┬──────────────────────┬───────────────────────────────────┬──────────┐
///        │ header              │ section table        │ sections, each 64-byte aligned    │ footer   │
///        │ magic, version,     │ S × {kind, index,    │ (zero padding between them)       │ magic,   │
///        │ header size, L, S   │  type, rows, cols,   │                                   │ L, hash  │
///        │                     │  offset, byteLength} │                                   │          │
///        └─────────────────────┴──────────────────────┴───────────────────────────────────┴──────────┘
/// </code>
/// All integers are little-endian. The footer's hash is XxHash3-64 over bytes [0, L − 8).
/// </remarks>
public static class IndexLayout
{
    /// <summary>
    /// The format version this library writes. Version 2 added the attention query tower (section kinds
    /// 20–29); a version-1 file (MLP tower only) reads and serves exactly as before.
    /// </summary>
    public const int CurrentVersion = 2;

    /// <summary>The oldest format version this library still reads.</summary>
    public const int OldestReadableVersion = 1;

    /// <summary>Size of the fixed header in bytes.</summary>
    public const int HeaderSize = 64;

    /// <summary>Size of one section-table entry in bytes.</summary>
    public const int SectionEntrySize = 40;

    /// <summary>Size of the footer in bytes.</summary>
    public const int FooterSize = 24;

    /// <summary>Every section starts at a multiple of this many bytes.</summary>
    public const int SectionAlignment = 64;

    /// <summary>Largest section count a reader accepts before it trusts the table.</summary>
    public const int MaxSections = 4096;

    /// <summary>Bit 0 of the <see cref="SectionKind.InteractionFlags"/> section: the interaction MLP has the dot path.</summary>
    public const int InteractionDotPathFlag = 1;

    /// <summary>Most interaction-MLP layers (refine sections) a file may hold.</summary>
    public const int MaxInteractionLayers = 64;

    /// <summary>Most transformer blocks (<c>N</c>) an attention tower may have.</summary>
    public const int MaxAttentionBlocks = 64;

    /// <summary>Widest feed-forward layer (<c>F</c>) an attention block may have.</summary>
    public const int MaxFeedForwardWidth = 1 << 16;

    /// <summary>
    /// The ε of every layer norm in the attention tower: <c>y = (x − μ) / sqrt(σ² + ε) · γ + β</c> with the
    /// biased variance (PyTorch's <c>nn.LayerNorm</c> default, which the trainer exports).
    /// </summary>
    public const float LayerNormEpsilon = 1e-5f;

    /// <summary>Largest code count (<c>K_c^M</c>) the format accepts.</summary>
    public const int MaxCodes = 1 << 24;

    /// <summary>The 8 bytes a file starts with.</summary>
    public static ReadOnlySpan<byte> HeaderMagic => "SPARCODE"u8;

    /// <summary>The 8 bytes the footer starts with.</summary>
    public static ReadOnlySpan<byte> FooterMagic => "SPCD-END"u8;

    /// <summary>Rounds <paramref name="offset"/> up to <see cref="SectionAlignment"/>.</summary>
    public static long Align(long offset) => (offset + SectionAlignment - 1) & ~(long)(SectionAlignment - 1);

    /// <summary>
    /// The refine sections' shape rule, one check for the writer and the reader: item tokens of 1..65536 floats,
    /// 2..<see cref="MaxInteractionLayers"/> interaction layers chained from <c>D + K_i·D</c> inputs down to one
    /// output, and with the dot path item tokens of at least D floats.
    /// </summary>
    /// <param name="tokenDim">D.</param>
    /// <param name="itemTokenDim">Size of an item token, K_i·D.</param>
    /// <param name="layers">Each layer's (outputs, inputs), first to last.</param>
    /// <param name="dotPath">Whether f adds the dot path.</param>
    /// <returns>Null if the shapes are consistent, else what is wrong.</returns>
    internal static string? RefineShapeProblem(int tokenDim, long itemTokenDim, IReadOnlyList<(long Outputs, long Inputs)> layers, bool dotPath)
    {
        if (itemTokenDim is < 1 or > 1 << 16)
        {
            return $"the item token size is {itemTokenDim}; expected 1..65536.";
        }
        if (layers.Count < 2 || layers.Count > MaxInteractionLayers)
        {
            return $"the interaction MLP has {layers.Count} layers; expected 2..{MaxInteractionLayers}.";
        }
        long inputs = tokenDim + itemTokenDim;
        for (int l = 0; l < layers.Count; l++)
        {
            if (layers[l].Inputs != inputs || layers[l].Outputs < 1)
            {
                return $"interaction layer {l} is {layers[l].Outputs} × {layers[l].Inputs}; expected at least one output and {inputs} inputs.";
            }
            inputs = layers[l].Outputs;
        }
        if (inputs != 1)
        {
            return $"the last interaction layer has {inputs} outputs; expected 1 (the score f).";
        }
        return dotPath && itemTokenDim < tokenDim ? $"the dot path needs item tokens of at least D = {tokenDim} floats; they have {itemTokenDim}." : null;
    }
}

/// <summary>What a section holds. Readers skip kinds they do not know, so later versions can add sections.</summary>
public enum SectionKind : ushort
{
    /// <summary>UTF-8 JSON object: training config, dataset, metrics, creation time.</summary>
    Metadata = 1,

    /// <summary>The model sizes, <see cref="ModelDimensions"/>, as int64 values.</summary>
    Dimensions = 2,

    /// <summary>Item embedding table, <c>(n_items + 1) × d</c> float32; row 0 is padding.</summary>
    ItemEmbedding = 3,

    /// <summary>Weights of query-tower MLP layer <c>index</c>, <c>out × in</c> float32.</summary>
    TowerWeight = 4,

    /// <summary>Bias of query-tower MLP layer <c>index</c>, <c>out × 1</c> float32.</summary>
    TowerBias = 5,

    /// <summary>The K_u token heads stacked, <c>(K_u·D) × tower_out</c> float32.</summary>
    HeadWeight = 6,

    /// <summary>The K_u token head biases stacked, <c>(K_u·D) × 1</c> float32.</summary>
    HeadBias = 7,

    /// <summary>The M codebooks stacked, <c>(M·K_c) × (D/M)</c> float32.</summary>
    Codebooks = 8,

    /// <summary>CSR offsets into the posting arrays, <c>codes + 1</c> int64.</summary>
    PostingOffsets = 9,

    /// <summary>Posting item ids (internal, ascending within each list), int32.</summary>
    PostingItems = 10,

    /// <summary>Posting scores (<c>f − τ_c</c>, positive), float32.</summary>
    PostingScores = 11,

    /// <summary>Each list's largest score (0 for an empty list), <c>codes</c> float32.</summary>
    ListMaxScores = 12,

    /// <summary>External item id of each internal item, <c>n_items</c> int64, distinct.</summary>
    ItemIds = 13,

    /// <summary>Optional: internal item ids in the order used to fill results past the scored items (e.g. most popular first).</summary>
    FallbackOrder = 14,

    /// <summary>
    /// Optional: for every code, the code whose posting list serves it, <c>K_c^M</c> int32. An exporter
    /// that skips codes no training token used maps each of them to its nearest used code, so a query
    /// that lands on one still gets an answer. Absent means every code serves itself.
    /// </summary>
    CodeRemap = 15,

    /// <summary>
    /// Optional (refine): each internal item's token <c>v_i</c>, the K_i item heads concatenated,
    /// <c>n_items × (K_i·D)</c> float32. Present together with <see cref="InteractionWeight"/> and <see cref="InteractionBias"/>.
    /// </summary>
    ItemTokens = 16,

    /// <summary>
    /// Optional (refine): weights of interaction-MLP layer <c>index</c>, <c>out × in</c> float32. Layer 0 reads
    /// <c>[z ; v]</c> (<c>D + K_i·D</c> columns: the first D are W_u, the rest W_v); ReLU after every layer but
    /// the last, which has one output, f.
    /// </summary>
    InteractionWeight = 17,

    /// <summary>Optional (refine): bias of interaction-MLP layer <c>index</c>, <c>out × 1</c> float32.</summary>
    InteractionBias = 18,

    /// <summary>
    /// Optional (refine): <c>1 × 1</c> int32 flags of the interaction MLP; bit 0 = dot path, f also adds
    /// <c>⟨z, v[0..D)⟩</c> (the token against the first item token). Absent means 0; other bits must be 0.
    /// </summary>
    InteractionFlags = 19,

    /// <summary>
    /// Attention tower (version 2): <c>3 × 1</c> int64 <c>[blocks N, heads H, feed-forward width F]</c>. Present
    /// exactly when the file's query tower is the causal self-attention tower (then <c>TowerLayers = 0</c>).
    /// </summary>
    AttentionConfig = 20,

    /// <summary>Attention tower: position embedding, <c>L × d</c> float32; row t is added to the t-th kept item counted from the oldest.</summary>
    PositionEmbedding = 21,

    /// <summary>Attention tower: layer-norm gain, <c>d × 1</c> float32; index 2b before attention in block b, 2b + 1 before its feed-forward, 2N the final norm.</summary>
    LayerNormGamma = 22,

    /// <summary>Attention tower: layer-norm shift, <c>d × 1</c> float32, indexed like <see cref="LayerNormGamma"/>.</summary>
    LayerNormBeta = 23,

    /// <summary>Attention tower: block <c>index</c>'s fused query/key/value projection, <c>3d × d</c> float32 (rows 0..d−1 q, d..2d−1 k, 2d..3d−1 v).</summary>
    AttentionInWeight = 24,

    /// <summary>Attention tower: block <c>index</c>'s query/key/value bias, <c>3d × 1</c> float32.</summary>
    AttentionInBias = 25,

    /// <summary>Attention tower: block <c>index</c>'s output projection, <c>d × d</c> float32.</summary>
    AttentionOutWeight = 26,

    /// <summary>Attention tower: block <c>index</c>'s output projection bias, <c>d × 1</c> float32.</summary>
    AttentionOutBias = 27,

    /// <summary>Attention tower: feed-forward weights; index 2b is block b's first layer (<c>F × d</c>), 2b + 1 its second (<c>d × F</c>).</summary>
    FeedForwardWeight = 28,

    /// <summary>Attention tower: feed-forward biases; index 2b is <c>F × 1</c>, 2b + 1 is <c>d × 1</c>.</summary>
    FeedForwardBias = 29,
}

/// <summary>Element type of a section.</summary>
public enum ElementType : uint
{
    /// <summary>Raw bytes.</summary>
    Byte = 1,

    /// <summary>Little-endian int32.</summary>
    Int32 = 2,

    /// <summary>Little-endian int64.</summary>
    Int64 = 3,

    /// <summary>IEEE 754 float32.</summary>
    Float32 = 4,

}

/// <summary>One row of the section table.</summary>
/// <param name="Kind">What the section holds.</param>
/// <param name="Index">Which one, for repeated kinds (tower layer number); 0 otherwise.</param>
/// <param name="Type">Element type.</param>
/// <param name="Rows">Row count.</param>
/// <param name="Columns">Column count (1 for vectors).</param>
/// <param name="Offset">Byte offset from the start of the file.</param>
/// <param name="ByteLength">Length in bytes, equal to rows × columns × element size.</param>
public readonly record struct SectionEntry(SectionKind Kind, int Index, ElementType Type, long Rows, long Columns, long Offset, long ByteLength)
{
    /// <summary>Size in bytes of one element of <paramref name="type"/>, or 0 if unknown.</summary>
    public static int ElementSize(ElementType type) => type switch
    {
        ElementType.Byte => 1,
        ElementType.Int32 or ElementType.Float32 => 4,
        ElementType.Int64 => 8,
        _ => 0,
    };
}
