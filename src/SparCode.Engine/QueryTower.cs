using SparCode.Format;
using SparCode.Kernels.Cpu;

namespace SparCode.Engine;

/// <summary>
/// The query side of a SparCode model: history → user vector → K_u token heads → one code per token by
/// product quantization. The user vector comes from one of two towers: the masked mean of the item
/// embeddings through an MLP, or (format version 2) a causal self-attention tower over the history in
/// order (<see cref="AttentionTower"/>).
/// </summary>
/// <remarks>
/// Immutable and thread-safe; callers pass their own scratch. The item embedding is a
/// view of the index file (or of arrays, for the synthetic generator). The tower, head and codebook
/// weights (a few hundred KiB) are copied once, transposed, for the SIMD kernels, which then give
/// bit-identical tokens and codes on every instruction set.
/// </remarks>
public sealed class QueryTower
{
    private readonly ReadOnlyMemory<float> _embedding;
    private readonly TransposedLayer[] _tower;
    private readonly AttentionEncoder? _attention;
    private readonly TransposedLayer _heads;
    private readonly float[][] _codebooksTransposed;
    private readonly ReadOnlyMemory<int> _codeRemap;

    /// <summary>Creates an MLP tower over the given weights (shapes as in <see cref="IndexContents"/>).</summary>
    /// <exception cref="ArgumentException">A shape disagrees with <paramref name="dimensions"/>.</exception>
    /// <param name="dimensions">Model sizes.</param>
    /// <param name="itemEmbedding">Item embedding table, <c>(n_items + 1) × d</c>.</param>
    /// <param name="tower">MLP layers, first to last.</param>
    /// <param name="heads">The K_u token heads stacked.</param>
    /// <param name="codebooks">The M codebooks stacked, <c>(M·K_c) × (D/M)</c>.</param>
    /// <param name="codeRemap">Optional code → serving code map (empty: identity), see <see cref="SectionKind.CodeRemap"/>.</param>
    public QueryTower(ModelDimensions dimensions, ReadOnlyMemory<float> itemEmbedding, IReadOnlyList<DenseView> tower, DenseView heads, ReadOnlyMemory<float> codebooks,
        ReadOnlyMemory<int> codeRemap = default)
        : this(dimensions, itemEmbedding, tower, null, heads, codebooks, codeRemap)
    {
    }

    /// <summary>Creates an attention tower over the given weights (shapes as in <see cref="IndexContents"/>; the heads read d inputs).</summary>
    /// <exception cref="ArgumentException">A shape disagrees with <paramref name="dimensions"/>, or TowerLayers is not 0.</exception>
    /// <param name="dimensions">Model sizes, with <see cref="ModelDimensions.TowerLayers"/> = 0.</param>
    /// <param name="itemEmbedding">Item embedding table, <c>(n_items + 1) × d</c>.</param>
    /// <param name="attention">The attention tower's weights (copied).</param>
    /// <param name="heads">The K_u token heads stacked, <c>(K_u·D) × d</c>.</param>
    /// <param name="codebooks">The M codebooks stacked, <c>(M·K_c) × (D/M)</c>.</param>
    /// <param name="codeRemap">Optional code → serving code map (empty: identity).</param>
    public QueryTower(ModelDimensions dimensions, ReadOnlyMemory<float> itemEmbedding, AttentionTower attention, DenseView heads, ReadOnlyMemory<float> codebooks,
        ReadOnlyMemory<int> codeRemap = default)
        : this(dimensions, itemEmbedding, [], new AttentionEncoder(dimensions, attention), heads, codebooks, codeRemap)
    {
    }

    private QueryTower(ModelDimensions dimensions, ReadOnlyMemory<float> itemEmbedding, IReadOnlyList<DenseView> tower, AttentionEncoder? attention, DenseView heads,
        ReadOnlyMemory<float> codebooks, ReadOnlyMemory<int> codeRemap)
    {
        if (!codeRemap.IsEmpty && codeRemap.Length != dimensions.CodeCount)
        {
            throw new ArgumentException($"Code remap has {codeRemap.Length} entries; expected K_c^M = {dimensions.CodeCount}.", nameof(codeRemap));
        }
        _codeRemap = codeRemap;
        Dimensions = dimensions;
        if (itemEmbedding.Length != (dimensions.ItemCount + 1L) * dimensions.EmbeddingDim)
        {
            throw new ArgumentException($"Item embedding has {itemEmbedding.Length} floats; expected ({dimensions.ItemCount} + 1) × {dimensions.EmbeddingDim}.", nameof(itemEmbedding));
        }
        int width = dimensions.EmbeddingDim;
        int maxWidth = width;
        foreach (var layer in tower)
        {
            layer.CheckShape(width, nameof(tower));
            width = layer.Outputs;
            maxWidth = Math.Max(maxWidth, width);
        }
        heads.CheckShape(width, nameof(heads));
        if (heads.Outputs != dimensions.UserTokens * dimensions.TokenDim)
        {
            throw new ArgumentException($"Heads have {heads.Outputs} outputs; expected K_u·D = {dimensions.UserTokens * dimensions.TokenDim}.", nameof(heads));
        }
        if (codebooks.Length != (long)dimensions.Subspaces * dimensions.CodebookSize * dimensions.SubvectorDim)
        {
            throw new ArgumentException($"Codebooks have {codebooks.Length} floats; expected M·K_c·(D/M) = {dimensions.Subspaces * dimensions.CodebookSize * dimensions.SubvectorDim}.", nameof(codebooks));
        }
        _embedding = itemEmbedding;
        _attention = attention;
        _tower = [.. tower.Select(TransposedLayer.From)];
        _heads = TransposedLayer.From(heads);
        ScratchLength = attention is null ? maxWidth : Math.Max(maxWidth, attention.ScratchLength);
        int sub = dimensions.SubvectorDim;
        int bookFloats = dimensions.CodebookSize * sub;
        _codebooksTransposed = [.. Enumerable.Range(0, dimensions.Subspaces)
            .Select(m => DenseKernels.Transpose(codebooks.Span.Slice(m * bookFloats, bookFloats), dimensions.CodebookSize, sub))];
    }

    /// <summary>Builds the tower of an open index file.</summary>
    public static QueryTower FromIndex(IndexFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var dims = file.Dimensions;
        var layers = new DenseView[dims.TowerLayers];
        for (int l = 0; l < layers.Length; l++)
        {
            layers[l] = new DenseView(file.TowerOutputs(l), file.TowerWeight(l), file.TowerBias(l));
        }
        var heads = new DenseView(dims.UserTokens * dims.TokenDim, file.HeadWeight, file.HeadBias);
        return file.ReadAttention() is { } attention
            ? new QueryTower(dims, file.ItemEmbedding, attention, heads, file.Codebooks, file.CodeRemap)
            : new QueryTower(dims, file.ItemEmbedding, layers, heads, file.Codebooks, file.CodeRemap);
    }

    /// <summary>Model sizes.</summary>
    public ModelDimensions Dimensions { get; }

    /// <summary>The item embedding, <c>(n_items + 1) × d</c> (row 0 is padding).</summary>
    internal ReadOnlyMemory<float> Embedding => _embedding;

    /// <summary>The MLP tower's layers (none for the attention tower), then the token heads, each transposed to <c>Inputs × Outputs</c>.</summary>
    internal IEnumerable<TransposedLayer> DenseLayers => _tower.Append(_heads);

    /// <summary>The M codebooks, each transposed to <c>(D/M) × K_c</c>.</summary>
    internal IReadOnlyList<float[]> CodebooksTransposed => _codebooksTransposed;

    /// <summary>Code → serving code (empty: identity).</summary>
    internal ReadOnlyMemory<int> CodeRemap => _codeRemap;

    /// <summary>True if the user vector comes from the causal self-attention tower, false for the mean + MLP tower.</summary>
    public bool HasAttention => _attention is not null;

    /// <summary>
    /// Floats each of the two scratch buffers of <see cref="Tokens"/> must hold: the widest MLP activation, or for
    /// the attention tower its per-position buffers, <c>max(5·L·d, L·(2d + L + F + 1))</c>.
    /// </summary>
    public int ScratchLength { get; }

    /// <summary>
    /// Computes the K_u user tokens (<c>K_u × D</c>, row-major) from internal item ids, of which only the
    /// last <see cref="ModelDimensions.HistoryLength"/> are read.
    /// </summary>
    /// <param name="items">Internal item ids (0-based), oldest first; at least one. Trusted: the caller resolved them.</param>
    /// <param name="tokens">Receives <c>K_u·D</c> floats.</param>
    /// <param name="scratchA">Scratch of at least <see cref="ScratchLength"/> floats.</param>
    /// <param name="scratchB">Scratch of at least <see cref="ScratchLength"/> floats.</param>
    public void Tokens(ReadOnlySpan<int> items, Span<float> tokens, Span<float> scratchA, Span<float> scratchB)
    {
        var dims = Dimensions;
        int d = dims.EmbeddingDim;
        if (_attention is not null)
        {
            var user = _attention.User(items, _embedding.Span, scratchA, scratchB);
            DenseKernels.DenseTransposed(_heads.Weights, _heads.Bias, user, tokens[.._heads.Bias.Length], relu: false);
            return;
        }
        var recent = items[Math.Max(0, items.Length - dims.HistoryLength)..];
        // Masked mean: padding rows are never read, so the mean runs over the real items only.
        var x = scratchA[..d];
        x.Clear();
        var embedding = _embedding.Span;
        // The rows are scattered over the table (DRAM and TLB misses): ask for all of them before summing.
        foreach (int item in recent)
        {
            DenseKernels.Prefetch(embedding.Slice((item + 1) * d, d));
        }
        foreach (int item in recent)
        {
            DenseKernels.AddInPlace(x, embedding.Slice((item + 1) * d, d));
        }
        DenseKernels.ScaleInPlace(x, 1f / recent.Length);

        ReadOnlySpan<float> input = x;
        Span<float> spare = scratchB;
        for (int l = 0; l < _tower.Length; l++)
        {
            var layer = _tower[l];
            var output = spare[..layer.Bias.Length];
            DenseKernels.DenseTransposed(layer.Weights, layer.Bias, input, output, relu: l < _tower.Length - 1);
            spare = input.Overlaps(scratchA) ? scratchA : scratchB;
            input = output;
        }
        DenseKernels.DenseTransposed(_heads.Weights, _heads.Bias, input, tokens[.._heads.Bias.Length], relu: false);
    }

    /// <summary>
    /// Quantizes each token to its code <c>Σ_m j_m · K_c^m</c> (nearest codeword per sub-vector, ties to
    /// the smaller index), then applies the index's code remap, if any, so every code has a list that serves it.
    /// </summary>
    /// <param name="tokens">K_u tokens, row-major <c>K_u × D</c>.</param>
    /// <param name="codes">Receives K_u codes.</param>
    public void Codes(ReadOnlySpan<float> tokens, Span<int> codes)
    {
        var dims = Dimensions;
        int sub = dims.SubvectorDim;
        for (int k = 0; k < dims.UserTokens; k++)
        {
            int code = 0;
            int stride = 1;
            for (int m = 0; m < dims.Subspaces; m++)
            {
                var query = tokens.Slice(k * dims.TokenDim + m * sub, sub);
                int j = DistanceKernels.ArgMinSquaredL2Transposed(query, _codebooksTransposed[m]);
                code += j * stride;
                stride *= dims.CodebookSize;
            }
            codes[k] = _codeRemap.IsEmpty ? code : _codeRemap.Span[code];
        }
    }
}

/// <summary>A dense layer with its weights transposed to <c>Inputs × Outputs</c>.</summary>
internal sealed record TransposedLayer(float[] Weights, float[] Bias)
{
    public int Outputs => Bias.Length;

    public int Inputs => Weights.Length / Bias.Length;

    public static TransposedLayer From(DenseView layer) =>
        new(DenseKernels.Transpose(layer.Weights.Span, layer.Outputs, layer.Inputs), layer.Bias.ToArray());
}

/// <summary>A dense layer's weights as views: <c>Outputs × Inputs</c> row-major, plus a bias.</summary>
/// <param name="Outputs">Output size.</param>
/// <param name="Weights">Row-major weights.</param>
/// <param name="Bias">Bias of length <paramref name="Outputs"/>.</param>
public readonly record struct DenseView(int Outputs, ReadOnlyMemory<float> Weights, ReadOnlyMemory<float> Bias)
{
    /// <summary>Input size implied by the weights.</summary>
    public int Inputs => Outputs == 0 ? 0 : Weights.Length / Outputs;

    internal void CheckShape(int inputs, string parameter)
    {
        if (Outputs <= 0 || Bias.Length != Outputs || Weights.Length != (long)Outputs * inputs)
        {
            throw new ArgumentException($"Dense layer has {Weights.Length} weights and {Bias.Length} biases for {Outputs} outputs; expected {Outputs} × {inputs} weights and {Outputs} biases.", parameter);
        }
    }
}
