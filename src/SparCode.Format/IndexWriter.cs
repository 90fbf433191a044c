using System.Buffers.Binary;
using System.IO.Hashing;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace SparCode.Format;

/// <summary>Writes <see cref="IndexContents"/> to an index file, atomically.</summary>
public static class IndexWriter
{
    private const int CopyChunk = 1 << 22;

    /// <summary>
    /// Validates <paramref name="contents"/> and writes it to <paramref name="path"/>: first to a temporary
    /// file <c>&lt;path&gt;.tmp-&lt;pid&gt;-&lt;guid&gt;</c> in the same folder, flushed to disk, then renamed over
    /// <paramref name="path"/>, and the folder is flushed too (on Linux and macOS), so a crash never leaves a
    /// half-written index under the real name and a completed write survives a power loss.
    /// </summary>
    /// <remarks>
    /// A write that was killed leaves its temporary file behind. Each write first deletes the temporary
    /// files of the same <paramref name="path"/> (exactly <c>&lt;name&gt;.tmp-&lt;digits&gt;-&lt;32 hex digits&gt;</c>)
    /// last modified before this write started and not being written by this process; other files are
    /// never touched. Two processes writing the same path at once are not supported (the last rename wins,
    /// and a writer stalled since before the other's start loses its temporary file).
    /// </remarks>
    /// <param name="path">Destination file; replaced if it exists.</param>
    /// <param name="contents">What to write.</param>
    /// <param name="progress">Receives the fraction of bytes written, 0..1.</param>
    /// <returns>The file's size in bytes.</returns>
    /// <exception cref="ArgumentException">The contents are inconsistent (the message names the value).</exception>
    /// <exception cref="DirectoryNotFoundException">The destination folder does not exist.</exception>
    public static long Write(string path, IndexContents contents, IProgress<double>? progress = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(contents);
        List<PendingSection> sections;
        try
        {
            sections = Validate(contents, path);
        }
        catch (CorruptIndexException e)
        {
            throw new ArgumentException($"Refusing to write an invalid index: {e.Message}", nameof(contents), e);
        }

        long tableEnd = IndexLayout.HeaderSize + (long)sections.Count * IndexLayout.SectionEntrySize;
        long offset = IndexLayout.Align(tableEnd);
        var entries = new SectionEntry[sections.Count];
        for (int s = 0; s < sections.Count; s++)
        {
            var p = sections[s];
            entries[s] = new SectionEntry(p.Kind, p.Index, p.Type, p.Rows, p.Columns, offset, p.ByteLength);
            offset = IndexLayout.Align(offset + p.ByteLength);
        }
        long fileLength = offset + IndexLayout.FooterSize;

        string fullPath = Path.GetFullPath(path);
        if (Path.GetDirectoryName(fullPath) is { } folder && !Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"Cannot write '{path}': the folder '{folder}' does not exist.");
        }
        string temp = $"{fullPath}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}";
        RemoveStaleTemporaries(fullPath, DateTime.UtcNow);
        InProgress.TryAdd(temp, 0);
        try
        {
            using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1 << 20))
            {
                var sink = new HashingSink(stream, fileLength, progress);
                sink.Write(Header(sections.Count, fileLength));
                foreach (var entry in entries)
                {
                    sink.Write(Entry(entry));
                }
                for (int s = 0; s < sections.Count; s++)
                {
                    sink.Pad(entries[s].Offset);
                    sink.Write(sections[s].Bytes());
                }
                sink.Pad(fileLength - IndexLayout.FooterSize);
                Span<byte> footer = stackalloc byte[IndexLayout.FooterSize];
                IndexLayout.FooterMagic.CopyTo(footer);
                BinaryPrimitives.WriteInt64LittleEndian(footer[8..], fileLength);
                sink.Write(footer[..16]);
                BinaryPrimitives.WriteUInt64LittleEndian(footer[16..], sink.Checksum);
                stream.Write(footer[16..]);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, fullPath, overwrite: true);
            DirectorySync.Flush(Path.GetDirectoryName(fullPath));
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
        finally
        {
            InProgress.TryRemove(temp, out _);
        }
        return fileLength;
    }

    /// <summary>Temporary files this process is writing now (so a concurrent write of the same path in this process keeps them).</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> InProgress = new(StringComparer.Ordinal);

    /// <summary>Deletes <c>&lt;fullPath&gt;.tmp-&lt;pid&gt;-&lt;guid&gt;</c> files older than <paramref name="startUtc"/> that no write in this process owns.</summary>
    private static void RemoveStaleTemporaries(string fullPath, DateTime startUtc)
    {
        string? folder = Path.GetDirectoryName(fullPath);
        string prefix = Path.GetFileName(fullPath) + ".tmp-";
        if (folder is null)
        {
            return;
        }
        foreach (string candidate in Directory.EnumerateFiles(folder, prefix + "*"))
        {
            string name = Path.GetFileName(candidate);
            if (!IsTemporaryName(name.AsSpan(prefix.Length)) || InProgress.ContainsKey(candidate))
            {
                continue;
            }
            try
            {
                if (File.GetLastWriteTimeUtc(candidate) < startUtc)
                {
                    File.Delete(candidate);
                }
            }
            catch (IOException)
            {
                // Gone already, or in use on a platform that locks open files: leave it for a later write.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>True for <c>&lt;digits&gt;-&lt;32 lowercase hex digits&gt;</c>, the suffix <see cref="Write"/> gives its temporary files.</summary>
    private static bool IsTemporaryName(ReadOnlySpan<char> suffix)
    {
        int dash = suffix.IndexOf('-');
        if (dash < 1 || suffix.Length - dash - 1 != 32)
        {
            return false;
        }
        foreach (char c in suffix[..dash])
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }
        foreach (char c in suffix[(dash + 1)..])
        {
            if (!char.IsAsciiHexDigitLower(c))
            {
                return false;
            }
        }
        return true;
    }

    private static byte[] Header(int sectionCount, long fileLength)
    {
        var header = new byte[IndexLayout.HeaderSize];
        IndexLayout.HeaderMagic.CopyTo(header);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(8), IndexLayout.CurrentVersion);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(12), IndexLayout.HeaderSize);
        BinaryPrimitives.WriteInt64LittleEndian(header.AsSpan(16), fileLength);
        BinaryPrimitives.WriteInt32LittleEndian(header.AsSpan(24), sectionCount);
        return header;
    }

    private static byte[] Entry(SectionEntry e)
    {
        var bytes = new byte[IndexLayout.SectionEntrySize];
        BinaryPrimitives.WriteUInt16LittleEndian(bytes, (ushort)e.Kind);
        BinaryPrimitives.WriteUInt16LittleEndian(bytes.AsSpan(2), (ushort)e.Index);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(4), (uint)e.Type);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(8), e.Rows);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(16), e.Columns);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(24), e.Offset);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(32), e.ByteLength);
        return bytes;
    }

    /// <summary>Checks everything the reader will check and lists the sections to write, in file order.</summary>
    private static List<PendingSection> Validate(IndexContents c, string path)
    {
        var dims = c.Dimensions;
        IndexValidator.CheckDimensions(dims, path);
        var sections = new List<PendingSection>();
        void Add<T>(SectionKind kind, int index, ElementType type, long rows, long columns, T[] data) where T : unmanaged
        {
            if (data.LongLength != rows * columns)
            {
                throw new CorruptIndexException(CorruptionKind.ShapeMismatch, path,
                    $"{kind}[{index}] has {data.LongLength} elements; expected {rows} × {columns} = {rows * columns}.");
            }
            if (data is float[] floats && kind != SectionKind.PostingScores)
            {
                IndexValidator.CheckFinite(floats, $"{kind}[{index}]", path);
            }
            sections.Add(new PendingSection(kind, index, type, rows, columns, data.LongLength * Unsafe.SizeOf<T>(), () => MemoryMarshal.AsBytes(data.AsSpan())));
        }

        byte[] metadata = Encoding.UTF8.GetBytes(c.MetadataJson);
        IndexValidator.CheckMetadata(metadata, path);
        sections.Add(new PendingSection(SectionKind.Metadata, 0, ElementType.Byte, metadata.Length, 1, metadata.Length, () => metadata));
        Add(SectionKind.Dimensions, 0, ElementType.Int64, ModelDimensions.StoredFieldCount, 1, dims.ToStored());
        Add(SectionKind.ItemEmbedding, 0, ElementType.Float32, dims.ItemCount + 1L, dims.EmbeddingDim, c.ItemEmbedding);
        if (c.Tower.Count != dims.TowerLayers)
        {
            throw new CorruptIndexException(CorruptionKind.ShapeMismatch, path, $"the tower has {c.Tower.Count} layers; Dimensions.TowerLayers is {dims.TowerLayers}.");
        }
        int width = dims.EmbeddingDim;
        for (int l = 0; l < c.Tower.Count; l++)
        {
            var layer = c.Tower[l];
            if (layer.Inputs != width || layer.Outputs < 1)
            {
                throw new CorruptIndexException(CorruptionKind.ShapeMismatch, path, $"tower layer {l} is {layer.Outputs} × {layer.Inputs}; expected at least one output and {width} inputs.");
            }
            Add(SectionKind.TowerWeight, l, ElementType.Float32, layer.Outputs, layer.Inputs, layer.Weights);
            Add(SectionKind.TowerBias, l, ElementType.Float32, layer.Outputs, 1, layer.Bias);
            width = layer.Outputs;
        }
        if (c.Attention is { } attention)
        {
            AddAttention(attention);
        }
        if (c.Heads.Inputs != width || c.Heads.Outputs != dims.UserTokens * dims.TokenDim)
        {
            throw new CorruptIndexException(CorruptionKind.ShapeMismatch, path,
                $"the heads are {c.Heads.Outputs} × {c.Heads.Inputs}; expected {dims.UserTokens * dims.TokenDim} × {width}.");
        }
        Add(SectionKind.HeadWeight, 0, ElementType.Float32, c.Heads.Outputs, c.Heads.Inputs, c.Heads.Weights);
        Add(SectionKind.HeadBias, 0, ElementType.Float32, c.Heads.Outputs, 1, c.Heads.Bias);
        Add(SectionKind.Codebooks, 0, ElementType.Float32, (long)dims.Subspaces * dims.CodebookSize, dims.SubvectorDim, c.Codebooks);

        int codes = dims.CodeCount;
        Add(SectionKind.PostingOffsets, 0, ElementType.Int64, codes + 1L, 1, c.PostingOffsets);
        IndexValidator.CheckPostings(c.PostingOffsets, c.PostingItems, c.PostingScores, [], dims.ItemCount, path);
        Add(SectionKind.PostingItems, 0, ElementType.Int32, c.PostingItems.LongLength, 1, c.PostingItems);
        Add(SectionKind.PostingScores, 0, ElementType.Float32, c.PostingScores.LongLength, 1, c.PostingScores);
        Add(SectionKind.ListMaxScores, 0, ElementType.Float32, codes, 1, IndexValidator.ListMaxima(c.PostingOffsets, c.PostingScores));

        Add(SectionKind.ItemIds, 0, ElementType.Int64, dims.ItemCount, 1, c.ItemIds);
        ItemIdMap.Build(c.ItemIds, path);
        if (c.CodeRemap is { } remap)
        {
            Add(SectionKind.CodeRemap, 0, ElementType.Int32, codes, 1, remap);
            IndexValidator.CheckCodeRemap(remap, path);
        }
        if (c.FallbackOrder is { } fallback)
        {
            IndexValidator.CheckFallback(fallback, dims.ItemCount, path);
            Add(SectionKind.FallbackOrder, 0, ElementType.Int32, fallback.Length, 1, fallback);
        }
        if (c.Refine is { } refine)
        {
            AddRefine(refine);
        }
        return sections;

        void AddAttention(AttentionTower a)
        {
            int d = dims.EmbeddingDim;
            if (c.Tower.Count != 0 || dims.TowerLayers != 0)
            {
                throw new CorruptIndexException(CorruptionKind.ShapeMismatch, path,
                    $"the contents have an attention tower and {c.Tower.Count} MLP layers (TowerLayers = {dims.TowerLayers}); with Attention set, Tower must be empty and TowerLayers 0.");
            }
            int blocks = a.Blocks.Count;
            int ff = a.FeedForwardWidth;
            if (IndexValidator.AttentionConfigProblem(blocks, a.Heads, ff, d) is { } problem)
            {
                throw new CorruptIndexException(CorruptionKind.ShapeMismatch, path, problem);
            }
            Add(SectionKind.AttentionConfig, 0, ElementType.Int64, 3, 1, new long[] { blocks, a.Heads, ff });
            Add(SectionKind.PositionEmbedding, 0, ElementType.Float32, dims.HistoryLength, d, a.PositionEmbedding);
            void Layer(SectionKind weight, SectionKind bias, int index, DenseLayer layer, int outputs, int inputs, string name)
            {
                if (layer.Outputs != outputs || layer.Inputs != inputs)
                {
                    throw new CorruptIndexException(CorruptionKind.ShapeMismatch, path, $"attention {name} is {layer.Outputs} × {layer.Inputs}; expected {outputs} × {inputs}.");
                }
                Add(weight, index, ElementType.Float32, outputs, inputs, layer.Weights);
                Add(bias, index, ElementType.Float32, outputs, 1, layer.Bias);
            }
            for (int b = 0; b < blocks; b++)
            {
                var block = a.Blocks[b];
                Add(SectionKind.LayerNormGamma, 2 * b, ElementType.Float32, d, 1, block.Norm1Gamma);
                Add(SectionKind.LayerNormBeta, 2 * b, ElementType.Float32, d, 1, block.Norm1Beta);
                Add(SectionKind.LayerNormGamma, 2 * b + 1, ElementType.Float32, d, 1, block.Norm2Gamma);
                Add(SectionKind.LayerNormBeta, 2 * b + 1, ElementType.Float32, d, 1, block.Norm2Beta);
                Layer(SectionKind.AttentionInWeight, SectionKind.AttentionInBias, b, block.InProjection, 3 * d, d, $"block {b} in-projection");
                Layer(SectionKind.AttentionOutWeight, SectionKind.AttentionOutBias, b, block.OutProjection, d, d, $"block {b} out-projection");
                Layer(SectionKind.FeedForwardWeight, SectionKind.FeedForwardBias, 2 * b, block.FeedForward1, ff, d, $"block {b} feed-forward layer 1");
                Layer(SectionKind.FeedForwardWeight, SectionKind.FeedForwardBias, 2 * b + 1, block.FeedForward2, d, ff, $"block {b} feed-forward layer 2");
            }
            Add(SectionKind.LayerNormGamma, 2 * blocks, ElementType.Float32, d, 1, a.FinalNormGamma);
            Add(SectionKind.LayerNormBeta, 2 * blocks, ElementType.Float32, d, 1, a.FinalNormBeta);
        }

        void AddRefine(RefineModel refine)
        {
            var shapes = refine.Interaction.Select(l => ((long)l.Outputs, (long)l.Inputs)).ToArray();
            if (IndexLayout.RefineShapeProblem(dims.TokenDim, refine.ItemTokenDim, shapes, refine.DotPath) is { } problem)
            {
                throw new CorruptIndexException(CorruptionKind.ShapeMismatch, path, problem);
            }
            Add(SectionKind.ItemTokens, 0, ElementType.Float32, dims.ItemCount, refine.ItemTokenDim, refine.ItemTokens);
            for (int l = 0; l < refine.Interaction.Count; l++)
            {
                var layer = refine.Interaction[l];
                Add(SectionKind.InteractionWeight, l, ElementType.Float32, layer.Outputs, layer.Inputs, layer.Weights);
                Add(SectionKind.InteractionBias, l, ElementType.Float32, layer.Outputs, 1, layer.Bias);
            }
            if (refine.DotPath)
            {
                Add(SectionKind.InteractionFlags, 0, ElementType.Int32, 1, 1, new[] { IndexLayout.InteractionDotPathFlag });
            }
        }
    }

    private delegate ReadOnlySpan<byte> ByteView();

    private sealed record PendingSection(SectionKind Kind, int Index, ElementType Type, long Rows, long Columns, long ByteLength, ByteView Bytes);

    /// <summary>Writes bytes and hashes them in the same pass.</summary>
    private sealed class HashingSink(Stream stream, long total, IProgress<double>? progress)
    {
        private readonly XxHash3 _hash = new();
        private long _position;
        private long _reported;

        public ulong Checksum => _hash.GetCurrentHashAsUInt64();

        public void Write(ReadOnlySpan<byte> bytes)
        {
            while (!bytes.IsEmpty)
            {
                var chunk = bytes[..Math.Min(bytes.Length, CopyChunk)];
                stream.Write(chunk);
                _hash.Append(chunk);
                _position += chunk.Length;
                bytes = bytes[chunk.Length..];
                if (progress is not null && _position - _reported >= CopyChunk)
                {
                    _reported = _position;
                    progress.Report((double)_position / total);
                }
            }
        }

        public void Pad(long until)
        {
            Span<byte> zeros = stackalloc byte[IndexLayout.SectionAlignment];
            while (_position < until)
            {
                Write(zeros[..(int)Math.Min(zeros.Length, until - _position)]);
            }
        }
    }
}
