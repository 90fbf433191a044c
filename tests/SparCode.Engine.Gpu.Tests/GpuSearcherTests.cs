using SparCode.Synthetic;

namespace SparCode.Engine.Gpu.Tests;

/// <summary>One accelerator for the whole collection: creating ILGPU contexts is slow.</summary>
public sealed class DeviceFixture : IDisposable
{
    // Tests always use the CPU accelerator so that results do not depend on the machine.
    public GpuDevice Device { get; } = GpuDevice.Create(DeviceMode.CpuAccelerator);

    public void Dispose() => Device.Dispose();
}

[CollectionDefinition("device")]
public sealed class DeviceCollection : ICollectionFixture<DeviceFixture>;

[Collection("device")]
public sealed class GpuSearcherTests(DeviceFixture fixture) : IDisposable
{
    private readonly TempDirectory _folder = new();

    public void Dispose() => _folder.Dispose();

    private SparCodeIndex Open(int seed, int items, int postings, bool remap = false) => Open(_folder.Path, seed, items, postings, remap);

    /// <summary>A small synthetic index written to <paramref name="folder"/> and opened.</summary>
    internal static SparCodeIndex Open(string folder, int seed, int items, int postings, bool remap = false)
    {
        var contents = SyntheticIndex.Create(SmallIndexes.Options(seed) with { ItemCount = items, CodebookSize = 5, MeanPostingsPerList = postings });
        if (remap)
        {
            contents = contents with { CodeRemap = [.. Enumerable.Range(0, contents.Dimensions.CodeCount).Select(c => c & ~1)] };
        }
        string path = Path.Combine(folder, $"{seed}-{items}-{remap}.sci");
        Format.IndexWriter.Write(path, contents);
        return SparCodeIndex.Open(path);
    }

    internal static (long[] Flat, int[] Offsets) Batch(long[][] histories)
    {
        var offsets = new int[histories.Length + 1];
        for (int q = 0; q < histories.Length; q++)
        {
            offsets[q + 1] = offsets[q] + histories[q].Length;
        }
        return ([.. histories.SelectMany(h => h)], offsets);
    }

    /// <summary>One GPU batch against the CPU engine's batch: counts, ids and score bits.</summary>
    private static void AssertSameAsCpu(SparCodeIndex index, GpuSearcher gpu, long[] flat, int[] offsets, int k, SearchOptions options)
    {
        int queries = offsets.Length - 1;
        var (ids, scores, counts) = (new long[queries * k], new float[queries * k], new int[queries]);
        gpu.SearchBatch(flat, offsets, k, ids, scores, counts, options);
        var (expectedIds, expectedScores, expectedCounts) = (new long[queries * k], new float[queries * k], new int[queries]);
        index.SearchBatch(flat, offsets, k, expectedIds, expectedScores, expectedCounts, options);
        Assert.Equal(expectedCounts, counts);
        Assert.Equal(expectedIds, ids);
        Assert.Equal(expectedScores, scores);
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(33, true)]
    public void Batched_code_lookup_equals_the_cpu_engine(int queries, bool remap)
    {
        using var index = Open(1, 300, 40, remap);
        using var gpu = new GpuSearcher(index, fixture.Device, maxBatch: 16);
        var histories = SyntheticIndex.Histories(300, queries, 9, 2);
        var (flat, offsets) = Batch(histories);
        var codes = new int[queries * index.Dimensions.UserTokens];
        gpu.Encode(flat, offsets, codes);
        var cpu = index.CreateSearcher();
        var expected = new int[index.Dimensions.UserTokens];
        for (int q = 0; q < queries; q++)
        {
            cpu.Encode(histories[q], expected);
            Assert.Equal(expected, codes.AsSpan(q * expected.Length, expected.Length).ToArray());
        }
    }

    [Theory]
    [InlineData(300, 40, 1, 7)]
    [InlineData(300, 40, 33, 1)]
    [InlineData(500, 150, 33, 50)]
    [InlineData(1000, 5, 17, 20)] // short lists: most rows are completed by the fill
    public void Batched_search_equals_the_cpu_engine(int items, int postings, int queries, int k)
    {
        using var index = Open(3, items, postings);
        AssertSearchEqualsCpu(fixture.Device, index, items, queries, k);
    }

    /// <summary>GPU search equals the CPU engine bit for bit (ids, scores, counts) under three option sets.</summary>
    internal static void AssertSearchEqualsCpu(GpuDevice device, SparCodeIndex index, int items, int queries, int k)
    {
        using var gpu = new GpuSearcher(index, device, maxBatch: 16);
        var histories = SyntheticIndex.Histories(items, queries, 12, 4);
        var (flat, offsets) = Batch(histories);
        foreach (var options in new[] { SearchOptions.Default, new SearchOptions { FillToK = false }, new SearchOptions { ExcludeHistory = false } })
        {
            AssertSameAsCpu(index, gpu, flat, offsets, k, options);
        }
    }

    [Fact]
    public void One_searcher_reuses_its_buffers_across_batches_of_any_k_and_history_length()
    {
        using var index = Open(7, 400, 50);
        using var gpu = new GpuSearcher(index, fixture.Device, maxBatch: 8);
        // k and the history lengths grow and shrink, so the reused buffers are grown and then reused larger.
        foreach (var (k, queries, length, seed) in new[] { (3, 5, 2, 1), (40, 11, 12, 2), (3, 9, 20, 3), (17, 2, 1, 4) })
        {
            var (flat, offsets) = Batch(SyntheticIndex.Histories(400, queries, length, seed));
            AssertSameAsCpu(index, gpu, flat, offsets, k, SearchOptions.Default);
        }
    }

    [Fact]
    public void Repeated_searches_leave_the_device_accumulator_clean()
    {
        using var index = Open(5, 300, 60);
        using var gpu = new GpuSearcher(index, fixture.Device, maxBatch: 8);
        var (flat, offsets) = Batch(SyntheticIndex.Histories(300, 8, 6, 6));
        var first = new long[8 * 10];
        var second = new long[8 * 10];
        gpu.SearchBatch(flat, offsets, 10, first, new float[80], new int[8]);
        gpu.SearchBatch(flat, offsets, 10, second, new float[80], new int[8]);
        Assert.Equal(first, second);
    }

    [Fact]
    public void Bad_batches_get_clear_errors()
    {
        using var index = Open(1, 300, 40);
        using var gpu = new GpuSearcher(index, fixture.Device, maxBatch: 4);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => gpu.SearchBatch([1], [0, 1], 0, new long[1], new float[1], new int[1]));
        Assert.Contains("1..300", e.Message);
        var unknown = Assert.Throws<UnknownItemException>(() => gpu.SearchBatch([1, 4000], [0, 2], 5, new long[5], new float[5], new int[1]));
        Assert.Equal(4000, unknown.ItemId);
        var offsets = Assert.Throws<ArgumentException>(() => gpu.SearchBatch([1], [0, 2], 5, new long[5], new float[5], new int[1]));
        Assert.Contains("offsets[1] = 2", offsets.Message);
    }
}
