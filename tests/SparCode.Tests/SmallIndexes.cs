using SparCode.Format;
using SparCode.Synthetic;

namespace SparCode.Tests;

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

    public static IndexContents Contents(int seed = 1) => SyntheticIndex.Create(Options(seed));

    public static string Write(TempDirectory dir, IndexContents contents, string name = "index.sci")
    {
        string path = dir.File(name);
        IndexWriter.Write(path, contents);
        return path;
    }
}
