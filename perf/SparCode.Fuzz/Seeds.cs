using SparCode.Format;
using SparCode.Synthetic;

namespace SparCode.Fuzz;

/// <summary>
/// The seed corpus: a few valid, deliberately tiny indexes (1–3 KB, so that AFL++'s mutations land on
/// headers, section entries and values rather than on kilobytes of embeddings), one per reader path.
/// The format-version-1 seed is the test fixture, which perf/fuzz/run.sh copies in beside these.
/// </summary>
internal static class Seeds
{
    /// <summary>12 items, d = 4, L = 3, K_u = 2, one codebook of 3 codes, D = 2, one hidden layer of 4.</summary>
    private static readonly SyntheticOptions Tiny = new()
    {
        ItemCount = 12,
        EmbeddingDim = 4,
        HistoryLength = 3,
        UserTokens = 2,
        Subspaces = 1,
        CodebookSize = 3,
        TokenDim = 2,
        HiddenWidths = [4],
        MeanPostingsPerList = 3,
        Seed = 1,
    };

    /// <summary>Writes the seeds into <paramref name="directory"/> (created if missing) and returns their paths.</summary>
    public static IReadOnlyList<string> Write(string directory)
    {
        Directory.CreateDirectory(directory);
        var written = new List<string>();
        void Seed(string name, IndexContents contents)
        {
            string path = Path.Combine(directory, name);
            IndexWriter.Write(path, contents with { MetadataJson = $"{{\"seed\":\"{name}\"}}" });
            written.Add(path);
        }

        // The MLP tower with a fallback order: the common exported file.
        Seed("mlp.index", SyntheticIndex.Create(Tiny));

        // Two codebooks of 2 (4 codes), no fallback order, a code remap and the refine sections with the dot path.
        var sparse = SyntheticIndex.Create(Tiny with { Subspaces = 2, CodebookSize = 2, WithFallbackOrder = false, Seed = 2 });
        int codes = sparse.Dimensions.CodeCount;
        int tokenDim = sparse.Dimensions.TokenDim;
        const int itemTokenDim = 2;
        Seed("remap-refine.index", sparse with
        {
            CodeRemap = Enumerable.Range(0, codes).Select(c => c & ~1).ToArray(),
            Refine = new RefineModel(
                itemTokenDim,
                Enumerable.Range(0, sparse.Dimensions.ItemCount * itemTokenDim).Select(i => (i % 5) * 0.25f).ToArray(),
                [
                    new DenseLayer(2, tokenDim + itemTokenDim, Enumerable.Range(0, 2 * (tokenDim + itemTokenDim)).Select(i => 0.5f - (i % 3) * 0.25f).ToArray(), [0.1f, -0.1f]),
                    new DenseLayer(1, 2, [1f, -0.5f], [0f]),
                ],
                DotPath: true),
        });

        // The causal self-attention tower (format version 2): one block, two heads, feed-forward width 4.
        Seed("attention.index", SyntheticIndex.Create(Tiny with { AttentionBlocks = 1, AttentionHeads = 2, FeedForwardWidth = 4, Seed = 3 }));
        return written;
    }
}
