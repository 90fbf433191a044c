using SparCode.Format;
using SparCode.Synthetic;

namespace SparCode.Engine.Gpu.Tests;

/// <summary>The refine sections as the GPU side reads them: split into the scorer's MLP, and absent without changing search.</summary>
public sealed class RefineSectionsTests : IDisposable
{
    private const int ItemTokenDim = SmallIndexes.RefineItemTokenDim;
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    private static IndexContents Plain() => SmallIndexes.Contents(3);

    private static float[] Random(Random random, int count) => [.. Enumerable.Range(0, count).Select(_ => random.NextSingle() * 2f - 1f)];

    private static RefineModel Refine(int itemCount) => SmallIndexes.Refine(itemCount);

    private string Write(IndexContents contents, string name) => SmallIndexes.Write(_folder, contents, name);

    [Fact]
    public void Refine_sections_round_trip_and_split_into_the_scorer_mlp()
    {
        var contents = Plain();
        var refine = Refine(contents.Dimensions.ItemCount);
        string path = Write(contents with { Refine = refine }, "refine.sci");
        using var file = IndexFile.Open(path);
        Assert.True(file.HasRefine);
        Assert.Equal(ItemTokenDim, file.ItemTokenDim);
        Assert.Equal(3, file.InteractionLayers);
        Assert.Equal(refine.ItemTokens, file.ItemTokens.ToArray());
        for (int l = 0; l < 3; l++)
        {
            Assert.Equal(refine.Interaction[l].Weights, file.InteractionWeight(l).ToArray());
            Assert.Equal(refine.Interaction[l].Bias, file.InteractionBias(l).ToArray());
            Assert.Equal(refine.Interaction[l].Outputs, file.InteractionOutputs(l));
        }
        file.Verify();

        // The split first layer computes the same f as the whole layer on [z ; v].
        var mlp = RefineMlp.FromIndex(file);
        Assert.Equal((8, ItemTokenDim, 12), (mlp.TokenDim, mlp.ItemDim, mlp.FirstWidth));
        var random = new Random(5);
        for (int trial = 0; trial < 5; trial++)
        {
            var z = Random(random, 8);
            var v = Random(random, ItemTokenDim);
            Assert.Equal(WholeLayerReference(refine.Interaction, [.. z, .. v]), mlp.ScoreReference(z, v), 5);
        }
    }

    /// <summary>f by plain loops over the unsplit layers.</summary>
    private static float WholeLayerReference(IReadOnlyList<DenseLayer> layers, double[] x)
    {
        for (int l = 0; l < layers.Count; l++)
        {
            var layer = layers[l];
            var y = new double[layer.Outputs];
            for (int o = 0; o < y.Length; o++)
            {
                double a = layer.Bias[o];
                for (int j = 0; j < layer.Inputs; j++)
                {
                    a += layer.Weights[o * layer.Inputs + j] * x[j];
                }
                y[o] = l < layers.Count - 1 ? Math.Max(a, 0) : a;
            }
            x = y;
        }
        return (float)x[0];
    }

    [Fact]
    public void The_dot_path_flag_round_trips_into_the_scorer_mlp()
    {
        var contents = Plain();
        var refine = Refine(contents.Dimensions.ItemCount) with { DotPath = true };
        string path = Write(contents with { Refine = refine }, "dot.sci");
        using (var file = IndexFile.Open(path))
        {
            Assert.True(file.InteractionDotPath);
            var mlp = RefineMlp.FromIndex(file);
            Assert.True(mlp.DotPath);
            var random = new Random(9);
            var (z, v) = (Random(random, 8), Random(random, ItemTokenDim));
            double inner = Enumerable.Range(0, 8).Sum(j => (double)z[j] * v[j]);
            Assert.Equal(WholeLayerReference(refine.Interaction, [.. z, .. v]) + inner, mlp.ScoreReference(z, v), 4);
        }
        using (var plain = IndexFile.Open(Write(contents with { Refine = refine with { DotPath = false } }, "no-dot.sci")))
        {
            Assert.False(plain.InteractionDotPath);
            Assert.DoesNotContain(plain.Sections, e => e.Kind == SectionKind.InteractionFlags);
        }
    }

    [Fact]
    public void Files_without_refine_sections_report_none_and_serve_the_same()
    {
        var contents = Plain();
        string plainPath = Write(contents, "plain.sci");
        using var plain = SparCodeIndex.Open(plainPath);
        using var plainFile = IndexFile.Open(plainPath);
        using var refined = SparCodeIndex.Open(Write(contents with { Refine = Refine(contents.Dimensions.ItemCount) }, "with-refine.sci"));
        Assert.False(plain.Description.HasRefine);
        Assert.Equal(0, plainFile.ItemTokenDim);
        Assert.Equal(0, plainFile.InteractionLayers);
        var e = Assert.Throws<InvalidOperationException>(() => RefineMlp.FromIndex(plainFile));
        Assert.Contains("--refine-sections", e.Message);
        foreach (var history in SyntheticIndex.Histories(contents.Dimensions.ItemCount, 5, 4, 6))
        {
            var (a, b) = (new long[10], new long[10]);
            var (sa, sb) = (new float[10], new float[10]);
            plain.CreateSearcher().Search(history, 10, a, sa);
            refined.CreateSearcher().Search(history, 10, b, sb);
            Assert.Equal(a, b);
            Assert.Equal(sa, sb);
        }
    }
}
