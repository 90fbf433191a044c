using System.Buffers.Binary;
using System.IO.Hashing;
using SparCode.Synthetic;

namespace SparCode.Format.Tests;

/// <summary>Damaged attention-tower sections (format version 2): each gets its own exception kind and a message naming the value.</summary>
public sealed class AttentionCorruptionTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly byte[] _good;
    private readonly IReadOnlyList<SectionEntry> _sections;

    public AttentionCorruptionTests()
    {
        // d = 16, L = 7, N = 2 blocks, H = 2 heads, F = 24.
        string path = SmallIndexes.Write(_dir, SyntheticIndex.Create(SmallIndexes.AttentionOptions(61)));
        _good = File.ReadAllBytes(path);
        using var file = IndexFile.Open(path);
        _sections = file.Sections;
    }

    public void Dispose() => _dir.Dispose();

    private int Row(SectionKind kind, int index = 0) => IndexLayout.HeaderSize + IndexLayout.SectionEntrySize * _sections.ToList().FindIndex(s => s.Kind == kind && s.Index == index);

    private SectionEntry Section(SectionKind kind, int index = 0) => _sections.Single(s => s.Kind == kind && s.Index == index);

    /// <summary>Damages a copy, makes its checksum valid again so that the structure checks are reached, and expects <paramref name="kind"/>.</summary>
    private void Corrupt(Action<byte[]> damage, CorruptionKind kind, string messagePart)
    {
        var bytes = (byte[])_good.Clone();
        damage(bytes);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8), XxHash3.HashToUInt64(bytes.AsSpan(0, bytes.Length - 8)));
        string path = _dir.File($"damaged-{Guid.NewGuid():N}.sci");
        File.WriteAllBytes(path, bytes);
        var e = Assert.Throws<CorruptIndexException>(() => IndexFile.Open(path).Dispose());
        Assert.Equal(kind, e.Kind);
        Assert.Contains(messagePart, e.Message);
    }

    private void SetConfig(byte[] b, int field, long value) => BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan((int)Section(SectionKind.AttentionConfig).Offset + 8 * field), value);

    [Fact]
    public void Missing_block_section() =>
        Corrupt(b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(Row(SectionKind.FeedForwardBias, 3)), 999), CorruptionKind.MissingSection, "section FeedForwardBias[3] is missing");

    [Fact]
    public void Missing_final_norm() =>
        Corrupt(b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(Row(SectionKind.LayerNormBeta, 4)), 999), CorruptionKind.MissingSection, "section LayerNormBeta[4] is missing");

    [Fact]
    public void Attention_sections_without_their_config() =>
        Corrupt(b => BinaryPrimitives.WriteUInt16LittleEndian(b.AsSpan(Row(SectionKind.AttentionConfig)), 999), CorruptionKind.MissingSection, "but no AttentionConfig section");

    [Fact]
    public void Position_embedding_with_the_wrong_shape() => Corrupt(b =>
    {
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(Row(SectionKind.PositionEmbedding) + 8), 16);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(Row(SectionKind.PositionEmbedding) + 16), 7);
    }, CorruptionKind.ShapeMismatch, "section PositionEmbedding[0] is 16 × 7; expected 7 × 16");

    [Fact]
    public void Feed_forward_with_the_wrong_shape() => Corrupt(b =>
    {
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(Row(SectionKind.FeedForwardWeight, 1) + 8), 24);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(Row(SectionKind.FeedForwardWeight, 1) + 16), 16);
    }, CorruptionKind.ShapeMismatch, "section FeedForwardWeight[1] is 24 × 16; expected 16 × 24");

    [Fact]
    public void Weight_stored_as_integers() =>
        Corrupt(b => BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(Row(SectionKind.AttentionInWeight, 1) + 4), (uint)ElementType.Int32), CorruptionKind.ShapeMismatch,
            "section AttentionInWeight[1] holds Int32; expected Float32");

    [Fact]
    public void Heads_that_do_not_divide_d() => Corrupt(b => SetConfig(b, 1, 3), CorruptionKind.ShapeMismatch, "3 heads; expected a divisor of d = 16");

    [Fact]
    public void Block_count_out_of_range()
    {
        Corrupt(b => SetConfig(b, 0, 0), CorruptionKind.ShapeMismatch, "0 blocks; expected 1..64");
        Corrupt(b => SetConfig(b, 0, 65), CorruptionKind.ShapeMismatch, "65 blocks; expected 1..64");
    }

    [Fact]
    public void Feed_forward_width_out_of_range() => Corrupt(b => SetConfig(b, 2, 1 << 20), CorruptionKind.ShapeMismatch, "feed-forward width is 1048576; expected 1..65536");

    [Fact]
    public void Config_claiming_fewer_blocks_than_stored() =>
        Corrupt(b => SetConfig(b, 0, 1), CorruptionKind.MissingSection, "is beyond the attention tower's N = 1 blocks");

    [Fact]
    public void Config_with_the_wrong_shape() => Corrupt(b =>
    {
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(Row(SectionKind.AttentionConfig) + 8), 1);
        BinaryPrimitives.WriteInt64LittleEndian(b.AsSpan(Row(SectionKind.AttentionConfig) + 16), 3);
    }, CorruptionKind.ShapeMismatch, "section AttentionConfig[0] is 1 × 3; expected 3 × 1");

    [Fact]
    public void Nan_in_an_attention_weight() =>
        Corrupt(b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan((int)Section(SectionKind.AttentionOutWeight, 1).Offset + 4 * 5), float.NaN),
            CorruptionKind.NonFiniteValue, "AttentionOutWeight[1][5] is NaN");

    [Fact]
    public void Infinite_layer_norm_gain() =>
        Corrupt(b => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan((int)Section(SectionKind.LayerNormGamma, 2).Offset), float.PositiveInfinity),
            CorruptionKind.NonFiniteValue, "LayerNormGamma[2][0] is ");
}
