using BenchmarkDotNet.Attributes;
using SparCode.Benchmarks.Infrastructure;
using SparCode.Engine;
using SparCode.Synthetic;

namespace SparCode.Benchmarks.Engine;

/// <summary>
/// What issue 13's safety added to every search, alone: the searcher's reentrancy guard (one
/// interlocked exchange and a store) and the index lease (one interlocked increment and decrement), in a
/// try/finally, uncontended, against the same loop without them. A search costs 2–200 µs, so the
/// difference per call is the cost on the query path.
/// </summary>
[Config(typeof(IsaMethodBaselineConfig))]
public class SearchGuardBenchmarks
{
    private SparCodeIndex? _index;
    private int _busy;
    private int _work;

    [GlobalSetup]
    public void Setup()
    {
        string path = SyntheticIndexCache.GetOrCreate(new SyntheticOptions { ItemCount = 1000, MeanPostingsPerList = 10 });
        _index = SparCodeIndex.Open(path);
    }

    [GlobalCleanup]
    public void Cleanup() => _index?.Dispose();

    /// <summary>The loop body without guard or lease.</summary>
    [Benchmark(Baseline = true)]
    public int Bare() => ++_work;

    /// <summary>The loop body inside the guard and the lease, as <see cref="SparCodeSearcher.Search(ReadOnlySpan{long}, int, Span{long}, Span{float}, SearchOptions?)"/> runs it.</summary>
    [Benchmark]
    public int GuardAndLease()
    {
        if (Interlocked.Exchange(ref _busy, 1) != 0)
        {
            throw new InvalidOperationException("reentered");
        }
        if (!_index!.TryAcquire())
        {
            Volatile.Write(ref _busy, 0);
            throw new ObjectDisposedException(nameof(SparCodeIndex));
        }
        try
        {
            return ++_work;
        }
        finally
        {
            _index.Release();
            Volatile.Write(ref _busy, 0);
        }
    }
}
