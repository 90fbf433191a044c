using SparCode.Engine;
using SparCode.Format;

namespace SparCode.Tests;

public sealed class CodeRemapTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void Remapped_codes_are_served_by_their_target_list()
    {
        var contents = SmallIndexes.Contents(seed: 7);
        int codes = contents.Dimensions.CodeCount;
        // Odd codes are "unused" and served by the even code below them.
        var remap = Enumerable.Range(0, codes).Select(c => c & ~1).ToArray();
        using var index = SparCodeIndex.Open(SmallIndexes.Write(_dir, contents with { CodeRemap = remap }));
        Assert.Equal(remap, index.File.CodeRemap.ToArray());

        var searcher = index.CreateSearcher();
        var ids = new long[20];
        var scores = new float[20];
        bool sawRemapped = false;
        foreach (var history in Synthetic.SyntheticIndex.Histories(contents.Dimensions.ItemCount, 50, 8, 5))
        {
            int count = searcher.Search(history, 20, ids, scores);
            var served = searcher.LastCodes.ToArray();
            Assert.All(served, c => Assert.Equal(0, c % 2));
            var (expectedIds, expectedScores) = BruteForce.Search(index.File, served, history.Select(x => (int)x), 20, fill: true);
            Assert.Equal(expectedIds, ids[..count]);
            Assert.Equal(expectedScores, scores[..count]);

            // The unremapped index would have chosen an odd code for some of these histories.
            using var plain = SparCodeIndex.Open(SmallIndexes.Write(_dir, contents, "plain.sci"));
            var raw = new int[served.Length];
            plain.CreateSearcher().Encode(history, raw);
            Assert.Equal(raw.Select(c => c & ~1), served);
            sawRemapped |= raw.Any(c => c % 2 == 1);
        }
        Assert.True(sawRemapped);
    }

    [Fact]
    public void Writer_refuses_a_remap_to_a_code_that_does_not_serve_itself()
    {
        var contents = SmallIndexes.Contents();
        var remap = Enumerable.Range(0, contents.Dimensions.CodeCount).ToArray();
        remap[3] = 5;
        remap[5] = 6;
        var e = Assert.Throws<ArgumentException>(() => IndexWriter.Write(_dir.File("bad.sci"), contents with { CodeRemap = remap }));
        Assert.Contains("code remap sends code 3 to 5", e.Message);
    }
}
