using SparCode.Format;
using SparCode.Kernels.Gpu;

namespace SparCode.Engine.Gpu;

/// <summary>The interaction MLP of the refine sections (<see cref="RefineModel"/>, section kinds 16–19) as the kernels' <see cref="InteractionMlp"/>.</summary>
public static class RefineMlp
{
    /// <summary>The MLP of refine weights about to be written (or read back).</summary>
    /// <param name="tokenDim">Size of a user token, D.</param>
    /// <param name="refine">The refine weights.</param>
    /// <exception cref="ArgumentException">The layers do not form an MLP over <c>[z ; v]</c> with one output.</exception>
    public static InteractionMlp From(int tokenDim, RefineModel refine)
    {
        ArgumentNullException.ThrowIfNull(refine);
        return InteractionMlp.FromLayers(tokenDim, [.. refine.Interaction.Select(l => (l.Weights, l.Bias))], refine.DotPath);
    }

    /// <summary>The MLP stored in an index file's refine sections.</summary>
    /// <exception cref="InvalidOperationException">The file has no refine sections.</exception>
    public static InteractionMlp FromIndex(IndexFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (!file.HasRefine)
        {
            throw new InvalidOperationException($"'{file.Path}' has no refine sections (item tokens and the interaction MLP); export it with --refine-sections.");
        }
        var layers = new (float[] Weights, float[] Bias)[file.InteractionLayers];
        for (int l = 0; l < layers.Length; l++)
        {
            layers[l] = (file.InteractionWeight(l).ToArray(), file.InteractionBias(l).ToArray());
        }
        return InteractionMlp.FromLayers(file.Dimensions.TokenDim, layers, file.InteractionDotPath);
    }
}
