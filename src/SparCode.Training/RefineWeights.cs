using SparCode.Format;
using static TorchSharp.torch;

namespace SparCode.Training;

/// <summary>
/// Reads the interaction MLP and the item tokens out of a trained SparCode network, in the index's refine-section
/// layout (<see cref="RefineModel"/>): the first layer as one <c>H × (D + K_i·D)</c> matrix <c>[W_u | W_v]</c> with
/// bias b₁ (W_u has none), then f2, f3 and the output layer; item token v_i = the K_i item heads of <c>E[i + 1]</c>.
/// </summary>
/// <remarks>
/// The layers are found by name through <c>named_parameters()</c> (fUser, fItem, f2, f3, fOut, itemHeads in
/// <c>Networks.cs</c>), so this file does not depend on the network's private fields; a renamed layer fails loudly.
/// </remarks>
internal static class RefineWeights
{
    /// <summary>The refine sections of <paramref name="model"/>'s SparCode network.</summary>
    /// <exception cref="InvalidOperationException">The model is a two-tower model, or a layer is missing.</exception>
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
        return new RefineModel(o.ItemTokens * o.TokenDim, Floats(itemTokens), layers);
    }

    private static float[] Floats(Tensor t) => t.contiguous().data<float>().ToArray();
}
