namespace SparCode.Kernels.Gpu;

/// <summary>
/// The all-to-all interaction MLP <c>f([z; v])</c> of SparCode, with its first layer split as in the
/// first-layer decomposition (docs/method.md#first-layer-decomposition): <c>h₁ = ReLU(W_u·z + W_v·v + b₁)</c>, then hidden layers
/// <c>h_l = ReLU(W_l·h_{l−1} + b_l)</c>, then <c>f = w_out·h + b_out</c>, plus <c>⟨z, v[0..D)⟩</c> when
/// <see cref="DotPath"/> is set. All matrices are row-major <c>outputs × inputs</c>.
/// </summary>
/// <param name="TokenDim">Size of a (quantized or not) user token z, D.</param>
/// <param name="ItemDim">Size of an item vector v (K_i·D).</param>
/// <param name="FirstUser">W_u, <c>H₁ × TokenDim</c>.</param>
/// <param name="FirstItem">W_v, <c>H₁ × ItemDim</c>.</param>
/// <param name="FirstBias">b₁, <c>H₁</c>.</param>
/// <param name="Hidden">Hidden layers after the first: (weights <c>H_l × H_{l−1}</c>, bias <c>H_l</c>).</param>
/// <param name="Output">w_out, the last hidden width.</param>
/// <param name="OutputBias">b_out.</param>
public sealed record InteractionMlp(int TokenDim, int ItemDim, float[] FirstUser, float[] FirstItem, float[] FirstBias,
    IReadOnlyList<(float[] Weights, float[] Bias)> Hidden, float[] Output, float OutputBias)
{
    /// <summary>
    /// Builds the MLP from whole dense layers as the index's refine sections store them: layer 0 reads
    /// <c>[z ; v]</c> (its first <paramref name="tokenDim"/> columns are W_u, the rest W_v), ReLU after every
    /// layer but the last, which has one output.
    /// </summary>
    /// <param name="tokenDim">Size of a user token, D.</param>
    /// <param name="layers">At least two layers, first to last, each as row-major <c>outputs × inputs</c> weights and <c>outputs</c> biases.</param>
    /// <param name="dotPath">Whether f adds <c>⟨z, v[0..D)⟩</c> (<see cref="DotPath"/>).</param>
    /// <exception cref="ArgumentException">The layers do not chain, the first is not wider than D, or the last has more than one output.</exception>
    public static InteractionMlp FromLayers(int tokenDim, IReadOnlyList<(float[] Weights, float[] Bias)> layers, bool dotPath = false)
    {
        ArgumentNullException.ThrowIfNull(layers);
        if (layers.Count < 2)
        {
            throw new ArgumentException($"The interaction MLP has {layers.Count} layers; expected at least 2 (first layer and output).", nameof(layers));
        }
        var (firstWeights, firstBias) = layers[0];
        int outputs = firstBias.Length;
        int inputs = outputs == 0 ? 0 : firstWeights.Length / outputs;
        int itemDim = inputs - tokenDim;
        if (tokenDim < 1 || itemDim < 1 || firstWeights.Length != outputs * inputs)
        {
            throw new ArgumentException($"The first interaction layer has {firstWeights.Length} weights for {outputs} outputs; expected {outputs} × (more than D = {tokenDim}) weights.", nameof(layers));
        }
        var user = new float[outputs * tokenDim];
        var item = new float[outputs * itemDim];
        for (int o = 0; o < outputs; o++)
        {
            firstWeights.AsSpan(o * inputs, tokenDim).CopyTo(user.AsSpan(o * tokenDim));
            firstWeights.AsSpan(o * inputs + tokenDim, itemDim).CopyTo(item.AsSpan(o * itemDim));
        }
        var (lastWeights, lastBias) = layers[^1];
        if (lastBias.Length != 1)
        {
            throw new ArgumentException($"The last interaction layer has {lastBias.Length} outputs; expected 1 (the score f).", nameof(layers));
        }
        var mlp = new InteractionMlp(tokenDim, itemDim, user, item, firstBias, [.. layers.Skip(1).Take(layers.Count - 2)], lastWeights, lastBias[0]) { DotPath = dotPath };
        return mlp.Problem() is { } problem ? throw new ArgumentException($"Invalid interaction MLP: {problem}", nameof(layers)) : mlp;
    }

    /// <summary>
    /// The dot-product path (training's <c>--dot-path</c>): f also adds <c>⟨z, v[0..D)⟩</c>, the token against the
    /// first item token. Needs ItemDim ≥ TokenDim.
    /// </summary>
    public bool DotPath { get; init; }

    /// <summary>Width of the first layer, H₁.</summary>
    public int FirstWidth => FirstBias.Length;

    /// <summary>Checks every shape; returns null if consistent, else what is wrong.</summary>
    public string? Problem()
    {
        int width = FirstWidth;
        if (TokenDim < 1 || ItemDim < 1 || width < 1) return $"TokenDim {TokenDim}, ItemDim {ItemDim} and first width {width} must be positive.";
        if (FirstUser.Length != width * TokenDim) return $"FirstUser has {FirstUser.Length} weights; expected {width} × {TokenDim}.";
        if (FirstItem.Length != width * ItemDim) return $"FirstItem has {FirstItem.Length} weights; expected {width} × {ItemDim}.";
        if (DotPath && ItemDim < TokenDim) return $"The dot path needs ItemDim ≥ TokenDim; ItemDim is {ItemDim}, TokenDim {TokenDim}.";
        for (int l = 0; l < Hidden.Count; l++)
        {
            var (weights, bias) = Hidden[l];
            if (bias.Length < 1 || weights.Length != bias.Length * width) return $"Hidden layer {l} has {weights.Length} weights and {bias.Length} biases; expected bias × {width} weights.";
            width = bias.Length;
        }
        return Output.Length == width ? null : $"Output has {Output.Length} weights; expected {width}.";
    }

    /// <summary>The plain reference: <c>f([z; v])</c> by straightforward loops, in double precision.</summary>
    public float ScoreReference(ReadOnlySpan<float> z, ReadOnlySpan<float> v)
    {
        var h = new double[FirstWidth];
        for (int o = 0; o < h.Length; o++)
        {
            double a = FirstBias[o];
            for (int j = 0; j < TokenDim; j++)
            {
                a += (double)FirstUser[o * TokenDim + j] * z[j];
            }
            for (int j = 0; j < ItemDim; j++)
            {
                a += (double)FirstItem[o * ItemDim + j] * v[j];
            }
            h[o] = Math.Max(a, 0);
        }
        foreach (var (weights, bias) in Hidden)
        {
            var next = new double[bias.Length];
            for (int o = 0; o < next.Length; o++)
            {
                double a = bias[o];
                for (int j = 0; j < h.Length; j++)
                {
                    a += (double)weights[o * h.Length + j] * h[j];
                }
                next[o] = Math.Max(a, 0);
            }
            h = next;
        }
        double f = OutputBias;
        for (int j = 0; j < h.Length; j++)
        {
            f += (double)Output[j] * h[j];
        }
        if (DotPath)
        {
            for (int j = 0; j < TokenDim; j++)
            {
                f += (double)z[j] * v[j];
            }
        }
        return (float)f;
    }
}
