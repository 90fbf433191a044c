using SparCode.Format;
using SparCode.Kernels.Cpu;

namespace SparCode.Engine;

/// <summary>
/// The causal self-attention query tower (SASRec, Kang &amp; McAuley 2018, pre-norm blocks) up to the user
/// vector: <c>x[t] = E[item_t + 1] + P[t]</c>, N blocks, final layer norm of the last position. The token
/// heads and codes are <see cref="QueryTower"/>'s.
/// </summary>
/// <remarks>
/// Weights are copied once, transposed for the axpy-form products of <see cref="AttentionKernels.GemmCore"/>.
/// Every block but the last runs on all n positions as matrix products (n × d by d × 3d, …). The last block
/// needs keys and values at every position but queries, attention, feed-forward and final norm at n − 1
/// only, so it computes just those. Immutable and thread-safe: all per-query state lives in the caller's scratch.
/// </remarks>
internal sealed class AttentionEncoder
{
    private readonly int _d;
    private readonly int _length;
    private readonly int _heads;
    private readonly int _width;
    private readonly float[] _position;
    private readonly Block[] _blocks;
    private readonly float[] _finalGamma;
    private readonly float[] _finalBeta;

    /// <summary>One block's weights, the matrices transposed to inputs × outputs.</summary>
    private sealed record Block(float[] Norm1Gamma, float[] Norm1Beta, float[] InT, float[] InBias, float[] OutT, float[] OutBias,
        float[] Norm2Gamma, float[] Norm2Beta, float[] Hidden1T, float[] Hidden1Bias, float[] Hidden2T, float[] Hidden2Bias);

    /// <exception cref="ArgumentException">A shape disagrees with <paramref name="dimensions"/> or the config is out of range.</exception>
    public AttentionEncoder(ModelDimensions dimensions, AttentionTower tower)
    {
        ArgumentNullException.ThrowIfNull(tower);
        int d = dimensions.EmbeddingDim;
        int width = tower.FeedForwardWidth;
        if (dimensions.TowerLayers != 0)
        {
            throw new ArgumentException($"An attention tower needs TowerLayers = 0; the dimensions say {dimensions.TowerLayers}.", nameof(dimensions));
        }
        if (tower.Blocks.Count < 1 || tower.Blocks.Count > IndexLayout.MaxAttentionBlocks || tower.Heads < 1 || d % tower.Heads != 0
            || width < 1 || width > IndexLayout.MaxFeedForwardWidth)
        {
            throw new ArgumentException($"Attention tower with {tower.Blocks.Count} blocks, {tower.Heads} heads and feed-forward width {width}; expected 1..{IndexLayout.MaxAttentionBlocks} blocks, a divisor of d = {d} heads and a width in 1..{IndexLayout.MaxFeedForwardWidth}.", nameof(tower));
        }
        _d = d;
        _length = dimensions.HistoryLength;
        _heads = tower.Heads;
        _width = width;
        _position = Checked(tower.PositionEmbedding, (long)_length * d, "position embedding");
        _finalGamma = Checked(tower.FinalNormGamma, d, "final norm gamma");
        _finalBeta = Checked(tower.FinalNormBeta, d, "final norm beta");
        _blocks = new Block[tower.Blocks.Count];
        for (int b = 0; b < _blocks.Length; b++)
        {
            var block = tower.Blocks[b];
            _blocks[b] = new Block(
                Checked(block.Norm1Gamma, d, $"block {b} norm 1 gamma"), Checked(block.Norm1Beta, d, $"block {b} norm 1 beta"),
                Transposed(block.InProjection, 3 * d, d, $"block {b} in-projection"), Checked(block.InProjection.Bias, 3 * d, $"block {b} in-projection bias"),
                Transposed(block.OutProjection, d, d, $"block {b} out-projection"), Checked(block.OutProjection.Bias, d, $"block {b} out-projection bias"),
                Checked(block.Norm2Gamma, d, $"block {b} norm 2 gamma"), Checked(block.Norm2Beta, d, $"block {b} norm 2 beta"),
                Transposed(block.FeedForward1, width, d, $"block {b} feed-forward 1"), Checked(block.FeedForward1.Bias, width, $"block {b} feed-forward 1 bias"),
                Transposed(block.FeedForward2, d, width, $"block {b} feed-forward 2"), Checked(block.FeedForward2.Bias, d, $"block {b} feed-forward 2 bias"));
        }
        ScratchLength = (int)Math.Max(5L * _length * d, (long)_length * (2 * d + _length + width + 1));
    }

    /// <summary>Floats each of the two scratch buffers must hold: <c>max(5·L·d, L·(2d + L + F + 1))</c>.</summary>
    public int ScratchLength { get; }

    /// <summary>
    /// The user vector (<c>d</c> floats, at the start of <paramref name="scratchB"/>) of the last <c>L</c> of <paramref name="items"/>.
    /// Scratch A holds x (L × d), q|k|v (L × 3d) and the attention output (L × d); scratch B the normed
    /// activations (L × d), the keys transposed (d × L), one head's softmax numerators (L × L), the hidden
    /// feed-forward layer (L × F) and the reciprocal softmax denominators (L).
    /// </summary>
    public ReadOnlySpan<float> User(ReadOnlySpan<int> items, ReadOnlySpan<float> embedding, Span<float> scratchA, Span<float> scratchB)
    {
        int d = _d, L = _length, n = Math.Min(items.Length, L);
        var recent = items[^n..];
        var path = Simd.Best;
        var x = scratchA[..(n * d)];
        var qkv = scratchA.Slice(L * d, n * 3 * d);
        var attended = scratchA.Slice(4 * L * d, n * d);
        var normed = scratchB[..(n * d)];
        var keysT = scratchB.Slice(L * d, d * L);
        var probabilities = scratchB.Slice(2 * L * d, n * n);
        var hidden = scratchB.Slice(2 * L * d + L * L, n * _width);
        var inverseSums = scratchB.Slice(2 * L * d + L * L + L * _width, n);

        // The rows are scattered over the table (DRAM and TLB misses): ask for all of them before reading.
        foreach (int item in recent)
        {
            DenseKernels.Prefetch(embedding.Slice((item + 1) * d, d));
        }
        for (int t = 0; t < n; t++)
        {
            System.Numerics.Tensors.TensorPrimitives.Add(embedding.Slice((recent[t] + 1) * d, d), _position.AsSpan(t * d, d), x.Slice(t * d, d));
        }
        for (int b = 0; b < _blocks.Length; b++)
        {
            var block = _blocks[b];
            bool top = b == _blocks.Length - 1;
            AttentionKernels.LayerNormCore(x, d, n, d, block.Norm1Gamma, block.Norm1Beta, normed, d, IndexLayout.LayerNormEpsilon, path);
            // Queries for every position a later block reads, keys and values for every position: in the top
            // block only the last position's query is needed.
            int first = top ? n - 1 : 0;
            int queries = n - first;
            AttentionKernels.GemmCore(normed[(first * d)..], d, queries, d, block.InT, 3 * d, block.InBias.AsSpan(0, d), qkv[(first * 3 * d)..], 3 * d, d, GemmOptions.None, [], path);
            AttentionKernels.GemmCore(normed, d, n, d, block.InT.AsSpan(d), 3 * d, block.InBias.AsSpan(d), qkv[d..], 3 * d, 2 * d, GemmOptions.None, [], path);
            AttentionKernels.TransposeCore(qkv[d..], 3 * d, n, d, keysT, L);
            Attend(qkv, keysT, probabilities, inverseSums, attended, n, first, path);
            var residual = x[(first * d)..];
            AttentionKernels.GemmCore(attended, d, queries, d, block.OutT, d, block.OutBias, residual, d, d, GemmOptions.Accumulate, [], path);
            AttentionKernels.LayerNormCore(residual, d, queries, d, block.Norm2Gamma, block.Norm2Beta, normed, d, IndexLayout.LayerNormEpsilon, path);
            AttentionKernels.GemmCore(normed, d, queries, d, block.Hidden1T, _width, block.Hidden1Bias, hidden, _width, _width, GemmOptions.Relu, [], path);
            AttentionKernels.GemmCore(hidden, _width, queries, _width, block.Hidden2T, d, block.Hidden2Bias, residual, d, d, GemmOptions.Accumulate, [], path);
        }
        var user = normed[..d];
        AttentionKernels.LayerNormCore(x[((n - 1) * d)..], d, 1, d, _finalGamma, _finalBeta, user, d, IndexLayout.LayerNormEpsilon, path);
        return user;
    }

    /// <summary>
    /// Causal multi-head attention for query positions <paramref name="first"/>..n − 1 into rows 0.. of
    /// <paramref name="attended"/>: per head, scores q·k (keys transposed, so the product runs across key
    /// positions), softmax numerators with <c>1 / sqrt(dh)</c>, then numerators × values, each row divided by its
    /// softmax denominator on the way out.
    /// </summary>
    private void Attend(ReadOnlySpan<float> qkv, ReadOnlySpan<float> keysT, Span<float> probabilities, Span<float> inverseSums, Span<float> attended, int n, int first, SimdPath path)
    {
        int d = _d, L = _length, dh = d / _heads, queries = n - first;
        float scale = 1f / MathF.Sqrt(dh);
        // With every position querying, row t needs scores 0..t only; a single query row needs them all.
        var scoreOptions = first == 0 ? GemmOptions.CausalOutputs : GemmOptions.None;
        var valueOptions = GemmOptions.RowScale | (first == 0 ? GemmOptions.CausalInner : GemmOptions.None);
        for (int j = 0; j < _heads; j++)
        {
            AttentionKernels.GemmCore(qkv.Slice(first * 3 * d + j * dh), 3 * d, queries, dh, keysT[(j * dh * L)..], L, [], probabilities, n, n, scoreOptions, [], path);
            for (int r = 0; r < queries; r++)
            {
                int t = first + r;
                var row = probabilities.Slice(r * n, n);
                inverseSums[r] = 1f / AttentionKernels.SoftmaxNumeratorsCore(row[..(t + 1)], scale, path);
                // A 4-row tile of the causal product reads its rows up to its last row's length: those entries must be 0.
                row[(t + 1)..Math.Min(n, (t | 3) + 1)].Clear();
            }
            AttentionKernels.GemmCore(probabilities, n, queries, n, qkv[(2 * d + j * dh)..], 3 * d, [], attended[(j * dh)..], d, dh, valueOptions, inverseSums, path);
        }
    }

    private static float[] Checked(float[] values, long expected, string name)
    {
        ArgumentNullException.ThrowIfNull(values, name);
        if (values.LongLength != expected)
        {
            throw new ArgumentException($"Attention tower {name} has {values.LongLength} floats; expected {expected}.", nameof(values));
        }
        return (float[])values.Clone();
    }

    private static float[] Transposed(DenseLayer layer, int outputs, int inputs, string name)
    {
        ArgumentNullException.ThrowIfNull(layer, name);
        if (layer.Outputs != outputs || layer.Inputs != inputs || layer.Weights.LongLength != (long)outputs * inputs)
        {
            throw new ArgumentException($"Attention tower {name} is {layer.Outputs} × {layer.Inputs} with {layer.Weights.LongLength} weights; expected {outputs} × {inputs}.", nameof(layer));
        }
        return DenseKernels.Transpose(layer.Weights, outputs, inputs);
    }
}
