using System.Collections.Concurrent;
using SparCode.Engine;
using SparCode.Format;
using SparCode.Synthetic;

namespace SparCode.Tests;

/// <summary>Index lifetime under concurrency (issue 13, F8/F9/F11): no crash, no wrong answer, clear errors.</summary>
public sealed class LifetimeTests : IDisposable
{
    private const int K = 10;
    private readonly TempDirectory _dir = new();
    private readonly IndexContents _contents = SyntheticIndex.Create(SmallIndexes.Options(3) with { ItemCount = 3000, MeanPostingsPerList = 400 });
    private readonly string _path;
    private readonly long[][] _histories;
    private readonly Answer[] _expected;

    public LifetimeTests()
    {
        _path = SmallIndexes.Write(_dir, _contents);
        var random = new Random(11);
        _histories = [.. Enumerable.Range(0, 32).Select(_ => Enumerable.Range(0, 1 + random.Next(6)).Select(_ => _contents.ItemIds[random.Next(_contents.ItemIds.Length)]).ToArray())];
        using var index = SparCodeIndex.Open(_path);
        _expected = Answers(index, _histories);
    }

    public void Dispose() => _dir.Dispose();

    internal sealed record Answer(long[] Ids, float[] Scores)
    {
        public bool Matches(ReadOnlySpan<long> ids, ReadOnlySpan<float> scores) => ids.SequenceEqual(Ids) && scores.SequenceEqual(Scores);
    }

    /// <summary>Each history's single-threaded answer.</summary>
    internal static Answer[] Answers(SparCodeIndex index, long[][] histories)
    {
        var searcher = index.CreateSearcher();
        return [.. histories.Select(h =>
        {
            var ids = new long[K];
            var scores = new float[K];
            int n = searcher.Search(h, K, ids, scores);
            return new Answer(ids[..n], scores[..n]);
        })];
    }

    [Fact]
    public void F8_dispose_under_load_waits_for_the_searches_in_flight()
    {
        for (int round = 0; round < 20; round++)
        {
            var index = SparCodeIndex.Open(_path, IndexValidation.SkipChecksum);
            var failures = new ConcurrentQueue<string>();
            int running = 0;
            long answered = 0;
            var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
            {
                var ids = new long[K];
                var scores = new float[K];
                try
                {
                    var searcher = index.CreateSearcher();
                    Interlocked.Increment(ref running);
                    for (int i = t; ; i++)
                    {
                        int q = i % _histories.Length;
                        int n = searcher.Search(_histories[q], K, ids, scores);
                        if (!_expected[q].Matches(ids.AsSpan(0, n), scores.AsSpan(0, n)))
                        {
                            failures.Enqueue($"thread {t}: query {q} gave a wrong answer");
                        }
                        Interlocked.Increment(ref answered);
                    }
                }
                catch (ObjectDisposedException)
                {
                }
                catch (Exception e)
                {
                    failures.Enqueue($"thread {t}: {e}");
                }
            })).ToList();
            threads.Add(new Thread(() =>
            {
                // A batch under dispose: every row is a correct answer, or the batch throws ObjectDisposedException.
                int queries = _histories.Length;
                var offsets = new int[queries + 1];
                for (int q = 0; q < queries; q++)
                {
                    offsets[q + 1] = offsets[q] + _histories[q].Length;
                }
                var all = _histories.SelectMany(h => h).ToArray();
                var ids = new long[queries * K];
                var scores = new float[queries * K];
                var counts = new int[queries];
                try
                {
                    Interlocked.Increment(ref running);
                    while (true)
                    {
                        index.SearchBatch(all, offsets, K, ids, scores, counts, maxDegreeOfParallelism: 2);
                        for (int q = 0; q < queries; q++)
                        {
                            if (!_expected[q].Matches(ids.AsSpan(q * K, counts[q]), scores.AsSpan(q * K, counts[q])))
                            {
                                failures.Enqueue($"batch: query {q} gave a wrong answer");
                            }
                        }
                    }
                }
                catch (ObjectDisposedException)
                {
                }
                catch (Exception e)
                {
                    failures.Enqueue($"batch: {e}");
                }
            }));
            threads.ForEach(t => t.Start());
            SpinWait.SpinUntil(() => Volatile.Read(ref running) == threads.Count && Interlocked.Read(ref answered) > 100, TimeSpan.FromSeconds(30));
            index.Dispose();
            threads.ForEach(t => t.Join());
            Assert.Empty(failures);
            Assert.True(index.IsDisposed);
        }
    }

    [Fact]
    public void F9_use_after_dispose_throws_object_disposed()
    {
        var index = SparCodeIndex.Open(_path);
        var searcher = index.CreateSearcher();
        index.Dispose();
        var ids = new long[K];
        var scores = new float[K];
        Assert.Throws<ObjectDisposedException>(() => searcher.Search(_histories[0], K, ids, scores));
        Assert.Throws<ObjectDisposedException>(() => searcher.Encode(_histories[0], new int[_contents.Dimensions.UserTokens]));
        Assert.Throws<ObjectDisposedException>(() => index.CreateSearcher());
        Assert.Throws<ObjectDisposedException>(() => index.PostingListLength(0));
        Assert.Throws<ObjectDisposedException>(() => index.ExternalId(0));
        Assert.Equal(_contents.Dimensions.ItemCount, index.Description.Dimensions.ItemCount);
        Assert.Throws<ObjectDisposedException>(index.Verify);
        Assert.Throws<ObjectDisposedException>(() => index.SearchBatch(_histories[0], new[] { 0, _histories[0].Length }, K, ids, scores, new int[1]));
        index.Dispose();
    }

    [Fact]
    public void A_failing_query_in_a_batch_is_named()
    {
        using var index = SparCodeIndex.Open(_path);
        long known = _contents.ItemIds[5];
        long[] histories = [known, known, 987_654_321, known];
        var ids = new long[3 * K];
        var scores = new float[3 * K];
        var unknown = Assert.Throws<UnknownItemException>(() => index.SearchBatch(histories, new[] { 0, 1, 3, 4 }, K, ids, scores, new int[3]));
        Assert.Equal(1, unknown.Query);
        Assert.Equal(987_654_321, unknown.ItemId);
        Assert.StartsWith("Query 1: history item id 987654321 (position 1)", unknown.Message);
        var empty = Assert.Throws<ArgumentException>(() => index.SearchBatch(histories, new[] { 0, 1, 2, 2 }, K, ids, scores, new int[3]));
        Assert.StartsWith("Query 2 (histories[2..2)): The history is empty", empty.Message);
    }

    [Fact]
    public void F11_one_searcher_used_by_two_threads_throws_invalid_operation()
    {
        using var index = SparCodeIndex.Open(_path);
        var searcher = index.CreateSearcher();
        int misuse = 0;
        var others = new ConcurrentQueue<Exception>();
        using var start = new Barrier(2);
        void Run(int t)
        {
            var ids = new long[K];
            var scores = new float[K];
            start.SignalAndWait();
            for (int i = 0; i < 2_000_000 && Volatile.Read(ref misuse) < 10; i++)
            {
                try
                {
                    searcher.Search(_histories[(i + t) % _histories.Length], K, ids, scores);
                }
                catch (InvalidOperationException e) when (e.Message.Contains("one thread at a time", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref misuse);
                }
                catch (Exception e)
                {
                    others.Enqueue(e);
                    return;
                }
            }
        }
        var threads = new[] { new Thread(() => Run(0)), new Thread(() => Run(1)) };
        Array.ForEach(threads, t => t.Start());
        Array.ForEach(threads, t => t.Join());
        Assert.Empty(others);
        Assert.True(misuse > 0, "two threads never overlapped in one searcher");
        // The guard is released after a refused call: the searcher still works on one thread.
        var ids = new long[K];
        var scores = new float[K];
        int n = searcher.Search(_histories[0], K, ids, scores);
        Assert.True(_expected[0].Matches(ids.AsSpan(0, n), scores.AsSpan(0, n)));
    }
}
