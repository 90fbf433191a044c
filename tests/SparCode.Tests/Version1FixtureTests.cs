using SparCode.Engine;

namespace SparCode.Tests;

/// <summary>
/// Files of format version 1 (the MLP tower only) must still open and serve exactly as before version 2.
/// </summary>
/// <remarks>
/// <c>Fixtures/version1.index</c> (4,184 bytes) was written by <c>IndexWriter</c> at commit 16781c5 (format
/// version 1) from <c>SyntheticIndex.Create(new SyntheticOptions { ItemCount = 40, EmbeddingDim = 8,
/// HistoryLength = 4, UserTokens = 2, Subspaces = 2, CodebookSize = 3, TokenDim = 4, HiddenWidths = [8],
/// MeanPostingsPerList = 6, Seed = 7 })</c> with metadata <c>{"fixture":"format version 1"}</c>; the expected
/// answers below were printed by that same commit's engine.
/// </remarks>
public sealed class Version1FixtureTests
{
    private static readonly string FixturePath = Path.Combine(AppContext.BaseDirectory, "Fixtures", "version1.index");

    public static TheoryData<long[], int[], long[], uint[]> Answers() => new()
    {
        { [3], [0, 4], [34, 16, 11, 20, 36], [0x3F08191E, 0x3EFD42B3, 0x3EE7721C, 0x3E9ECA3C, 0x3E750DA0] },
        { [5, 17], [0, 5], [16, 15, 37, 34, 20], [0x4044D511, 0x3FDC25A6, 0x3F755436, 0x3EBAFCE0, 0x3E9ECA3C] },
        { [1, 2, 3, 4, 5, 6], [0, 3], [27, 16, 20, 14, 34], [0x3FF55324, 0x3F97ACAD, 0x3E9ECA3C, 0x3E030208, 0] },
        { [39, 0, 12], [0, 0], [16, 20, 14, 34, 37], [0x3F7D42B3, 0x3F1ECA3C, 0x3E830208, 0, 0] },
    };

    [Fact]
    public void Version1_file_opens_with_its_version_and_mlp_tower()
    {
        using var index = SparCodeIndex.Open(FixturePath);
        Assert.Equal(1, index.File.Version);
        Assert.Equal(2, index.Dimensions.TowerLayers);
        Assert.False(index.File.HasAttention);
        Assert.False(index.Tower.HasAttention);
        Assert.Equal("{\"fixture\":\"format version 1\"}", index.File.MetadataJson);
        index.Verify();
    }

    [Theory]
    [MemberData(nameof(Answers))]
    public void Version1_file_serves_the_codes_and_results_it_served_before_version_2(long[] history, int[] codes, long[] ids, uint[] scoreBits)
    {
        using var index = SparCodeIndex.Open(FixturePath);
        var searcher = index.CreateSearcher();
        var gotCodes = new int[2];
        searcher.Encode(history, gotCodes);
        Assert.Equal(codes, gotCodes);
        var gotIds = new long[5];
        var gotScores = new float[5];
        Assert.Equal(5, searcher.Search(history, 5, gotIds, gotScores));
        Assert.Equal(ids, gotIds);
        Assert.Equal(scoreBits, gotScores.Select(BitConverter.SingleToUInt32Bits));
    }

    [Fact]
    public void Version1_file_gives_the_same_tokens_bit_for_bit()
    {
        using var index = SparCodeIndex.Open(FixturePath);
        var tokens = new float[8];
        index.Tower.Tokens([5, 17], tokens, new float[index.Tower.ScratchLength], new float[index.Tower.ScratchLength]);
        uint[] expected = [0xBF6EDBAC, 0x3F22EA9A, 0xBEB17EF1, 0x3ED31897, 0x3ED02CF7, 0xBF6888D0, 0x3DD85DFA, 0xBF7758B4];
        Assert.Equal(expected, tokens.Select(BitConverter.SingleToUInt32Bits));
    }
}
