namespace SparCode.Kernels.Gpu;

/// <summary>
/// The all-to-all interaction MLP <c>f([z; v])</c> of SparCode, with its first layer split as in the
/// spec's first-layer decomposition: <c>h₁ = ReLU(W_u·z + W_v·v + b₁)</c>, then hidden layers
/// <c>h_l = ReLU(W_l·h_{l−1} + b_l)</c>, then <c>f = w_out·h + b_out</c>. All matrices are row-major
/// <c>outputs × inputs</c>.
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
    /// <summary>Width of the first layer, H₁.</summary>
    public int FirstWidth => FirstBias.Length;

    /// <summary>Checks every shape; returns null if consistent, else what is wrong.</summary>
    public string? Problem()
    {
        int width = FirstWidth;
        if (TokenDim < 1 || ItemDim < 1 || width < 1) return $"TokenDim {TokenDim}, ItemDim {ItemDim} and first width {width} must be positive.";
        if (FirstUser.Length != width * TokenDim) return $"FirstUser has {FirstUser.Length} weights; expected {width} × {TokenDim}.";
        if (FirstItem.Length != width * ItemDim) return $"FirstItem has {FirstItem.Length} weights; expected {width} × {ItemDim}.";
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
        return (float)f;
    }
}
