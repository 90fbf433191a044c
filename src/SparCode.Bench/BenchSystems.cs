using System.Collections.Concurrent;
using System.Diagnostics;
using SparCode.Baselines;
using SparCode.Engine;

namespace SparCode.Bench;

/// <summary>
/// One system under test. Runs a range of queries, writing each query's k result ids (padded with −1)
/// and its latency; the runner interleaves ranges of all systems.
/// </summary>
internal abstract class BenchSystem(string name, string model, int threads, int queries, int k)
{
    public string Name { get; } = name;

    public string Model { get; } = model;

    public int Threads { get; } = threads;

    public int K { get; } = k;

    public virtual int? Ef => null;

    /// <summary>Result ids, queries × k.</summary>
    public long[] Ids { get; } = new long[(long)queries * k];

    /// <summary>Per-query latency in stopwatch ticks.</summary>
    public long[] Latency { get; } = new long[queries];

    /// <summary>Summed wall time of timed chunks, in ticks.</summary>
    public long WallTicks { get; set; }

    public long IndexBytes { get; init; }

    public long MemoryBytes { get; init; }

    public double BuildSeconds { get; init; }

    public string BuildNote { get; init; } = "";

    public virtual double? MeanPostings => null;

    /// <summary>Called before each chunk (HNSW sets its ef here).</summary>
    public virtual void Prepare()
    {
    }

    public abstract void Run(int from, int to);
}

/// <summary>SparCode on one thread: one searcher, queries in order.</summary>
internal sealed class SparCodeSingle(SparCodeIndex index, long[][] histories, SearchOptions options, int k)
    : BenchSystem("SparCode CPU", "SparCode", 1, histories.Length, k)
{
    private readonly SparCodeSearcher _searcher = index.CreateSearcher();
    private readonly float[] _scores = new float[k];
    private readonly long[] _postings = new long[histories.Length];

    public override double? MeanPostings => _postings.Average();

    public override void Run(int from, int to)
    {
        for (int q = from; q < to; q++)
        {
            var ids = Ids.AsSpan(q * K, K);
            long start = Stopwatch.GetTimestamp();
            int n = _searcher.Search(histories[q], [], K, ids, _scores, options);
            Latency[q] = Stopwatch.GetTimestamp() - start;
            ids[n..].Fill(-1);
            _postings[q] = _searcher.LastPostingsTouched;
        }
    }
}

/// <summary>SparCode on several threads: queries spread over the threads, one pooled searcher each.</summary>
internal sealed class SparCodeParallel(SparCodeIndex index, long[][] histories, SearchOptions options, int k, int threads)
    : BenchSystem($"SparCode CPU ×{threads} threads", "SparCode", threads, histories.Length, k)
{
    private readonly ConcurrentBag<(SparCodeSearcher Searcher, float[] Scores)> _pool = [];

    public override void Run(int from, int to) =>
        Parallel.For(from, to, new ParallelOptions { MaxDegreeOfParallelism = Threads },
            () => _pool.TryTake(out var s) ? s : (Searcher: index.CreateSearcher(), Scores: new float[K]),
            (q, _, s) =>
            {
                var ids = Ids.AsSpan(q * K, K);
                long start = Stopwatch.GetTimestamp();
                int n = s.Searcher.Search(histories[q], [], K, ids, s.Scores, options);
                Latency[q] = Stopwatch.GetTimestamp() - start;
                ids[n..].Fill(-1);
                return s;
            },
            _pool.Add);
}

/// <summary>Two-tower exact scan, one query per pass over the item matrix.</summary>
internal sealed class ExactSingle(EmbeddingTable items, EmbeddingTable users, int k)
    : BenchSystem("Two-tower exact", "two-tower", 1, users.Count, k)
{
    private readonly ExactMipsSearcher _searcher = new(items, 1);
    private readonly float[] _scores = new float[k];

    public override void Run(int from, int to)
    {
        for (int q = from; q < to; q++)
        {
            long start = Stopwatch.GetTimestamp();
            _searcher.Search(users.Row(q), K, Ids.AsSpan(q * K, K), _scores);
            Latency[q] = Stopwatch.GetTimestamp() - start;
        }
    }
}

/// <summary>Two-tower exact scan, <c>block</c> queries per pass; each query's latency is its block's time.</summary>
internal sealed class ExactBlocked(EmbeddingTable items, EmbeddingTable users, int k, int block)
    : BenchSystem($"Two-tower exact, {block} queries/pass", "two-tower", 1, users.Count, k)
{
    private readonly ExactMipsSearcher _searcher = new(items, block);
    private readonly float[] _scores = new float[block * k];

    public override void Run(int from, int to)
    {
        int d = users.Dimension;
        for (int q = from; q < to; q += _searcher.MaxBlock)
        {
            int count = Math.Min(_searcher.MaxBlock, to - q);
            long start = Stopwatch.GetTimestamp();
            _searcher.SearchBlock(users.Vectors.AsSpan(q * d, count * d), count, K, Ids.AsSpan(q * K, count * K), _scores);
            long elapsed = Stopwatch.GetTimestamp() - start;
            Latency.AsSpan(q, count).Fill(elapsed);
        }
    }
}

/// <summary>Two-tower HNSW at one expansion_search; several instances share one graph.</summary>
internal sealed class HnswSystem(HnswIndex index, EmbeddingTable users, int k, int ef)
    : BenchSystem($"Two-tower HNSW ef={ef}", "two-tower", 1, users.Count, k)
{
    private readonly ulong[] _keys = new ulong[k];
    private readonly float[] _scores = new float[k];

    public override int? Ef => ef;

    public override void Prepare() => index.ExpansionSearch = ef;

    public override void Run(int from, int to)
    {
        for (int q = from; q < to; q++)
        {
            var ids = Ids.AsSpan(q * K, K);
            long start = Stopwatch.GetTimestamp();
            int n = index.Search(users.Row(q), K, _keys, ids, _scores);
            Latency[q] = Stopwatch.GetTimestamp() - start;
            ids[n..].Fill(-1);
        }
    }
}
