using System.Buffers.Binary;
using System.IO.Hashing;

namespace SparCode.Format.Tests;

/// <summary>The optional refine sections of the index format: the writer's and the reader's checks.</summary>
public sealed class RefineSectionFormatTests : IDisposable
{
    private const int ItemTokenDim = SmallIndexes.RefineItemTokenDim;
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    private static IndexContents Plain() => SmallIndexes.Contents(3);

    private static RefineModel Refine(int itemCount) => SmallIndexes.Refine(itemCount);

    private string Write(IndexContents contents, string name) => SmallIndexes.Write(_folder, contents, name);

    [Fact]
    public void The_dot_path_flag_is_validated()
    {
        var contents = Plain();
        string path = Write(contents with { Refine = Refine(contents.Dimensions.ItemCount) with { DotPath = true } }, "dot.sci");
        var narrow = new RefineModel(4, new float[contents.Dimensions.ItemCount * 4], [new DenseLayer(3, 12, new float[36], new float[3]), new DenseLayer(1, 3, new float[3], new float[1])], DotPath: true);
        var e = Assert.Throws<ArgumentException>(() => IndexWriter.Write(_folder.File("narrow.sci"), contents with { Refine = narrow }));
        Assert.Contains("the dot path needs item tokens of at least D = 8 floats; they have 4", e.Message);
        var bad = Assert.Throws<CorruptIndexException>(() => IndexFile.Open(Damaged(path, (b, s) =>
            BinaryPrimitives.WriteInt32LittleEndian(b.AsSpan((int)s.Single(x => x.Kind == SectionKind.InteractionFlags).Offset), 3))).Dispose());
        Assert.Equal(CorruptionKind.ShapeMismatch, bad.Kind);
        Assert.Contains("interaction flags are 0x3; expected only bit 0", bad.Message);
    }

    [Fact]
    public void The_writer_refuses_inconsistent_refine_sections()
    {
        var contents = Plain();
        int n = contents.Dimensions.ItemCount;
        var good = Refine(n);
        void Refused(RefineModel refine, string part)
        {
            var e = Assert.Throws<ArgumentException>(() => IndexWriter.Write(_folder.File("refused.sci"), contents with { Refine = refine }));
            Assert.Contains(part, e.Message);
        }
        Refused(good with { ItemTokens = new float[(n - 1) * ItemTokenDim] }, $"ItemTokens[0] has {(n - 1) * ItemTokenDim} elements; expected {n} × {ItemTokenDim}");
        Refused(good with { Interaction = [good.Interaction[0], good.Interaction[2]] }, "interaction layer 1 is 1 × 7; expected at least one output and 12 inputs");
        Refused(good with { Interaction = [good.Interaction[0], good.Interaction[1]] }, "the last interaction layer has 7 outputs; expected 1");
        Refused(good with { Interaction = [good.Interaction[2]] }, "the interaction MLP has 1 layers; expected 2..64");
        var nan = good.Interaction[1] with { Weights = [.. good.Interaction[1].Weights] };
        nan.Weights[5] = float.NaN;
        Refused(good with { Interaction = [good.Interaction[0], nan, good.Interaction[2]] }, "InteractionWeight[1][5] is NaN");
        Assert.False(File.Exists(_folder.File("refused.sci")));
    }

    private string Damaged(string path, Action<byte[], IReadOnlyList<SectionEntry>> damage)
    {
        var bytes = File.ReadAllBytes(path);
        using (var file = IndexFile.Open(path))
        {
            damage(bytes, file.Sections);
        }
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8), XxHash3.HashToUInt64(bytes.AsSpan(0, bytes.Length - 8)));
        string damaged = _folder.File($"damaged-{Guid.NewGuid():N}.sci");
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
        }, CorruptionKind.ShapeMismatch, "interaction layer 1 is 12 × 7; expected at least one output and 12 inputs");
        Corrupt((b, s) => BinaryPrimitives.WriteSingleLittleEndian(b.AsSpan((int)s.Single(e => e.Kind == SectionKind.ItemTokens).Offset + 4 * 7), float.PositiveInfinity),
            CorruptionKind.NonFiniteValue, "ItemTokens[0][7] is ");
    }
}
