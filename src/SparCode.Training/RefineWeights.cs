using SparCode.Format;
using SparCode.Engine.Gpu;
using static TorchSharp.torch;

namespace SparCode.Training;

/// <summary>
/// Reads the interaction MLP and the item tokens out of a trained SparCode network, in the index's refine-section
/// layout (<see cref="RefineModel"/>): the first layer as one <c>H × (D + K_i·D)</c> matrix <c>[W_u | W_v]</c> with
/// bias b₁ (W_u has none), then f2, f3 and the output layer; item token v_i = the K_i item heads of <c>E[i + 1]</c>;
/// the dot path (<see cref="TrainOptions.DotPath"/>, f += ⟨ẑ, v[0..D)⟩) as a flag.
/// </summary>
/// <remarks>
/// The layers are found by name through <c>named_parameters()</c> (fUser, fItem, f2, f3, fOut, itemHeads in
/// <c>Networks.cs</c>), so this file does not depend on the network's private fields; a renamed layer fails loudly.
/// </remarks>
internal static class RefineWeights
{
    /// <summary>The refine sections of <paramref name="model"/>'s SparCode network.</summary>
    /// <exception cref="InvalidOperationException">The model is a two-tower model, or a layer is missing.</exception>
    /// <exception cref="ArgumentException">The model's f is not the MLP over [ẑ ; v] (plus the dot path) read here.</exception>
    public static RefineModel From(TrainedModel model)
    {
        var net = model.SparCode;
        var o = model.Options;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var parameters = net.named_parameters().ToDictionary(p => p.name.TrimStart('_').Replace("._", "."), p => p.parameter);
        Tensor Get(string name) => parameters.TryGetValue(name, out var p)
            ? p.detach()
            : throw new InvalidOperationException($"The SparCode network has no parameter '{name}' (it has {string.Join(", ", parameters.Keys)}); the interaction MLP cannot be read.");

        var first = cat([Get("fUser.weight"), Get("fItem.weight")], 1);
        DenseLayer Layer(Tensor weights, Tensor bias) => new((int)weights.shape[0], (int)weights.shape[1], Floats(weights), Floats(bias));
        DenseLayer[] layers = [Layer(first, Get("fItem.bias")), Layer(Get("f2.weight"), Get("f2.bias")), Layer(Get("f3.weight"), Get("f3.bias")), Layer(Get("fOut.weight"), Get("fOut.bias"))];

        int n = model.ItemCount;
        var embeddings = net.Items.weight!.detach().narrow(0, 1, n);
        var itemTokens = nn.functional.linear(embeddings, Get("itemHeads.weight"), Get("itemHeads.bias"));
        var refine = new RefineModel(o.ItemTokens * o.TokenDim, Floats(itemTokens), layers, o.DotPath);
        CheckAgainstNetwork(model, net, o, refine);
        return refine;
    }

    /// <summary>
    /// Scores a few (code, item) pairs both through the network's own f and through the MLP read here, and throws if
    /// they disagree: the network's f must be exactly the MLP over [ẑ ; v] (plus ⟨ẑ, v[0..D)⟩ with the dot path); any
    /// other variant would make the GPU scorer and the refine sections silently wrong.
    /// </summary>
    private static void CheckAgainstNetwork(TrainedModel model, SparCodeNet net, TrainOptions o, RefineModel refine)
    {
        var mlp = RefineMlp.From(o.TokenDim, refine);
        int items = Math.Min(16, refine.ItemTokens.Length / refine.ItemTokenDim);
        long[] codes = [.. Enumerable.Range(0, Math.Min(4, o.CodeCount)).Select(c => (long)c * (o.CodeCount / Math.Min(4, o.CodeCount)))];
        using var scope = NewDisposeScope();
        var codeTensor = tensor(codes);
        var expected = net.ScoreCodes(codeTensor, net.ItemPart(arange(1, items + 1, dtype: ScalarType.Int64))).contiguous().data<float>().ToArray();
        var vectors = net.CodeVectors(codeTensor).contiguous().data<float>().ToArray();
        for (int c = 0; c < codes.Length; c++)
        {
            for (int i = 0; i < items; i++)
            {
                float f = expected[c * items + i];
                float mine = mlp.ScoreReference(vectors.AsSpan(c * o.TokenDim, o.TokenDim), refine.ItemTokens.AsSpan(i * refine.ItemTokenDim, refine.ItemTokenDim));
                if (!(Math.Abs(mine - f) <= 1e-3 * Math.Max(1, Math.Abs(f))))
                {
                    throw new ArgumentException(
                        $"The network's f(code {codes[c]}, item {i}) is {f}, but the interaction MLP read from its layers gives {mine}: this model's f is not the MLP over [ẑ ; v] " +
                        $"{(o.DotPath ? "plus the dot path " : "")}that the GPU scorer and the refine sections support; export it with --scorer cpu and without --refine-sections.", nameof(model));
                }
            }
        }
    }

    private static float[] Floats(Tensor t) => t.contiguous().data<float>().ToArray();
}
