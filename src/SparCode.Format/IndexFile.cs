using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace SparCode.Format;

/// <summary>How much <see cref="IndexFile.Open"/> checks.</summary>
public enum IndexValidation
{
    /// <summary>Everything: size, magic, caps, version, the checksum over every byte, and the structure.</summary>
    Full,

    /// <summary>
    /// Everything except the checksum, for fast start-up of large trusted files. Every check that keeps
    /// the search kernels inside their arrays (offsets, ids, shapes) still runs.
    /// </summary>
    SkipChecksum,
}

/// <summary>
/// A validated, memory-mapped index file with zero-copy typed views of its sections.
/// </summary>
/// <remarks>
/// Checks run in the order size → magic → caps → version → checksum → structure, and each failure
/// throws <see cref="CorruptIndexException"/> (with its <see cref="CorruptionKind"/>) or
/// <see cref="IndexVersionException"/>. Immutable and thread-safe; spans stay valid until <see cref="Dispose"/>.
/// </remarks>
public sealed class IndexFile : IDisposable
{
    private readonly MappedFile _map;
    private readonly Dictionary<(SectionKind Kind, int Index), SectionEntry> _sections;

    private IndexFile(string path, MappedFile map, int version, IReadOnlyList<SectionEntry> entries)
    {
        Path = path;
        _map = map;
        Version = version;
        Sections = entries;
        _sections = [];
        foreach (var e in entries)
        {
            if (!_sections.TryAdd((e.Kind, e.Index), e) && Enum.IsDefined(e.Kind))
            {
                throw Corrupt(CorruptionKind.MissingSection, $"section {e.Kind}[{e.Index}] appears twice.");
            }
            // Every known section is read as its documented type, including the ones only the engine reads (F2).
            if (IndexValidator.ElementTypeOf(e.Kind) is { } expected && e.Type != expected)
            {
                throw Corrupt(CorruptionKind.ShapeMismatch, $"section {e.Kind}[{e.Index}] holds {e.Type}; expected {expected}.");
            }
        }
        var dimensions = Entry(SectionKind.Dimensions, 0);
        if (dimensions.Rows != ModelDimensions.StoredFieldCount || dimensions.Columns != 1)
        {
            throw Corrupt(CorruptionKind.ShapeMismatch, $"section Dimensions[0] is {dimensions.Rows} × {dimensions.Columns}; expected {ModelDimensions.StoredFieldCount} × 1.");
        }
        Dimensions = ModelDimensions.FromStored(Span<long>(SectionKind.Dimensions, 0, ElementType.Int64));
        ItemIds = CheckStructure();
        MetadataJson = IndexValidator.MetadataText(Span<byte>(SectionKind.Metadata, 0, ElementType.Byte));
    }

    /// <summary>Dimensions, shapes, metadata, finite weights, postings, item ids, fallback order.</summary>
    private ItemIdMap CheckStructure()
    {
        IndexValidator.CheckDimensions(Dimensions, Path);
        CheckShapes();
        IndexValidator.CheckMetadata(Span<byte>(SectionKind.Metadata, 0, ElementType.Byte), Path);
        foreach (var e in Sections)
        {
            if (e.Type == ElementType.Float32 && e.Kind is not (SectionKind.PostingScores or SectionKind.ListMaxScores) && Enum.IsDefined(e.Kind))
            {
                IndexValidator.CheckFinite(Span<float>(e.Kind, e.Index, ElementType.Float32), $"{e.Kind}[{e.Index}]", Path);
            }
        }
        IndexValidator.CheckPostings(PostingOffsets.Span, PostingItems.Span, PostingScores.Span, ListMaxScores.Span, Dimensions.ItemCount, Path);
        if (HasFallbackOrder)
        {
            IndexValidator.CheckFallback(FallbackOrder.Span, Dimensions.ItemCount, Path);
        }
        if (HasCodeRemap)
        {
            IndexValidator.CheckCodeRemap(CodeRemap.Span, Path);
        }
        return ItemIdMap.Build(ExternalItemIds.Span, Path);
    }

    /// <summary>The file this index was opened from.</summary>
    public string Path { get; }

    /// <summary>The file's size in bytes.</summary>
    public long Length => _map.Length;

    /// <summary>The file's format version.</summary>
    public int Version { get; }

    /// <summary>The XxHash3-64 checksum stored in the footer (verified by <see cref="Open"/> unless skipped).</summary>
    public ulong StoredChecksum => BinaryPrimitives.ReadUInt64LittleEndian(_map.Span<byte>(Length - 8, 8));

    /// <summary>The section table, in file order (unknown kinds included).</summary>
    public IReadOnlyList<SectionEntry> Sections { get; }

    /// <summary>Model sizes.</summary>
    public ModelDimensions Dimensions { get; }

    /// <summary>The metadata JSON object.</summary>
    public string MetadataJson { get; }

    /// <summary>External ↔ internal item ids.</summary>
    public ItemIdMap ItemIds { get; }

    /// <summary>Item embedding table, <c>(n_items + 1) × d</c>, row 0 padding.</summary>
    public ReadOnlyMemory<float> ItemEmbedding => Memory<float>(SectionKind.ItemEmbedding, 0, ElementType.Float32);

    /// <summary>Weights of tower layer <paramref name="layer"/>, row-major <c>out × in</c>.</summary>
    public ReadOnlyMemory<float> TowerWeight(int layer) => Memory<float>(SectionKind.TowerWeight, layer, ElementType.Float32);

    /// <summary>Bias of tower layer <paramref name="layer"/>.</summary>
    public ReadOnlyMemory<float> TowerBias(int layer) => Memory<float>(SectionKind.TowerBias, layer, ElementType.Float32);

    /// <summary>Output size of tower layer <paramref name="layer"/>.</summary>
    public int TowerOutputs(int layer) => (int)Entry(SectionKind.TowerWeight, layer).Rows;

    /// <summary>The stacked token heads, <c>(K_u·D) × tower_out</c>.</summary>
    public ReadOnlyMemory<float> HeadWeight => Memory<float>(SectionKind.HeadWeight, 0, ElementType.Float32);

    /// <summary>The stacked token head biases, <c>K_u·D</c>.</summary>
    public ReadOnlyMemory<float> HeadBias => Memory<float>(SectionKind.HeadBias, 0, ElementType.Float32);

    /// <summary>The M codebooks stacked, <c>(M·K_c) × (D/M)</c>.</summary>
    public ReadOnlyMemory<float> Codebooks => Memory<float>(SectionKind.Codebooks, 0, ElementType.Float32);

    /// <summary>CSR offsets, <c>codes + 1</c>.</summary>
    public ReadOnlyMemory<long> PostingOffsets => Memory<long>(SectionKind.PostingOffsets, 0, ElementType.Int64);

    /// <summary>Posting item ids (internal).</summary>
    public ReadOnlyMemory<int> PostingItems => Memory<int>(SectionKind.PostingItems, 0, ElementType.Int32);

    /// <summary>Posting scores.</summary>
    public ReadOnlyMemory<float> PostingScores => Memory<float>(SectionKind.PostingScores, 0, ElementType.Float32);

    /// <summary>Each list's maximum score.</summary>
    public ReadOnlyMemory<float> ListMaxScores => Memory<float>(SectionKind.ListMaxScores, 0, ElementType.Float32);

    /// <summary>External id of each internal item.</summary>
    public ReadOnlyMemory<long> ExternalItemIds => Memory<long>(SectionKind.ItemIds, 0, ElementType.Int64);

    /// <summary>True if the file has a <see cref="SectionKind.FallbackOrder"/> section.</summary>
    public bool HasFallbackOrder => _sections.ContainsKey((SectionKind.FallbackOrder, 0));

    /// <summary>The fill order (internal ids), or empty if the file has none.</summary>
    public ReadOnlyMemory<int> FallbackOrder => HasFallbackOrder ? Memory<int>(SectionKind.FallbackOrder, 0, ElementType.Int32) : default;

    /// <summary>True if the file has a <see cref="SectionKind.CodeRemap"/> section.</summary>
    public bool HasCodeRemap => _sections.ContainsKey((SectionKind.CodeRemap, 0));

    /// <summary>The code remap (code → serving code), or empty if the file has none (every code serves itself).</summary>
    public ReadOnlyMemory<int> CodeRemap => HasCodeRemap ? Memory<int>(SectionKind.CodeRemap, 0, ElementType.Int32) : default;

    /// <summary>True if the file has the optional refine sections (item tokens and the interaction MLP).</summary>
    public bool HasRefine => _sections.ContainsKey((SectionKind.ItemTokens, 0));

    /// <summary>Size of one item token, <c>K_i·D</c>; 0 if the file has no refine sections.</summary>
    public int ItemTokenDim => HasRefine ? (int)Entry(SectionKind.ItemTokens, 0).Columns : 0;

    /// <summary>Item tokens, row-major <c>n_items × ItemTokenDim</c>; empty if the file has no refine sections.</summary>
    public ReadOnlyMemory<float> ItemTokens => HasRefine ? Memory<float>(SectionKind.ItemTokens, 0, ElementType.Float32) : default;

    /// <summary>True if the interaction MLP adds <c>⟨z, v[0..D)⟩</c> (InteractionFlags bit 0); false without refine sections.</summary>
    public bool InteractionDotPath => _sections.ContainsKey((SectionKind.InteractionFlags, 0))
        && (Span<int>(SectionKind.InteractionFlags, 0, ElementType.Int32)[0] & IndexLayout.InteractionDotPathFlag) != 0;

    /// <summary>Number of interaction-MLP layers (0 without refine sections).</summary>
    public int InteractionLayers => Sections.Count(e => e.Kind == SectionKind.InteractionWeight);

    /// <summary>Weights of interaction layer <paramref name="layer"/>, row-major <c>out × in</c>; layer 0 reads <c>[z ; v]</c>.</summary>
    public ReadOnlyMemory<float> InteractionWeight(int layer) => Memory<float>(SectionKind.InteractionWeight, layer, ElementType.Float32);

    /// <summary>Bias of interaction layer <paramref name="layer"/>.</summary>
    public ReadOnlyMemory<float> InteractionBias(int layer) => Memory<float>(SectionKind.InteractionBias, layer, ElementType.Float32);

    /// <summary>Output size of interaction layer <paramref name="layer"/>.</summary>
    public int InteractionOutputs(int layer) => (int)Entry(SectionKind.InteractionWeight, layer).Rows;

    /// <summary>True if the query tower is the causal self-attention tower (format version 2, an <see cref="SectionKind.AttentionConfig"/> section).</summary>
    public bool HasAttention => _sections.ContainsKey((SectionKind.AttentionConfig, 0));

    /// <summary>
    /// Copies the attention tower's weights out of the file (a few hundred KiB), or returns null if the file has the MLP tower.
    /// </summary>
    public AttentionTower? ReadAttention()
    {
        if (!HasAttention)
        {
            return null;
        }
        var config = Span<long>(SectionKind.AttentionConfig, 0, ElementType.Int64);
        int blocks = (int)config[0];
        int d = Dimensions.EmbeddingDim;
        float[] Floats(SectionKind kind, int index) => Memory<float>(kind, index, ElementType.Float32).ToArray();
        DenseLayer Layer(SectionKind weight, SectionKind bias, int index, int outputs, int inputs) => new(outputs, inputs, Floats(weight, index), Floats(bias, index));
        var list = new AttentionBlock[blocks];
        for (int b = 0; b < blocks; b++)
        {
            list[b] = new AttentionBlock(
                Floats(SectionKind.LayerNormGamma, 2 * b), Floats(SectionKind.LayerNormBeta, 2 * b),
                Layer(SectionKind.AttentionInWeight, SectionKind.AttentionInBias, b, 3 * d, d),
                Layer(SectionKind.AttentionOutWeight, SectionKind.AttentionOutBias, b, d, d),
                Floats(SectionKind.LayerNormGamma, 2 * b + 1), Floats(SectionKind.LayerNormBeta, 2 * b + 1),
                Layer(SectionKind.FeedForwardWeight, SectionKind.FeedForwardBias, 2 * b, (int)config[2], d),
                Layer(SectionKind.FeedForwardWeight, SectionKind.FeedForwardBias, 2 * b + 1, d, (int)config[2]));
        }
        return new AttentionTower((int)config[1], Floats(SectionKind.PositionEmbedding, 0), list,
            Floats(SectionKind.LayerNormGamma, 2 * blocks), Floats(SectionKind.LayerNormBeta, 2 * blocks));
    }

    /// <summary>Number of postings across all lists.</summary>
    public long PostingCount => PostingItems.Length;

    /// <summary>Opens and validates an index file.</summary>
    /// <param name="path">The index file.</param>
    /// <param name="validation">Whether to verify the checksum (default) or skip it.</param>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="CorruptIndexException">The file is damaged; <see cref="CorruptIndexException.Kind"/> says how.</exception>
    /// <exception cref="IndexVersionException">The file's version is too new or too old for this library.</exception>
    public static IndexFile Open(string path, IndexValidation validation = IndexValidation.Full)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No SparCode index at '{path}'.", path);
        }
        var map = MappedFile.Open(path);
        try
        {
            var (version, entries) = ReadFraming(map, path, validation == IndexValidation.Full);
            return new IndexFile(path, map, version, entries);
        }
        catch
        {
            map.Dispose();
            throw;
        }
    }

    /// <summary>Rechecks everything <see cref="Open"/> checks with <see cref="IndexValidation.Full"/>, on the bytes mapped now.</summary>
    /// <exception cref="CorruptIndexException">The file is damaged.</exception>
    /// <exception cref="IndexVersionException">The file's version changed to one this library cannot read.</exception>
    public void Verify()
    {
        ReadFraming(_map, Path, verifyChecksum: true);
        CheckStructure();
    }

    /// <summary>Unmaps the file.</summary>
    public void Dispose() => _map.Dispose();

    /// <summary>Size → magic → caps → version → checksum; returns the version and the section table.</summary>
    private static (int Version, SectionEntry[] Entries) ReadFraming(MappedFile map, string path, bool verifyChecksum)
    {
        long length = map.Length;
        const int minimum = IndexLayout.HeaderSize + IndexLayout.FooterSize;
        if (length < minimum)
        {
            throw new CorruptIndexException(CorruptionKind.Truncated, path, $"the file is {length} bytes; an index has at least {minimum}.");
        }
        var header = map.Span<byte>(0, IndexLayout.HeaderSize);
        if (!header[..8].SequenceEqual(IndexLayout.HeaderMagic))
        {
            throw new CorruptIndexException(CorruptionKind.BadMagic, path, $"the file starts with {Convert.ToHexString(header[..8])}; expected {Convert.ToHexString(IndexLayout.HeaderMagic)} (\"SPARCODE\").");
        }
        long declared = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        if (declared > length)
        {
            throw new CorruptIndexException(CorruptionKind.Truncated, path, $"the file is {length} bytes; its header says {declared}.");
        }
        if (declared != length)
        {
            throw new CorruptIndexException(CorruptionKind.SizeLimitExceeded, path, $"the file is {length} bytes; its header says {declared} (trailing bytes).");
        }
        int headerSize = BinaryPrimitives.ReadInt32LittleEndian(header[12..]);
        int sectionCount = BinaryPrimitives.ReadInt32LittleEndian(header[24..]);
        if (headerSize != IndexLayout.HeaderSize)
        {
            throw new CorruptIndexException(CorruptionKind.SizeLimitExceeded, path, $"header size is {headerSize}; expected {IndexLayout.HeaderSize}.");
        }
        long dataEnd = length - IndexLayout.FooterSize;
        if (sectionCount < 1 || sectionCount > IndexLayout.MaxSections || IndexLayout.HeaderSize + (long)sectionCount * IndexLayout.SectionEntrySize > dataEnd)
        {
            throw new CorruptIndexException(CorruptionKind.SizeLimitExceeded, path,
                $"section count is {sectionCount}; expected 1..{IndexLayout.MaxSections} entries that fit in the file.");
        }
        var footer = map.Span<byte>(dataEnd, IndexLayout.FooterSize);
        if (!footer[..8].SequenceEqual(IndexLayout.FooterMagic))
        {
            throw new CorruptIndexException(CorruptionKind.BadMagic, path, $"the footer starts with {Convert.ToHexString(footer[..8])}; expected \"SPCD-END\".");
        }
        if (BinaryPrimitives.ReadInt64LittleEndian(footer[8..]) != length)
        {
            throw new CorruptIndexException(CorruptionKind.Truncated, path, $"the footer says {BinaryPrimitives.ReadInt64LittleEndian(footer[8..])} bytes; the file is {length}.");
        }

        int version = BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        if (version < IndexLayout.OldestReadableVersion || version > IndexLayout.CurrentVersion)
        {
            throw new IndexVersionException(path, version);
        }

        if (verifyChecksum)
        {
            ulong stored = BinaryPrimitives.ReadUInt64LittleEndian(footer[16..]);
            ulong computed = Checksum(map, length - 8);
            if (stored != computed)
            {
                throw new CorruptIndexException(CorruptionKind.ChecksumMismatch, path, $"XxHash3 of the file is {computed:X16}; the footer says {stored:X16}.");
            }
        }

        long tableEnd = IndexLayout.HeaderSize + (long)sectionCount * IndexLayout.SectionEntrySize;
        var table = map.Span<byte>(IndexLayout.HeaderSize, (int)(tableEnd - IndexLayout.HeaderSize));
        var entries = new SectionEntry[sectionCount];
        for (int s = 0; s < sectionCount; s++)
        {
            var row = table.Slice(s * IndexLayout.SectionEntrySize, IndexLayout.SectionEntrySize);
            var e = new SectionEntry(
                (SectionKind)BinaryPrimitives.ReadUInt16LittleEndian(row),
                BinaryPrimitives.ReadUInt16LittleEndian(row[2..]),
                (ElementType)BinaryPrimitives.ReadUInt32LittleEndian(row[4..]),
                BinaryPrimitives.ReadInt64LittleEndian(row[8..]),
                BinaryPrimitives.ReadInt64LittleEndian(row[16..]),
                BinaryPrimitives.ReadInt64LittleEndian(row[24..]),
                BinaryPrimitives.ReadInt64LittleEndian(row[32..]));
            int size = SectionEntry.ElementSize(e.Type);
            bool shapeOk = size > 0 && e.Rows >= 0 && e.Columns >= 0 && e.Rows <= int.MaxValue && e.Columns <= int.MaxValue
                && e.Rows * e.Columns <= int.MaxValue && e.Rows * e.Columns * size == e.ByteLength;
            bool placeOk = e.Offset >= tableEnd && e.Offset % IndexLayout.SectionAlignment == 0 && e.ByteLength >= 0 && e.Offset <= dataEnd - e.ByteLength;
            if (!shapeOk || !placeOk)
            {
                throw new CorruptIndexException(CorruptionKind.SectionOutOfRange, path,
                    $"section {s} ({e.Kind}[{e.Index}], {e.Type}, {e.Rows} × {e.Columns}) claims bytes [{e.Offset}, {e.Offset + e.ByteLength}); expected a {IndexLayout.SectionAlignment}-aligned range inside [{tableEnd}, {dataEnd}) matching its shape.");
            }
            entries[s] = e;
        }
        var byOffset = entries.OrderBy(e => e.Offset).ToArray();
        for (int s = 1; s < byOffset.Length; s++)
        {
            if (byOffset[s].Offset < byOffset[s - 1].Offset + byOffset[s - 1].ByteLength)
            {
                throw new CorruptIndexException(CorruptionKind.SectionOutOfRange, path, $"sections {byOffset[s - 1].Kind} and {byOffset[s].Kind} overlap.");
            }
        }
        return (version, entries);
    }

    private static ulong Checksum(MappedFile map, long count)
    {
        var hash = new XxHash3();
        for (long offset = 0; offset < count;)
        {
            int chunk = (int)Math.Min(1L << 30, count - offset);
            hash.Append(map.Span<byte>(offset, chunk));
            offset += chunk;
        }
        return hash.GetCurrentHashAsUInt64();
    }

    /// <summary>Every required section is present with the shape the dimensions imply.</summary>
    private void CheckShapes()
    {
        var d = Dimensions;
        void Expect(SectionKind kind, int index, long rows, long columns)
        {
            var e = Entry(kind, index);
            if (e.Rows != rows || e.Columns != columns)
            {
                throw Corrupt(CorruptionKind.ShapeMismatch, $"section {kind}[{index}] is {e.Rows} × {e.Columns}; expected {rows} × {columns}.");
            }
        }
        Expect(SectionKind.ItemEmbedding, 0, d.ItemCount + 1L, d.EmbeddingDim);
        long width = d.EmbeddingDim;
        for (int l = 0; l < d.TowerLayers; l++)
        {
            long outputs = Entry(SectionKind.TowerWeight, l).Rows;
            if (outputs < 1)
            {
                throw Corrupt(CorruptionKind.ShapeMismatch, $"section TowerWeight[{l}] has {outputs} rows; expected at least 1.");
            }
            Expect(SectionKind.TowerWeight, l, outputs, width);
            Expect(SectionKind.TowerBias, l, outputs, 1);
            width = outputs;
        }
        Expect(SectionKind.HeadWeight, 0, (long)d.UserTokens * d.TokenDim, width);
        Expect(SectionKind.HeadBias, 0, (long)d.UserTokens * d.TokenDim, 1);
        Expect(SectionKind.Codebooks, 0, (long)d.Subspaces * d.CodebookSize, d.SubvectorDim);
        Expect(SectionKind.PostingOffsets, 0, d.CodeCount + 1L, 1);
        Expect(SectionKind.PostingScores, 0, Entry(SectionKind.PostingItems, 0).Rows, 1);
        if (HasCodeRemap)
        {
            Expect(SectionKind.CodeRemap, 0, d.CodeCount, 1);
        }
        Expect(SectionKind.ListMaxScores, 0, d.CodeCount, 1);
        Expect(SectionKind.ItemIds, 0, d.ItemCount, 1);
        CheckRefineShapes(Expect);
        CheckAttentionShapes(Expect);
    }

    /// <summary>
    /// The attention tower (format version 2) comes as a set announced by its config: with an
    /// AttentionConfig section TowerLayers must be 0, N, H and F in range with <c>d % H == 0</c>, and every
    /// section of the N blocks present as float32 with its shape; without one, no attention section may appear.
    /// </summary>
    private void CheckAttentionShapes(Action<SectionKind, int, long, long> expect)
    {
        var d = Dimensions;
        if (!_sections.ContainsKey((SectionKind.AttentionConfig, 0)))
        {
            foreach (var e in Sections)
            {
                if (IsAttentionKind(e.Kind))
                {
                    throw Corrupt(CorruptionKind.MissingSection, $"the file has section {e.Kind}[{e.Index}] but no AttentionConfig section; attention-tower sections come together.");
                }
            }
            return;
        }
        if (d.TowerLayers != 0)
        {
            throw Corrupt(CorruptionKind.ShapeMismatch, $"the file has an AttentionConfig section and TowerLayers = {d.TowerLayers}; a file has one query tower, so the attention tower needs TowerLayers = 0.");
        }
        expect(SectionKind.AttentionConfig, 0, 3, 1);
        var config = Span<long>(SectionKind.AttentionConfig, 0, ElementType.Int64);
        if (IndexValidator.AttentionConfigProblem(config[0], config[1], config[2], d.EmbeddingDim) is { } problem)
        {
            throw Corrupt(CorruptionKind.ShapeMismatch, problem);
        }
        int blocks = (int)config[0];
        long width = config[2];
        void Float(SectionKind kind, int index, long rows, long columns)
        {
            expect(kind, index, rows, columns);
            Memory<float>(kind, index, ElementType.Float32);
        }
        Float(SectionKind.PositionEmbedding, 0, d.HistoryLength, d.EmbeddingDim);
        for (int i = 0; i <= 2 * blocks; i++)
        {
            Float(SectionKind.LayerNormGamma, i, d.EmbeddingDim, 1);
            Float(SectionKind.LayerNormBeta, i, d.EmbeddingDim, 1);
        }
        for (int b = 0; b < blocks; b++)
        {
            Float(SectionKind.AttentionInWeight, b, 3L * d.EmbeddingDim, d.EmbeddingDim);
            Float(SectionKind.AttentionInBias, b, 3L * d.EmbeddingDim, 1);
            Float(SectionKind.AttentionOutWeight, b, d.EmbeddingDim, d.EmbeddingDim);
            Float(SectionKind.AttentionOutBias, b, d.EmbeddingDim, 1);
            Float(SectionKind.FeedForwardWeight, 2 * b, width, d.EmbeddingDim);
            Float(SectionKind.FeedForwardWeight, 2 * b + 1, d.EmbeddingDim, width);
            Float(SectionKind.FeedForwardBias, 2 * b, width, 1);
            Float(SectionKind.FeedForwardBias, 2 * b + 1, d.EmbeddingDim, 1);
        }
        foreach (var e in Sections)
        {
            int limit = e.Kind switch
            {
                SectionKind.AttentionConfig or SectionKind.PositionEmbedding => 1,
                SectionKind.LayerNormGamma or SectionKind.LayerNormBeta => 2 * blocks + 1,
                SectionKind.FeedForwardWeight or SectionKind.FeedForwardBias => 2 * blocks,
                _ => blocks,
            };
            if (IsAttentionKind(e.Kind) && e.Index >= limit)
            {
                throw Corrupt(CorruptionKind.MissingSection, $"section {e.Kind}[{e.Index}] is beyond the attention tower's N = {blocks} blocks (indexes 0..{limit - 1}).");
            }
        }
    }

    private static bool IsAttentionKind(SectionKind kind) => kind is >= SectionKind.AttentionConfig and <= SectionKind.FeedForwardBias;

    /// <summary>
    /// The refine sections come as a set: item tokens (n_items rows), interaction layers 0..L−1 (2 ≤ L ≤
    /// <see cref="IndexLayout.MaxInteractionLayers"/>) chained from <c>D + K_i·D</c> inputs down to 1 output, a bias per layer.
    /// </summary>
    private void CheckRefineShapes(Action<SectionKind, int, long, long> expect)
    {
        int weights = InteractionLayers;
        int biases = Sections.Count(e => e.Kind == SectionKind.InteractionBias);
        bool flags = _sections.ContainsKey((SectionKind.InteractionFlags, 0));
        if (!HasRefine && weights == 0 && biases == 0 && !flags)
        {
            return;
        }
        if (!HasRefine)
        {
            throw Corrupt(CorruptionKind.MissingSection, $"the file has {weights} interaction weight and {biases} bias sections{(flags ? " and interaction flags" : "")} but no ItemTokens section; refine sections come together.");
        }
        if (weights < 2 || weights > IndexLayout.MaxInteractionLayers || biases != weights)
        {
            throw Corrupt(CorruptionKind.MissingSection,
                $"the file has {weights} interaction weight and {biases} bias sections; expected the same count, 2..{IndexLayout.MaxInteractionLayers}.");
        }
        var tokens = Entry(SectionKind.ItemTokens, 0);
        var shapes = Enumerable.Range(0, weights).Select(l => Entry(SectionKind.InteractionWeight, l)).Select(e => (e.Rows, e.Columns)).ToArray();
        if (IndexLayout.RefineShapeProblem(Dimensions.TokenDim, tokens.Columns, shapes, dotPath: false) is { } problem)
        {
            throw Corrupt(CorruptionKind.ShapeMismatch, problem);
        }
        expect(SectionKind.ItemTokens, 0, Dimensions.ItemCount, tokens.Columns);
        for (int l = 0; l < weights; l++)
        {
            expect(SectionKind.InteractionBias, l, shapes[l].Rows, 1);
        }
        if (flags)
        {
            expect(SectionKind.InteractionFlags, 0, 1, 1);
            int value = Span<int>(SectionKind.InteractionFlags, 0, ElementType.Int32)[0];
            if ((value & ~IndexLayout.InteractionDotPathFlag) != 0)
            {
                throw Corrupt(CorruptionKind.ShapeMismatch, $"interaction flags are 0x{value:X}; expected only bit 0 (dot path).");
            }
            if (IndexLayout.RefineShapeProblem(Dimensions.TokenDim, tokens.Columns, shapes, InteractionDotPath) is { } dotProblem)
            {
                throw Corrupt(CorruptionKind.ShapeMismatch, dotProblem);
            }
        }
    }

    private SectionEntry Entry(SectionKind kind, int index) =>
        _sections.TryGetValue((kind, index), out var e) ? e : throw Corrupt(CorruptionKind.MissingSection, $"section {kind}[{index}] is missing.");

    private ReadOnlySpan<T> Span<T>(SectionKind kind, int index, ElementType type) where T : unmanaged => Memory<T>(kind, index, type).Span;

    private ReadOnlyMemory<T> Memory<T>(SectionKind kind, int index, ElementType type) where T : unmanaged
    {
        var e = Entry(kind, index);
        if (e.Type != type)
        {
            throw Corrupt(CorruptionKind.ShapeMismatch, $"section {kind}[{index}] holds {e.Type}; expected {type}.");
        }
        return _map.Memory<T>(e.Offset, (int)(e.ByteLength / Marshal.SizeOf<T>()));
    }

    private CorruptIndexException Corrupt(CorruptionKind kind, string detail) => new(kind, Path, detail);
}
