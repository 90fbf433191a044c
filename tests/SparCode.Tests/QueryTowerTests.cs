using SparCode.Engine;
using SparCode.Format;
using SparCode.Synthetic;

namespace SparCode.Tests;

public sealed class QueryTowerTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>
    /// The plain model, straight from the untransposed weights: mean of the last L embedding rows, each
    /// layer bias + Σ_j W[o, j]·x[j] (fused multiply-adds in input order), ReLU between layers, heads,
    /// then per token and subspace the first nearest codeword.
    /// </summary>
    private static (float[] Tokens, int[] Codes) Reference(IndexContents c, int[] items)
    {
        var dims = c.Dimensions;
        int d = dims.EmbeddingDim;
        var recent = items[Math.Max(0, items.Length - dims.HistoryLength)..];
        var x = new float[d];
        foreach (int item in recent)
        {
            for (int j = 0; j < d; j++)
            {
                x[j] += c.ItemEmbedding[(item + 1) * d + j];
            }
        }
        x = x.Select(v => v * (1f / recent.Length)).ToArray();
        for (int l = 0; l < c.Tower.Count; l++)
        {
            x = Layer(c.Tower[l], x, relu: l < c.Tower.Count - 1);
        }
        var tokens = Layer(c.Heads, x, relu: false);
        var codes = new int[dims.UserTokens];
        int sub = dims.SubvectorDim;
        for (int k = 0; k < dims.UserTokens; k++)
        {
            int stride = 1;
            for (int m = 0; m < dims.Subspaces; m++)
            {
                int best = 0;
                float bestDistance = float.PositiveInfinity;
                for (int r = 0; r < dims.CodebookSize; r++)
                {
                    float acc = 0f;
                    for (int j = 0; j < sub; j++)
                    {
                        float diff = tokens[k * dims.TokenDim + m * sub + j] - c.Codebooks[(m * dims.CodebookSize + r) * sub + j];
                        acc = MathF.FusedMultiplyAdd(diff, diff, acc);
                    }
                    if (acc < bestDistance)
                    {
                        (best, bestDistance) = (r, acc);
                    }
                }
                codes[k] += best * stride;
                stride *= dims.CodebookSize;
            }
        }
        return (tokens, codes);
    }

    private static float[] Layer(DenseLayer layer, float[] x, bool relu)
    {
        var y = new float[layer.Outputs];
        for (int o = 0; o < layer.Outputs; o++)
        {
            float a = layer.Bias[o];
            for (int j = 0; j < layer.Inputs; j++)
            {
                a = MathF.FusedMultiplyAdd(layer.Weights[o * layer.Inputs + j], x[j], a);
            }
            y[o] = relu ? MathF.Max(a, 0f) : a;
        }
        return y;
    }

    [Fact]
    public void Tokens_and_codes_equal_the_plain_model_exactly()
    {
        var contents = SyntheticIndex.Create(SmallIndexes.Options(6) with { HistoryLength = 4, CodebookSize = 19 });
        using var index = SparCodeIndex.Open(SmallIndexes.Write(_dir, contents));
        var tower = index.Tower;
        var tokens = new float[contents.Dimensions.UserTokens * contents.Dimensions.TokenDim];
        var codes = new int[contents.Dimensions.UserTokens];
        var scratchA = new float[tower.ScratchLength];
        var scratchB = new float[tower.ScratchLength];
        var usedCodes = new HashSet<int>();
        foreach (var history in SyntheticIndex.Histories(contents.Dimensions.ItemCount, 100, 9, 3))
        {
            var items = history.Select(x => (int)x).ToArray();
            tower.Tokens(items, tokens, scratchA, scratchB);
            tower.Codes(tokens, codes);
            var (expectedTokens, expectedCodes) = Reference(contents, items);
            Assert.Equal(expectedTokens, tokens);
            Assert.Equal(expectedCodes, codes);
            usedCodes.UnionWith(codes);
        }
        // Codebooks seeded from real tokens spread queries over many codes.
        Assert.True(usedCodes.Count > 20, $"only {usedCodes.Count} codes used");
    }
}
