
namespace SparCode.Format.Tests;

public class FormatRoundTripTests
{
    [Fact]
    public void Everything_written_reads_back_identically()
    {
        using var dir = new TempDirectory();
        var contents = SmallIndexes.Contents();
        string path = SmallIndexes.Write(dir, contents);
        using var file = IndexFile.Open(path);

        Assert.Equal(contents.Dimensions, file.Dimensions);
        Assert.Equal(IndexLayout.CurrentVersion, file.Version);
        Assert.Equal(new FileInfo(path).Length, file.Length);
        Assert.Equal(contents.ItemEmbedding, file.ItemEmbedding.ToArray());
        for (int l = 0; l < contents.Tower.Count; l++)
        {
            Assert.Equal(contents.Tower[l].Weights, file.TowerWeight(l).ToArray());
            Assert.Equal(contents.Tower[l].Bias, file.TowerBias(l).ToArray());
            Assert.Equal(contents.Tower[l].Outputs, file.TowerOutputs(l));
        }
        Assert.Equal(contents.Heads.Weights, file.HeadWeight.ToArray());
        Assert.Equal(contents.Heads.Bias, file.HeadBias.ToArray());
        Assert.Equal(contents.Codebooks, file.Codebooks.ToArray());
        Assert.Equal(contents.PostingOffsets, file.PostingOffsets.ToArray());
        Assert.Equal(contents.PostingItems, file.PostingItems.ToArray());
        Assert.Equal(contents.PostingScores, file.PostingScores.ToArray());
        Assert.Equal(contents.ItemIds, file.ExternalItemIds.ToArray());
        Assert.Equal(contents.FallbackOrder, file.FallbackOrder.ToArray());
        Assert.Equal(contents.MetadataJson, file.MetadataJson);
        Assert.Equal(System.IO.Hashing.XxHash3.HashToUInt64(File.ReadAllBytes(path).AsSpan()[..^8]), file.StoredChecksum);
        for (int c = 0; c < contents.Dimensions.CodeCount; c++)
        {
            var scores = contents.PostingScores.AsSpan((int)contents.PostingOffsets[c], (int)(contents.PostingOffsets[c + 1] - contents.PostingOffsets[c]));
            Assert.Equal(scores.IsEmpty ? 0f : scores.ToArray().Max(), file.ListMaxScores.Span[c]);
        }
        file.Verify();
    }

    [Fact]
    public void Same_options_give_byte_identical_contents()
    {
        // Reproducibility across processes is what matters: the pinned hash catches per-process
        // randomness (such as HashCode seeding) that two calls in one process cannot.
        var a = SmallIndexes.Contents(seed: 3);
        var b = SmallIndexes.Contents(seed: 3);
        Assert.Equal(a.PostingItems, b.PostingItems);
        Assert.Equal(a.PostingScores, b.PostingScores);
        Assert.Equal(a.Codebooks, b.Codebooks);
        Assert.Equal(0xB4E7F49E426D1B1BUL, System.IO.Hashing.XxHash3.HashToUInt64(System.Runtime.InteropServices.MemoryMarshal.AsBytes(a.PostingItems.AsSpan())));
    }

    [Fact]
    public void Writing_into_a_missing_folder_names_the_real_path()
    {
        using var dir = new TempDirectory();
        string path = Path.Combine(dir.Path, "missing", "x.sci");
        var e = Assert.Throws<DirectoryNotFoundException>(() => IndexWriter.Write(path, SmallIndexes.Contents()));
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Non_contiguous_external_ids_map_both_ways()
    {
        using var dir = new TempDirectory();
        var baseContents = SmallIndexes.Contents();
        var ids = baseContents.ItemIds.Select(i => i * 7 + 1_000_000_000_000L).ToArray();
        string path = SmallIndexes.Write(dir, baseContents with { ItemIds = ids });
        using var file = IndexFile.Open(path);
        Assert.False(file.ItemIds.IsContiguous);
        Assert.True(file.ItemIds.TryGetInternal(ids[123], out int internalId));
        Assert.Equal(123, internalId);
        Assert.False(file.ItemIds.TryGetInternal(5, out _));
    }

    [Fact]
    public void Writer_refuses_nan_weights_and_leaves_no_file()
    {
        using var dir = new TempDirectory();
        var contents = SmallIndexes.Contents();
        contents.Tower[1].Weights[5] = float.NaN;
        string path = dir.File("bad.sci");
        var e = Assert.Throws<ArgumentException>(() => IndexWriter.Write(path, contents));
        Assert.Contains("TowerWeight[1][5] is NaN", e.Message);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Writer_refuses_duplicate_external_ids_and_unsorted_postings()
    {
        using var dir = new TempDirectory();
        var contents = SmallIndexes.Contents();
        var ids = (long[])contents.ItemIds.Clone();
        ids[9] = ids[3];
        var e = Assert.Throws<ArgumentException>(() => IndexWriter.Write(dir.File("a.sci"), contents with { ItemIds = ids }));
        Assert.Contains("external item id 3 appears at internal ids 3 and 9", e.Message);

        var items = (int[])contents.PostingItems.Clone();
        int list = Enumerable.Range(0, contents.Dimensions.CodeCount).First(c => contents.PostingOffsets[c + 1] - contents.PostingOffsets[c] >= 2);
        int start = (int)contents.PostingOffsets[list];
        (items[start], items[start + 1]) = (items[start + 1], items[start]);
        e = Assert.Throws<ArgumentException>(() => IndexWriter.Write(dir.File("b.sci"), contents with { PostingItems = items }));
        Assert.Contains("strictly ascending", e.Message);
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void Rewrite_replaces_the_old_file_atomically_and_leaves_no_temporary()
    {
        using var dir = new TempDirectory();
        string path = SmallIndexes.Write(dir, SmallIndexes.Contents(seed: 1));
        using (var first = IndexFile.Open(path))
        {
            // Replacing a file that is mapped must work (rename, not overwrite in place), and the old
            // mapping keeps its own bytes.
            var before = first.PostingScores.ToArray();
            IndexWriter.Write(path, SmallIndexes.Contents(seed: 2));
            Assert.Equal(before, first.PostingScores.ToArray());
        }
        using var second = IndexFile.Open(path);
        Assert.Equal(SmallIndexes.Contents(seed: 2).PostingScores, second.PostingScores.ToArray());
        Assert.Equal([path], Directory.GetFiles(dir.Path));
    }
}
