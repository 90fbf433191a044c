using SparCode.Format;
using SparCode.Synthetic;

namespace SparCode.Testing;

/// <summary>Tiny synthetic indexes for tests (milliseconds to build).</summary>
public static class SmallIndexes
{
    public static SyntheticOptions Options(int seed = 1) => new()
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
        Seed = seed,
    };

    /// <summary>A small attention-tower index (format version 2): d = 16, L = 7, 2 blocks, 2 heads, F = 24 unless given.</summary>
    public static SyntheticOptions AttentionOptions(int seed, int d = 16, int length = 7, int blocks = 2, int heads = 2, int width = 24) => Options(seed) with
    {
        EmbeddingDim = d,
        HistoryLength = length,
        AttentionBlocks = blocks,
        AttentionHeads = heads,
        FeedForwardWidth = width,
    };

    public static IndexContents Contents(int seed = 1) => SyntheticIndex.Create(Options(seed));

    /// <summary>Size of an item token in <see cref="Refine"/>.</summary>
    public const int RefineItemTokenDim = 10;

    /// <summary>Refine sections for an index with D = 8: item tokens of size 10 and an MLP (8 + 10) → 12 → 7 → 1.</summary>
    public static RefineModel Refine(int itemCount)
    {
        var random = new Random(4);
        float[] Values(int count) => [.. Enumerable.Range(0, count).Select(_ => random.NextSingle() * 2f - 1f)];
        DenseLayer Layer(int outputs, int inputs) => new(outputs, inputs, Values(outputs * inputs), Values(outputs));
        return new RefineModel(RefineItemTokenDim, Values(itemCount * RefineItemTokenDim), [Layer(12, 8 + RefineItemTokenDim), Layer(7, 12), Layer(1, 7)]);
    }

    public static string Write(TempDirectory dir, IndexContents contents, string name = "index.sci")
    {
        string path = dir.File(name);
        IndexWriter.Write(path, contents);
        return path;
    }
}
