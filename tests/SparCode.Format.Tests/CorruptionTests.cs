using System.Buffers.Binary;
using System.IO.Hashing;

namespace SparCode.Format.Tests;

/// <summary>Every kind of damage gets its own exception kind and a message naming the value.</summary>
public sealed class CorruptionTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _path;
    private readonly byte[] _good;
    private readonly IReadOnlyList<SectionEntry> _sections;
    private readonly ModelDimensions _dims;

    public CorruptionTests()
    {
        _path = SmallIndexes.Write(_dir, SmallIndexes.Contents());
        _good = File.ReadAllBytes(_path);
        using var file = IndexFile.Open(_path);
        _sections = file.Sections;
        _dims = file.Dimensions;
    }

    public void Dispose() => _dir.Dispose();

    private SectionEntry Section(SectionKind kind, int index = 0) => _sections.Single(s => s.Kind == kind && s.Index == index);

    /// <summary>Writes a damaged copy; with <paramref name="rehash"/> the checksum is made valid again so that later checks are reached.</summary>
    private string Damaged(Action<byte[]> damage, bool rehash, int? truncateTo = null)
    {
        var bytes = (byte[])_good.Clone();
        damage(bytes);
        if (rehash)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8), XxHash3.HashToUInt64(bytes.AsSpan(0, bytes.Length - 8)));
        }
        string path = _dir.File($"damaged-{Guid.NewGuid():N}.sci");
        File.WriteAllBytes(path, truncateTo is int n ? bytes[..n] : bytes);
        return path;
    }

    private static CorruptIndexException Corrupt(string path, CorruptionKind kind, string messagePart)
    {
        var e = Assert.Throws<CorruptIndexException>(() => IndexFile.Open(path).Dispose());
        Assert.Equal(kind, e.Kind);
        Assert.Contains(messagePart, e.Message);
        return e;
    }

    [Fact]
    public void Truncated_file() => Corrupt(Damaged(_ => { }, false, truncateTo: _good.Length - 100), CorruptionKind.Truncated, $"the file is {_good.Length - 100} bytes; its header says {_good.Length}");

    [Fact]
    public void File_too_short_for_header_and_footer()
    {
        Corrupt(Damaged(_ => { }, false, truncateTo: 40), CorruptionKind.Truncated, "the file is 40 bytes; an index has at least 88");
        Corrupt(Damaged(_ => { }, false, truncateTo: 0), CorruptionKind.Truncated, "the file is 0 bytes");
    }

    [Fact]
    public void Bad_magic() => Corrupt(Damaged(b => b[0] = (byte)'X', false), CorruptionKind.BadMagic, "expected 53504152434F4445");

    [Fact]
    public void Bad_footer_magic() => Corrupt(Damaged(b => b[^24] ^= 0xFF, false), CorruptionKind.BadMagic, "footer");

    [Fact]
    public void Trailing_bytes()
    {
        string path = Damaged(_ => { }, false);
        using (var stream = new FileStream(path, FileMode.Append))
        {
            stream.Write(new byte[16]);
        }
        Corrupt(path, CorruptionKind.SizeLimitExceeded, "trailing bytes");
    }

    [Fact]
    public void Section_count_beyond_cap() =>
        Corrupt(Damaged(b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(24), 1_000_000), false), CorruptionKind.SizeLimitExceeded, "section count is 1000000");

    [Fact]
    public void Too_new_version()
    {
        var e = Assert.Throws<IndexVersionException>(() => IndexFile.Open(Damaged(b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8), IndexLayout.CurrentVersion + 1), false)));
        Assert.True(e.IsTooNew);
        Assert.Contains($"format version {IndexLayout.CurrentVersion + 1}, newer than this library reads", e.Message);
    }

    [Fact]
    public void Too_old_version()
    {
        var e = Assert.Throws<IndexVersionException>(() => IndexFile.Open(Damaged(b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan(8), IndexLayout.OldestReadableVersion - 1), false)));
        Assert.False(e.IsTooNew);
        Assert.Contains("older than this library reads", e.Message);
    }

    [Fact]
    public void Flipped_byte_fails_the_checksum()
    {
        long offset = Section(SectionKind.PostingScores).Offset + 13;
        string path = Damaged(b => b[offset] ^= 0x10, false);
        Corrupt(path, CorruptionKind.ChecksumMismatch, "XxHash3 of the file is");
        // Skipping the checksum is allowed, and the structure checks still run (this flip keeps the structure valid or not;
        // either way the open must not crash).
        try
        {
            IndexFile.Open(path, IndexValidation.SkipChecksum).Dispose();
        }
        catch (CorruptIndexException e)
        {
            Assert.NotEqual(CorruptionKind.ChecksumMismatch, e.Kind);
        }
    }

    [Fact]
    public void Section_outside_the_file()
    {
        int entry = _sections.ToList().IndexOf(Section(SectionKind.PostingItems));
        string path = Damaged(b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(IndexLayout.HeaderSize + entry * IndexLayout.SectionEntrySize + 24), b.Length * 2L), true);
        Corrupt(path, CorruptionKind.SectionOutOfRange, "PostingItems[0]");
    }

    [Fact]
    public void Posting_offset_out_of_range()
    {
        long at = Section(SectionKind.PostingOffsets).Offset + 8 * 3;
        Corrupt(Damaged(b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan((int)at), 1L << 40), true), CorruptionKind.OffsetOutOfRange, "posting list 2 spans");
    }

    [Fact]
    public void Item_id_out_of_range()
    {
        long at = Section(SectionKind.PostingItems).Offset + 4 * 10;
        string path = Damaged(b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan((int)at), _dims.ItemCount), true);
        var e = Corrupt(path, CorruptionKind.ItemIdOutOfRange, $"holds item id {_dims.ItemCount}; expected 0..{_dims.ItemCount - 1}");
        Assert.Equal(path, e.Path);
    }

    [Fact]
    public void Postings_not_ascending()
    {
        long at = Section(SectionKind.PostingItems).Offset;
        // The first list starts at 0; putting a larger id first breaks the order without leaving the range.
        var offsets = new long[2];
        int length = 0;
        for (int c = 0; length < 2; c++)
        {
            offsets[0] = BinaryPrimitives.ReadInt64LittleEndian(_good.AsSpan((int)Section(SectionKind.PostingOffsets).Offset + 8 * c));
            offsets[1] = BinaryPrimitives.ReadInt64LittleEndian(_good.AsSpan((int)Section(SectionKind.PostingOffsets).Offset + 8 * (c + 1)));
            length = (int)(offsets[1] - offsets[0]);
        }
        long first = at + 4 * offsets[0];
        Corrupt(Damaged(b => BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan((int)first), _dims.ItemCount - 1), true), CorruptionKind.PostingsNotAscending, "expected strictly ascending ids");
    }

    [Fact]
    public void Nan_weight()
    {
        long at = Section(SectionKind.TowerWeight, 1).Offset + 4 * 7;
        Corrupt(Damaged(b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan((int)at), float.NaN), true), CorruptionKind.NonFiniteValue, "TowerWeight[1][7] is NaN");
    }

    [Fact]
    public void Infinite_posting_score()
    {
        long at = Section(SectionKind.PostingScores).Offset;
        Corrupt(Damaged(b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan((int)at), float.PositiveInfinity), true), CorruptionKind.NonFiniteValue, "expected a finite number");
    }

    [Fact]
    public void Wrong_list_maximum()
    {
        long at = Section(SectionKind.ListMaxScores).Offset;
        Corrupt(Damaged(b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan((int)at), 1e6f), true), CorruptionKind.BadScore, "stores maximum 1000000");
    }

    [Fact]
    public void Dimensions_that_disagree_with_the_sections()
    {
        long at = Section(SectionKind.Dimensions).Offset + 8; // EmbeddingDim
        Corrupt(Damaged(b => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan((int)at), 17), true), CorruptionKind.ShapeMismatch, "ItemEmbedding[0]");
    }

    [Fact]
    public void Metadata_that_is_not_json()
    {
        long at = Section(SectionKind.Metadata).Offset;
        Corrupt(Damaged(b => b[at] = (byte)'[', true), CorruptionKind.BadMetadata, "metadata");
    }

    [Fact]
    public void Missing_file_is_file_not_found()
    {
        var e = Assert.Throws<FileNotFoundException>(() => IndexFile.Open(_dir.File("nope.sci")));
        Assert.Contains("nope.sci", e.Message);
    }

    [Fact]
    public void Verify_passes_a_good_file()
    {
        using var file = IndexFile.Open(_path);
        file.Verify();
    }
}
