using SparCode.Engine;
using SparCode.Format;

namespace SparCode.Tests;

/// <summary>The index's public read API: copies of the lists, id lookups and the description, checked against the file.</summary>
public sealed class IndexAccessTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void CopiesEqualTheFileAndTheDescriptionOutlivesTheIndex()
    {
        var contents = SmallIndexes.Contents(3);
        string path = SmallIndexes.Write(_dir, contents);
        var index = SparCodeIndex.Open(path);
        for (int code = 0; code < index.Dimensions.CodeCount; code++)
        {
            int start = (int)contents.PostingOffsets[code], length = (int)(contents.PostingOffsets[code + 1] - start);
            Assert.Equal(length, index.PostingListLength(code));
            var (items, scores) = (new int[length + 3], new float[length + 3]);
            Assert.Equal(length, index.CopyPostingList(code, items, scores));
            Assert.Equal(contents.PostingItems.AsSpan(start, length).ToArray(), items[..length]);
            Assert.Equal(contents.PostingScores.AsSpan(start, length).ToArray(), scores[..length]);
            if (length > 0)
            {
                var e = Assert.Throws<ArgumentException>(() => index.CopyPostingList(code, new int[length - 1], new float[length]));
                Assert.Contains($"has {length} postings", e.Message);
            }
        }
        Assert.Throws<ArgumentOutOfRangeException>(() => index.PostingListLength(index.Dimensions.CodeCount));
        Assert.Throws<ArgumentOutOfRangeException>(() => index.ExternalId(-1));
        Assert.True(index.TryGetInternalId(contents.ItemIds[7], out int seven));
        Assert.Equal(7, seven);
        Assert.Equal(contents.ItemIds[7], index.ExternalId(7));
        Assert.False(index.TryGetInternalId(-12345, out int none));
        Assert.Equal(-1, none);

        var description = index.Description;
        index.Dispose();
        Assert.Equal(path, description.Path);
        Assert.Equal(IndexLayout.CurrentVersion, description.FormatVersion);
        Assert.Equal(new FileInfo(path).Length, description.FileLength);
        Assert.Equal(contents.PostingItems.Length, description.PostingCount);
        Assert.False(description.HasAttention);
        Assert.Equal(contents.MetadataJson, description.MetadataJson);
    }
}
