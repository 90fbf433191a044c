using System.Collections.Concurrent;
using System.Diagnostics;
using SparCode.Engine;
using SparCode.Format;
using SparCode.Synthetic;

namespace SparCode.Tests;

/// <summary>Hot swap through <see cref="SparCodeService"/> (issue 13): no lost query, no wrong answer, no leaked mapping.</summary>
public sealed class SwapTests : IDisposable
{
    private const int K = 10;
    private readonly TempDirectory _dir = new();
    private readonly string _pathA;
    private readonly string _pathB;
    private readonly long[][] _histories;

    public SwapTests()
    {
        var options = SmallIndexes.Options() with { ItemCount = 2000, MeanPostingsPerList = 300 };
        var a = SyntheticIndex.Create(options with { Seed = 21 });
        var b = SyntheticIndex.Create(options with { Seed = 22 });
        Assert.Equal(a.ItemIds, b.ItemIds);
        _pathA = SmallIndexes.Write(_dir, a, "a.sci");
        _pathB = SmallIndexes.Write(_dir, b, "b.sci");
        var random = new Random(3);
        _histories = [.. Enumerable.Range(0, 24).Select(_ => Enumerable.Range(0, 1 + random.Next(5)).Select(_ => a.ItemIds[random.Next(a.ItemIds.Length)]).ToArray())];
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>Mapped regions of this process backed by files in the test folder (Linux: /proc/self/maps).</summary>
    private int OpenMappings() =>
        File.ReadLines("/proc/self/maps").Count(line => line.Contains(_dir.Path, StringComparison.Ordinal));

    private LifetimeTests.Answer[] Answers(string path)
    {
        using var index = SparCodeIndex.Open(path);
        return LifetimeTests.Answers(index, _histories);
    }

    [Fact]
    public void Swapping_every_50_ms_under_4_query_threads_loses_nothing_and_leaks_no_mapping()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // counts mappings through /proc/self/maps
        }
        var expectedA = Answers(_pathA);
        var expectedB = Answers(_pathB);
        // The two indexes answer differently, so an answer from the wrong index would be caught.
        Assert.True(Enumerable.Range(0, _histories.Length).Count(q => !expectedA[q].Matches(expectedB[q].Ids, expectedB[q].Scores)) > _histories.Length / 2);
        Assert.Equal(0, OpenMappings());

        var service = SparCodeService.Open(_pathA);
        var failures = new ConcurrentQueue<string>();
        long answeredA = 0, answeredB = 0, plain = 0;
        bool stop = false;
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            var ids = new long[K];
            var scores = new float[K];
            for (int i = t; !Volatile.Read(ref stop); i++)
            {
                int q = i % _histories.Length;
                try
                {
                    if (t == 2 && i % 8 == 2)
                    {
                        // A batch through the service: every row from one of the two indexes.
                        var counts = new int[2];
                        var batchIds = new long[2 * K];
                        var batchScores = new float[2 * K];
                        long[] both = [.. _histories[q], .. _histories[(q + 1) % _histories.Length]];
                        service.SearchBatch(both, new[] { 0, _histories[q].Length, both.Length }, K, batchIds, batchScores, counts, maxDegreeOfParallelism: 1);
                        bool rowsOnA = expectedA[q].Matches(batchIds.AsSpan(0, counts[0]), batchScores.AsSpan(0, counts[0]))
                            && expectedA[(q + 1) % _histories.Length].Matches(batchIds.AsSpan(K, counts[1]), batchScores.AsSpan(K, counts[1]));
                        bool rowsOnB = expectedB[q].Matches(batchIds.AsSpan(0, counts[0]), batchScores.AsSpan(0, counts[0]))
                            && expectedB[(q + 1) % _histories.Length].Matches(batchIds.AsSpan(K, counts[1]), batchScores.AsSpan(K, counts[1]));
                        if (!rowsOnA && !rowsOnB)
                        {
                            failures.Enqueue($"thread {t}: batch at query {q} is not one index's answer");
                        }
                        continue;
                    }
                    if (t == 3)
                    {
                        // Without a lease the caller cannot tell which index answered: it must be one of the two.
                        int count = service.Search(_histories[q], [], K, ids, scores);
                        if (!expectedA[q].Matches(ids.AsSpan(0, count), scores.AsSpan(0, count)) && !expectedB[q].Matches(ids.AsSpan(0, count), scores.AsSpan(0, count)))
                        {
                            failures.Enqueue($"thread {t}: query {q} matches neither index");
                        }
                        Interlocked.Increment(ref plain);
                        continue;
                    }
                    using var lease = service.Lease();
                    int n = lease.Search(_histories[q], [], K, ids, scores);
                    bool onA = lease.Index.File.Path == _pathA;
                    var expected = onA ? expectedA : expectedB;
                    if (!expected[q].Matches(ids.AsSpan(0, n), scores.AsSpan(0, n)))
                    {
                        failures.Enqueue($"thread {t}: query {q} on {(onA ? "A" : "B")} gave a wrong answer");
                    }
                    Interlocked.Increment(ref onA ? ref answeredA : ref answeredB);
                }
                catch (Exception e)
                {
                    failures.Enqueue($"thread {t}: query {q} lost: {e}");
                }
            }
        })).ToArray();
        Array.ForEach(threads, t => t.Start());

        int swaps = 0;
        int mostMappings = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < TimeSpan.FromSeconds(10))
        {
            Thread.Sleep(50);
            service.Swap(swaps % 2 == 0 ? _pathB : _pathA);
            swaps++;
            mostMappings = Math.Max(mostMappings, OpenMappings());
        }
        Volatile.Write(ref stop, true);
        Array.ForEach(threads, t => t.Join());
        Assert.Equal(swaps, service.Generation);
        service.Dispose();

        Assert.Empty(failures);
        Assert.True(answeredA > 0 && answeredB > 0 && plain > 0, $"answered on A {answeredA}, on B {answeredB}, without a lease {plain}");
        // At any moment: the current index, plus at most one retired index per thread still in a query.
        Assert.InRange(mostMappings, 1, 1 + threads.Length);
        Assert.Equal(0, OpenMappings());
    }

    [Fact]
    public void A_swap_to_a_damaged_file_keeps_the_current_index_serving()
    {
        using var service = SparCodeService.Open(_pathA);
        string damaged = _dir.File("damaged.sci");
        var bytes = File.ReadAllBytes(_pathB);
        bytes[^30] ^= 0xFF;
        File.WriteAllBytes(damaged, bytes);
        Assert.Throws<CorruptIndexException>(() => service.Swap(damaged));
        Assert.Throws<FileNotFoundException>(() => service.Swap(_dir.File("missing.sci")));
        Assert.Equal(_pathA, service.CurrentPath);
        Assert.Equal(0, service.Generation);
        var expected = Answers(_pathA);
        var ids = new long[K];
        var scores = new float[K];
        int n = service.Search(_histories[0], [], K, ids, scores);
        Assert.True(expected[0].Matches(ids.AsSpan(0, n), scores.AsSpan(0, n)));
    }

    [Fact]
    public void Searches_through_the_service_do_not_allocate_after_warm_up()
    {
        using var service = SparCodeService.Open(_pathA);
        var ids = new long[K];
        var scores = new float[K];
        foreach (var h in _histories)
        {
            service.Search(h, [], K, ids, scores);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var h in _histories)
        {
            service.Search(h, [], K, ids, scores);
            using var lease = service.Lease();
            lease.Search(h, [], K, ids, scores);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void A_disposed_service_refuses_queries_and_swaps()
    {
        var service = SparCodeService.Open(_pathA);
        service.Dispose();
        Assert.Throws<ObjectDisposedException>(() => service.Search(_histories[0], [], K, new long[K], new float[K]));
        Assert.Throws<ObjectDisposedException>(() => service.Swap(_pathB));
        Assert.Throws<ObjectDisposedException>(() => { using var lease = service.Lease(); });
        service.Dispose();
        if (OperatingSystem.IsLinux())
        {
            Assert.Equal(0, OpenMappings());
        }
    }
}
