using System.Buffers.Binary;
using System.IO.Hashing;
using SparCode.Engine;
using SparCode.Format;

namespace SparCode.Tests;

/// <summary>
/// Files from the hostile-file campaign (issue 13) that passed validation but hurt the host: each must be
/// refused by both <see cref="IndexFile.Open"/> (what <c>verify</c> checks) and <see cref="SparCodeIndex.Open"/>
/// with a <see cref="CorruptIndexException"/> of its kind, or be served correctly.
/// </summary>
public sealed class HostileFileTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly IndexContents _contents = SmallIndexes.Contents();
    private readonly string _path;
    private readonly byte[] _good;
    private readonly IReadOnlyList<SectionEntry> _sections;
    private readonly ModelDimensions _dims;

    public HostileFileTests()
    {
        _path = SmallIndexes.Write(_dir, _contents);
        _good = File.ReadAllBytes(_path);
        using var file = IndexFile.Open(_path);
        _sections = file.Sections;
        _dims = file.Dimensions;
    }

    public void Dispose() => _dir.Dispose();

    private int EntryIndex(SectionKind kind, int index = 0) => _sections.ToList().FindIndex(s => s.Kind == kind && s.Index == index);

    /// <summary>Rewrites fields of section-table entry <paramref name="entry"/>.</summary>
    private static void SetEntry(byte[] bytes, int entry, ElementType? type = null, long? rows = null, long? columns = null, long? byteLength = null)
    {
        var row = bytes.AsSpan(IndexLayout.HeaderSize + entry * IndexLayout.SectionEntrySize, IndexLayout.SectionEntrySize);
        if (type is { } t)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(row[4..], (uint)t);
        }
        if (rows is { } r)
        {
            BinaryPrimitives.WriteInt64LittleEndian(row[8..], r);
        }
        if (columns is { } c)
        {
            BinaryPrimitives.WriteInt64LittleEndian(row[16..], c);
        }
        if (byteLength is { } b)
        {
            BinaryPrimitives.WriteInt64LittleEndian(row[32..], b);
        }
    }

    /// <summary>A damaged copy with a valid checksum, so that the structure checks are reached.</summary>
    private string Damaged(Action<byte[]> damage)
    {
        var bytes = (byte[])_good.Clone();
        damage(bytes);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8), XxHash3.HashToUInt64(bytes.AsSpan(0, bytes.Length - 8)));
        string path = _dir.File($"hostile-{Guid.NewGuid():N}.sci");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>Both the file-level open (what <c>verify</c> runs) and the engine's open refuse the file with <paramref name="kind"/>.</summary>
    private static void Refused(string path, CorruptionKind kind, string messagePart)
    {
        var verify = Assert.Throws<CorruptIndexException>(() => IndexFile.Open(path).Dispose());
        Assert.Equal(kind, verify.Kind);
        Assert.Contains(messagePart, verify.Message);
        var open = Assert.Throws<CorruptIndexException>(() => SparCodeIndex.Open(path).Dispose());
        Assert.Equal(kind, open.Kind);
        Assert.Contains(messagePart, open.Message);
    }

    [Fact]
    public void F1_short_dimensions_section_is_a_shape_mismatch()
    {
        int entry = EntryIndex(SectionKind.Dimensions);
        Refused(Damaged(b => SetEntry(b, entry, rows: 4, byteLength: 32)), CorruptionKind.ShapeMismatch, "section Dimensions[0] is 4 × 1; expected 8 × 1");
    }

    [Fact]
    public void F2_every_float_section_retyped_to_int32_is_refused_by_verify_and_open()
    {
        var floats = _sections.Select((s, i) => (Section: s, Entry: i)).Where(x => x.Section.Type == ElementType.Float32).ToList();
        Assert.True(floats.Count >= 10, $"{floats.Count} float sections");
        foreach (var (section, entry) in floats)
        {
            Refused(Damaged(b => SetEntry(b, entry, type: ElementType.Int32)), CorruptionKind.ShapeMismatch,
                $"section {section.Kind}[{section.Index}] holds Int32; expected Float32");
        }
    }

    [Fact]
    public void F3_zero_width_tower_layer_is_refused_by_verify_and_open()
    {
        int last = _dims.TowerLayers - 1;
        string path = Damaged(b =>
        {
            SetEntry(b, EntryIndex(SectionKind.TowerWeight, last), rows: 0, byteLength: 0);
            SetEntry(b, EntryIndex(SectionKind.TowerBias, last), rows: 0, byteLength: 0);
            SetEntry(b, EntryIndex(SectionKind.HeadWeight), columns: 0, byteLength: 0);
        });
        Refused(path, CorruptionKind.ShapeMismatch, $"section TowerWeight[{last}] has 0 rows; expected at least 1");
    }

    [Fact]
    public void F4_a_short_fallback_order_still_fills_to_k_with_ascending_ids()
    {
        int[] fallback = [7, 3, 250, 11, 0];
        var contents = _contents with { FallbackOrder = fallback };
        using var index = SparCodeIndex.Open(SmallIndexes.Write(_dir, contents, "short-fallback.sci"));
        var searcher = index.CreateSearcher();
        long[] history = [contents.ItemIds[7], contents.ItemIds[20], contents.ItemIds[21]];
        const int k = 280;
        var ids = new long[k];
        var scores = new float[k];
        var scoredIds = new long[k];
        int scored = searcher.Search(history, k, scoredIds, new float[k], new SearchOptions { FillToK = false });
        Assert.True(scored + fallback.Length < k, $"{scored} scored items leave no room to test the fill");

        int n = searcher.Search(history, k, ids, scores);

        Assert.Equal(k, n);
        Assert.Equal(k, ids.Distinct().Count());
        Assert.Empty(ids.Intersect(history));
        Assert.Equal(scoredIds[..scored], ids[..scored]);
        var taken = new HashSet<long>(ids[..scored].Concat(history));
        var expected = fallback.Select(i => contents.ItemIds[i]).Where(id => !taken.Contains(id)).ToList();
        expected.AddRange(contents.ItemIds.Where(id => !taken.Contains(id) && !expected.Contains(id)).Order().Take(k - scored - expected.Count));
        Assert.Equal(expected, ids[scored..]);
        Assert.All(scores[scored..], s => Assert.Equal(0f, s));
    }

    [Fact]
    public void F5_hash_flooding_ids_are_mapped_without_degrading()
    {
        // (i << 32) | i: long.GetHashCode folds the halves with xor, so every id hashed to 0 and building a
        // Dictionary of 1M of them took about an hour.
        const int n = 1_000_000;
        var ids = new long[n];
        for (int i = 0; i < n; i++)
        {
            ids[i] = ((long)i << 32) | (uint)i;
        }
        var hashed = ItemIdMap.Build(ids, "flood.sci");
        Assert.False(hashed.IsContiguous);
        Assert.False(hashed.IsSorted);
        foreach (var map in new[] { hashed, ItemIdMap.BuildSorted(ids, "flood.sci") })
        {
            for (int i = 0; i < n; i += 997)
            {
                Assert.True(map.TryGetInternal(ids[i], out int found));
                Assert.Equal(i, found);
            }
            Assert.True(map.TryGetInternal(ids[0], out int firstFound));
            Assert.Equal(0, firstFound);
            Assert.True(map.TryGetInternal(ids[^1], out int lastFound));
            Assert.Equal(n - 1, lastFound);
            Assert.False(map.TryGetInternal((5L << 32) | 6, out _));
            Assert.False(map.TryGetInternal(long.MinValue, out _));
            Assert.False(map.TryGetInternal(long.MaxValue, out _));
        }
    }

    [Fact]
    public void F5_the_sorted_fallback_and_the_table_agree_on_random_ids()
    {
        var random = new Random(5);
        var ids = Enumerable.Range(0, 5000).Select(_ => random.NextInt64(long.MinValue, long.MaxValue)).Distinct().ToArray();
        var probes = ids.Concat(Enumerable.Range(0, 5000).Select(_ => random.NextInt64(long.MinValue, long.MaxValue))).ToArray();
        var table = ItemIdMap.Build(ids, "r.sci", seed: 12345);
        var sorted = ItemIdMap.BuildSorted(ids, "r.sci");
        foreach (long id in probes)
        {
            bool expected = Array.IndexOf(ids, id) is var at && at >= 0;
            Assert.Equal(expected, table.TryGetInternal(id, out int a));
            Assert.Equal(expected, sorted.TryGetInternal(id, out int b));
            if (expected)
            {
                Assert.Equal(at, a);
                Assert.Equal(at, b);
            }
        }
    }

    [Fact]
    public void F5_a_repeated_external_id_is_still_reported()
    {
        long[] ids = [40, 10, 30, 20, 30];
        foreach (var build in new Func<ItemIdMap>[] { () => ItemIdMap.Build(ids, "dup.sci"), () => ItemIdMap.BuildSorted(ids, "dup.sci") })
        {
            var e = Assert.Throws<CorruptIndexException>(() => build());
            Assert.Equal(CorruptionKind.ItemIdOutOfRange, e.Kind);
            Assert.Contains("external item id 30 appears at internal ids 2 and 4", e.Message);
        }
    }

    [Fact]
    public void F6_derived_tables_beyond_the_documented_limit_are_refused()
    {
        // 2^24 codes (K_c = 4096, M = 2) over 127·2^16 + 1 items (128 windows): the window table alone
        // would need 2^24 × 129 ints, past int.MaxValue (it threw OverflowException).
        const int codebook = 4096;
        const int items = (127 << 16) + 1;
        var dims = new ModelDimensions(items, 1, 1, 1, 2, codebook, 2, 0);
        var itemIds = new long[items];
        for (int i = 0; i < items; i++)
        {
            itemIds[i] = i;
        }
        var contents = new IndexContents
        {
            Dimensions = dims,
            ItemEmbedding = new float[items + 1L],
            Tower = [],
            Heads = new DenseLayer(2, 1, new float[2], new float[2]),
            Codebooks = new float[2 * codebook],
            PostingOffsets = new long[dims.CodeCount + 1L],
            PostingItems = [],
            PostingScores = [],
            ItemIds = itemIds,
        };
        string path = SmallIndexes.Write(_dir, contents, "many-codes.sci");
        var e = Assert.Throws<CorruptIndexException>(() => SparCodeIndex.Open(path, IndexValidation.SkipChecksum).Dispose());
        Assert.Equal(CorruptionKind.SizeLimitExceeded, e.Kind);
        Assert.Contains("derived tables", e.Message);
        File.Delete(path);
    }

    [Fact]
    public void F7_a_symbolic_link_to_an_index_opens_the_target()
    {
        string link = _dir.File("current.sci");
        File.CreateSymbolicLink(link, _path);
        string relative = _dir.File("relative.sci");
        File.CreateSymbolicLink(relative, Path.GetFileName(_path));
        foreach (string path in new[] { link, relative })
        {
            using var index = SparCodeIndex.Open(path);
            Assert.Equal(_good.Length, index.File.Length);
            var searcher = index.CreateSearcher();
            Assert.Equal(5, searcher.Search([_contents.ItemIds[1], _contents.ItemIds[2]], 5, new long[5], new float[5]));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void F10_posting_ids_rewritten_under_the_mapping_do_not_leave_the_accumulator(bool sparse)
    {
        string path = Damaged(_ => { });
        using var index = SparCodeIndex.Open(path);
        var searcher = sparse ? index.CreateSearcher(SparCodeSearcher.DefaultWindow, CollectMode.Sparse) : index.CreateSearcher();
        var items = _sections[EntryIndex(SectionKind.PostingItems)];
        // Rewrite every posting id in place, under the mapping (MAP_SHARED sees it): far past the
        // catalogue, negative, and just past the end.
        var garbage = new byte[items.ByteLength];
        int[] values = [int.MaxValue, -1_000_000, _dims.ItemCount, int.MinValue, _dims.ItemCount + 4096];
        for (int p = 0; p < garbage.Length / 4; p++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(garbage.AsSpan(p * 4), values[p % values.Length]);
        }
        using (var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            RandomAccess.Write(handle, garbage, items.Offset);
        }
        Assert.Equal(int.MaxValue, index.File.PostingItems.Span[0]);

        var known = _contents.ItemIds.ToHashSet();
        var ids = new long[20];
        var scores = new float[20];
        for (int q = 0; q < 50; q++)
        {
            long[] history = [_contents.ItemIds[q], _contents.ItemIds[(q * 7 + 3) % _dims.ItemCount]];
            int n = searcher.Search(history, 20, ids, scores);
            Assert.All(ids[..n], id => Assert.Contains(id, known));
        }
    }
}
