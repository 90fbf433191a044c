using System.Buffers.Binary;
using System.IO.Hashing;
using SparCode.Engine;
using SparCode.Format;
using SparCode.Synthetic;

namespace SparCode.Kernels.Gpu.Tests;

/// <summary>The optional refine sections of the index format: written, read back, validated on open.</summary>
public sealed class RefineSectionsTests : IDisposable
{
    private const int ItemTokenDim = 10;
    private readonly string _folder = Directory.CreateTempSubdirectory("sparcode-refine-sections-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private static IndexContents Plain() => SyntheticIndex.Create(new SyntheticOptions
    {
        ItemCount = 300,
        EmbeddingDim = 16,
        HistoryLength = 5,
        UserTokens = 3,
        Subspaces = 2,
        CodebookSize = 4,
        TokenDim = 8,
        HiddenWidths = [24, 20],
        MeanPostingsPerList = 40,
        Seed = 3,
    });

    private static float[] Random(Random random, int count) => [.. Enumerable.Range(0, count).Select(_ => random.NextSingle() * 2f - 1f)];

    private static DenseLayer Layer(Random random, int outputs, int inputs) => new(outputs, inputs, Random(random, outputs * inputs), Random(random, outputs));

    /// <summary>Item tokens of size 10 and an MLP (8 + 10) → 12 → 7 → 1.</summary>
    private static RefineModel Refine(int itemCount)
    {
        var random = new Random(4);
        return new RefineModel(ItemTokenDim, Random(random, itemCount * ItemTokenDim), [Layer(random, 12, 8 + ItemTokenDim), Layer(random, 7, 12), Layer(random, 1, 7)]);
    }

    private string Write(IndexContents contents, string name)
    {
        string path = Path.Combine(_folder, name);
        IndexWriter.Write(path, contents);
        return path;
    }

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
        var mlp = InteractionMlp.FromIndex(file);
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
    public void The_dot_path_flag_round_trips_and_is_validated()
    {
        var contents = Plain();
        var refine = Refine(contents.Dimensions.ItemCount) with { DotPath = true };
        string path = Write(contents with { Refine = refine }, "dot.sci");
        using (var file = IndexFile.Open(path))
        {
            Assert.True(file.InteractionDotPath);
            var mlp = InteractionMlp.FromIndex(file);
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
        var narrow = new RefineModel(4, new float[contents.Dimensions.ItemCount * 4], [Layer(new Random(1), 3, 12), Layer(new Random(2), 1, 3)], DotPath: true);
        var e = Assert.Throws<ArgumentException>(() => IndexWriter.Write(Path.Combine(_folder, "narrow.sci"), contents with { Refine = narrow }));
        Assert.Contains("the dot path needs item tokens of at least D = 8 floats; they have 4", e.Message);
        var bad = Assert.Throws<CorruptIndexException>(() => IndexFile.Open(Damaged(path, (b, s) =>
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan((int)s.Single(x => x.Kind == SectionKind.InteractionFlags).Offset), 3))).Dispose());
        Assert.Equal(CorruptionKind.ShapeMismatch, bad.Kind);
        Assert.Contains("interaction flags are 0x3; expected only bit 0", bad.Message);
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
        var e = Assert.Throws<InvalidOperationException>(() => InteractionMlp.FromIndex(plainFile));
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

    [Fact]
    public void The_writer_refuses_inconsistent_refine_sections()
    {
        var contents = Plain();
        int n = contents.Dimensions.ItemCount;
        var good = Refine(n);
        void Refused(RefineModel refine, string part)
        {
            var e = Assert.Throws<ArgumentException>(() => IndexWriter.Write(Path.Combine(_folder, "refused.sci"), contents with { Refine = refine }));
            Assert.Contains(part, e.Message);
        }
        Refused(good with { ItemTokens = new float[(n - 1) * ItemTokenDim] }, $"ItemTokens[0] has {(n - 1) * ItemTokenDim} elements; expected {n} × {ItemTokenDim}");
        Refused(good with { Interaction = [good.Interaction[0], good.Interaction[2]] }, "interaction layer 1 is 1 × 7; expected at least one output and 12 inputs");
        Refused(good with { Interaction = [good.Interaction[0], good.Interaction[1]] }, "the last interaction layer has 7 outputs; expected 1");
        Refused(good with { Interaction = [good.Interaction[2]] }, "the interaction MLP has 1 layers; expected 2..64");
        var nan = good.Interaction[1] with { Weights = [.. good.Interaction[1].Weights] };
        nan.Weights[5] = float.NaN;
        Refused(good with { Interaction = [good.Interaction[0], nan, good.Interaction[2]] }, "InteractionWeight[1][5] is NaN");
        Assert.False(File.Exists(Path.Combine(_folder, "refused.sci")));
    }

    private string Damaged(string path, Action<byte[], IReadOnlyList<SectionEntry>> damage)
    {
        var bytes = File.ReadAllBytes(path);
        using (var file = IndexFile.Open(path))
        {
            damage(bytes, file.Sections);
        }
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8), XxHash3.HashToUInt64(bytes.AsSpan(0, bytes.Length - 8)));
        string damaged = Path.Combine(_folder, $"damaged-{Guid.NewGuid():N}.sci");
        File.WriteAllBytes(damaged, bytes);
        return damaged;
    }

    private static int TableRow(IReadOnlyList<SectionEntry> sections, SectionKind kind, int index) =>
        IndexLayout.HeaderSize + IndexLayout.SectionEntrySize * sections.Select((e, i) => (e, i)).Single(p => p.e.Kind == kind && p.e.Index == index).i;

    [Fact]
    public void The_reader_refuses_damaged_refine_sections()
    {
        var contents = Plain();
        string path = Write(contents with { Refine = Refine(contents.Dimensions.ItemCount) }, "good.sci");
        void Corrupt(Action<byte[], IReadOnlyList<SectionEntry>> damage, CorruptionKind kind, string part)
        {
            var e = Assert.Throws<CorruptIndexException>(() => IndexFile.Open(Damaged(path, damage)).Dispose());
            Assert.Equal(kind, e.Kind);
            Assert.Contains(part, e.Message);
        }
        // A kind no reader knows (99) hides a section: the set is incomplete.
        Corrupt((b, s) => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(TableRow(s, SectionKind.InteractionBias, 2)), 99),
            CorruptionKind.MissingSection, "3 interaction weight and 2 bias sections");
        Corrupt((b, s) => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(TableRow(s, SectionKind.ItemTokens, 0)), 99),
            CorruptionKind.MissingSection, "no ItemTokens section");
        // Layer 1 stored as 12 × 7 instead of 7 × 12: same byte length, wrong chain.
        Corrupt((b, s) =>
        {
            int row = TableRow(s, SectionKind.InteractionWeight, 1);
            BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(row + 8), 12);
            BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(row + 16), 7);
        }, CorruptionKind.ShapeMismatch, "section InteractionWeight[1] is 12 × 7; expected 12 × 12");
        Corrupt((b, s) => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan((int)s.Single(e => e.Kind == SectionKind.ItemTokens).Offset + 4 * 7), float.PositiveInfinity),
            CorruptionKind.NonFiniteValue, "ItemTokens[0][7] is ");
    }
}
