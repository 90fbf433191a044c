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

/// <summary>
/// Each query's excluded item rows (its history mapped to rows of the two-tower item table), as one
/// ascending run per query; empty when the two-tower systems exclude nothing.
/// </summary>
/// <param name="Rows">Every query's rows, concatenated.</param>
/// <param name="Offsets">queries + 1 offsets into <paramref name="Rows"/>, or empty.</param>
internal sealed record Exclusions(int[] Rows, int[] Offsets)
{
    /// <summary>No exclusions.</summary>
    public static Exclusions None { get; } = new([], []);

    /// <summary>Whether anything is excluded.</summary>
    public bool Any => Offsets.Length > 0;

    /// <summary>Query <paramref name="q"/>'s rows (empty if none).</summary>
    public ReadOnlySpan<int> For(int q) => Any ? Rows.AsSpan(Offsets[q], Offsets[q + 1] - Offsets[q]) : [];

    /// <summary>Maps each history's ids to distinct ascending rows of <paramref name="ids"/>; ids not in the table are skipped.</summary>
    public static Exclusions FromHistories(long[][] histories, long[] ids)
    {
        var rowOf = new Dictionary<long, int>(ids.Length);
        for (int r = 0; r < ids.Length; r++)
        {
            rowOf.TryAdd(ids[r], r);
        }
        var rows = new List<int>();
        var offsets = new int[histories.Length + 1];
        for (int q = 0; q < histories.Length; q++)
        {
            var mine = new SortedSet<int>();
            foreach (long id in histories[q])
            {
                if (rowOf.TryGetValue(id, out int row))
                {
                    mine.Add(row);
                }
            }
            rows.AddRange(mine);
            offsets[q + 1] = rows.Count;
        }
        return new Exclusions([.. rows], offsets);
    }
}

/// <summary>SparCode on one thread: one searcher, queries in order.</summary>
internal sealed class SparCodeSingle(SparCodeIndex index, long[][] histories, SearchOptions options, int k)
    : BenchSystem("SparCode CPU", "SparCode", 1, histories.Length, k)
{
    private readonly SparCodeSearcher _searcher = index.CreateSearcher();
    private readonly float[] _scores = new float[k];
    private readonly long[] _postings = new long[histories.Length];

    public override double? MeanPostings => _postings.Average();

    /// <summary>
    /// Times the query tower alone (history → K_u codes, <see cref="SparCodeSearcher.Encode"/>) once per
    /// query, after the timed rounds; returns the latencies in stopwatch ticks.
    /// </summary>
    public long[] TimeEncode()
    {
        var codes = new int[index.Dimensions.UserTokens];
        var ticks = new long[histories.Length];
        for (int q = 0; q < histories.Length; q++)
        {
            long start = Stopwatch.GetTimestamp();
            _searcher.Encode(histories[q], codes, UnknownItemPolicy.Skip);
            ticks[q] = Stopwatch.GetTimestamp() - start;
        }
        return ticks;
    }

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

/// <summary>Two-tower exact scan, one query per pass over the item matrix, skipping the query's excluded rows.</summary>
internal sealed class ExactSingle(EmbeddingTable items, EmbeddingTable users, int k, Exclusions excluded)
    : BenchSystem("Two-tower exact", "two-tower", 1, users.Count, k)
{
    private readonly ExactMipsSearcher _searcher = new(items, 1);
    private readonly float[] _scores = new float[k];

    public override void Run(int from, int to)
    {
        for (int q = from; q < to; q++)
        {
            long start = Stopwatch.GetTimestamp();
            _searcher.Search(users.Row(q), K, Ids.AsSpan(q * K, K), _scores, excluded.For(q));
            Latency[q] = Stopwatch.GetTimestamp() - start;
        }
    }
}

/// <summary>Two-tower exact scan, <c>block</c> queries per pass, skipping each query's excluded rows; each query's latency is its block's time.</summary>
internal sealed class ExactBlocked(EmbeddingTable items, EmbeddingTable users, int k, int block, Exclusions excluded)
    : BenchSystem($"Two-tower exact, {block} queries/pass", "two-tower", 1, users.Count, k)
{
    private readonly ExactMipsSearcher _searcher = new(items, block);
    private readonly float[] _scores = new float[block * k];
    private readonly int[] _offsets = new int[block + 1];

    public override void Run(int from, int to)
    {
        int d = users.Dimension;
        for (int q = from; q < to; q += _searcher.MaxBlock)
        {
            int count = Math.Min(_searcher.MaxBlock, to - q);
            long start = Stopwatch.GetTimestamp();
            Search(q, count, users.Vectors.AsSpan(q * d, count * d), Ids.AsSpan(q * K, count * K));
            long elapsed = Stopwatch.GetTimestamp() - start;
            Latency.AsSpan(q, count).Fill(elapsed);
        }
    }

    /// <summary>One block; the block's slice of the exclusions is rebased to start at offset 0.</summary>
    private void Search(int first, int count, ReadOnlySpan<float> queries, Span<long> ids)
    {
        if (!excluded.Any)
        {
            _searcher.SearchBlock(queries, count, K, ids, _scores);
            return;
        }
        int origin = excluded.Offsets[first];
        for (int i = 0; i <= count; i++)
        {
            _offsets[i] = excluded.Offsets[first + i] - origin;
        }
        _searcher.SearchBlock(queries, count, K, ids, _scores, excluded.Rows.AsSpan(origin, _offsets[count]), _offsets.AsSpan(0, count + 1));
    }
}

/// <summary>Two-tower HNSW at one expansion_search, excluded rows filtered inside the graph search; several instances share one graph.</summary>
internal sealed class HnswSystem(HnswIndex index, EmbeddingTable users, int k, int ef, Exclusions excluded)
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
            int n = index.Search(users.Row(q), K, _keys, ids, _scores, excluded.For(q));
            Latency[q] = Stopwatch.GetTimestamp() - start;
            ids[n..].Fill(-1);
        }
    }
}
