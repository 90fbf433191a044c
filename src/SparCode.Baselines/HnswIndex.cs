using System.Diagnostics;

namespace SparCode.Baselines;

/// <summary>USearch reported an error.</summary>
public sealed class HnswException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HnswException(string message)
        : base(message)
    {
    }
}

/// <summary>HNSW build parameters.</summary>
public sealed record HnswOptions
{
    /// <summary>Graph degree M (USearch "connectivity"). Default 16.</summary>
    public int Connectivity { get; init; } = 16;

    /// <summary>Candidate list size while adding (ef_construction). Default 128.</summary>
    public int ExpansionAdd { get; init; } = 128;

    /// <summary>Threads that add vectors; -1 uses every core.</summary>
    public int BuildThreads { get; init; } = -1;
}

/// <summary>
/// A two-tower item matrix in a USearch HNSW graph with the inner-product metric (distance = 1 − ⟨a, b⟩).
/// Built once; <see cref="ExpansionSearch"/> (ef) can be changed between queries; searches are
/// thread-safe while ef is not being changed.
/// </summary>
public sealed class HnswIndex : IDisposable
{
    private readonly EmbeddingTable _items;
    private IntPtr _handle;

    private HnswIndex(EmbeddingTable items, IntPtr handle, TimeSpan buildTime)
    {
        _items = items;
        _handle = handle;
        BuildTime = buildTime;
    }

    /// <summary>Wall time of <see cref="Build"/>.</summary>
    public TimeSpan BuildTime { get; }

    /// <summary>Bytes USearch reports in use (vectors plus graph).</summary>
    public long MemoryBytes => (long)Call(UsearchNative.MemoryUsage, "memory_usage");

    /// <summary>Bytes the index would take when saved.</summary>
    public long SerializedBytes => (long)Call(UsearchNative.SerializedLength, "serialized_length");

    /// <summary>Vectors in the graph.</summary>
    public int Count => (int)Call(UsearchNative.Size, "size");

    /// <summary>The search beam width ef (USearch "expansion_search"); at least k is used.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is below 1.</exception>
    public int ExpansionSearch
    {
        get => (int)Call(UsearchNative.ExpansionSearch, "expansion_search");
        set
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(value, 1);
            UsearchNative.ChangeExpansionSearch(Handle, (nuint)value, out var error);
            UsearchNative.Check(error, "change_expansion_search");
        }
    }

    /// <summary>Builds the graph over every row of <paramref name="items"/> (keys are row numbers).</summary>
    /// <param name="items">Item embeddings; kept by reference for id mapping.</param>
    /// <param name="options">Build parameters (defaults if null).</param>
    /// <param name="progress">Receives the fraction of vectors added.</param>
    /// <exception cref="HnswException">USearch failed (for example, out of memory).</exception>
    public static HnswIndex Build(EmbeddingTable items, HnswOptions? options = null, IProgress<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(items);
        options ??= new HnswOptions();
        int threads = options.BuildThreads < 1 ? Environment.ProcessorCount : options.BuildThreads;
        var init = new UsearchNative.InitOptions
        {
            MetricKind = UsearchNative.MetricKind.InnerProduct,
            Quantization = UsearchNative.ScalarKind.Float32,
            Dimensions = (nuint)items.Dimension,
            Connectivity = (nuint)options.Connectivity,
            ExpansionAdd = (nuint)options.ExpansionAdd,
            ExpansionSearch = 64,
        };
        var clock = Stopwatch.StartNew();
        var handle = UsearchNative.Init(ref init, out var error);
        UsearchNative.Check(error, "init");
        try
        {
            // Thread contexts are sized at reserve time: one per adding thread, and enough for every
            // core to search concurrently afterwards.
            int searchThreads = Math.Max(threads, Environment.ProcessorCount);
            UsearchNative.ChangeThreadsAdd(handle, (nuint)threads, out error);
            UsearchNative.Check(error, "change_threads_add");
            UsearchNative.ChangeThreadsSearch(handle, (nuint)searchThreads, out error);
            UsearchNative.Check(error, "change_threads_search");
            UsearchNative.Reserve(handle, (nuint)items.Count, out error);
            UsearchNative.Check(error, "reserve");
            int added = 0;
            var vectors = items.Vectors;
            int d = items.Dimension;
            Parallel.For(0, items.Count, new ParallelOptions { MaxDegreeOfParallelism = threads }, row =>
            {
                UsearchNative.Add(handle, (ulong)row, ref vectors[row * d], UsearchNative.ScalarKind.Float32, out var addError);
                UsearchNative.Check(addError, "add");
                if (progress is not null && (Interlocked.Increment(ref added) & 0x3FFF) == 0)
                {
                    progress.Report((double)added / items.Count);
                }
            });
        }
        catch
        {
            UsearchNative.Free(handle, out _);
            throw;
        }
        return new HnswIndex(items, handle, clock.Elapsed);
    }

    /// <summary>Approximate top-k by inner product.</summary>
    /// <param name="query">d floats.</param>
    /// <param name="k">Results wanted, ≥ 1.</param>
    /// <param name="keys">Scratch of at least k keys (one per thread, so the call does not allocate).</param>
    /// <param name="ids">Receives up to k external ids, best first.</param>
    /// <param name="scores">Receives their inner products.</param>
    /// <returns>How many results were found.</returns>
    /// <exception cref="ArgumentException">Wrong query length or short buffers.</exception>
    public int Search(ReadOnlySpan<float> query, int k, Span<ulong> keys, Span<long> ids, Span<float> scores)
    {
        if (query.Length != _items.Dimension || k < 1 || keys.Length < k || ids.Length < k || scores.Length < k)
        {
            throw new ArgumentException($"Search needs a query of {_items.Dimension} floats and k ≥ 1 with k slots in keys, ids and scores; got {query.Length} floats, k = {k}, {keys.Length}, {ids.Length}, {scores.Length}.");
        }
        nuint found = UsearchNative.Search(Handle, ref System.Runtime.InteropServices.MemoryMarshal.GetReference(query), UsearchNative.ScalarKind.Float32,
            (nuint)k, ref keys[0], ref scores[0], out var error);
        UsearchNative.Check(error, "search");
        var external = _items.Ids;
        for (int i = 0; i < (int)found; i++)
        {
            ids[i] = external[(int)keys[i]];
            scores[i] = 1f - scores[i];
        }
        return (int)found;
    }

    /// <summary>
    /// Approximate top-k by inner product that never returns the rows in <paramref name="excludedRows"/>
    /// (for example the user's history), through USearch's filtered search: excluded rows are skipped
    /// as candidates inside the graph search, so ef is still the beam width (no over-fetching).
    /// </summary>
    /// <param name="query">d floats.</param>
    /// <param name="k">Results wanted, ≥ 1.</param>
    /// <param name="keys">Scratch of at least k keys.</param>
    /// <param name="ids">Receives up to k external ids, best first.</param>
    /// <param name="scores">Receives their inner products.</param>
    /// <param name="excludedRows">Rows (not external ids) in 0..<see cref="Count"/>−1; empty runs the plain search.</param>
    /// <returns>How many results were found.</returns>
    /// <exception cref="ArgumentException">Wrong query length, short buffers, or an excluded row out of range.</exception>
    public int Search(ReadOnlySpan<float> query, int k, Span<ulong> keys, Span<long> ids, Span<float> scores, ReadOnlySpan<int> excludedRows)
    {
        if (excludedRows.IsEmpty)
        {
            return Search(query, k, keys, ids, scores);
        }
        if (query.Length != _items.Dimension || k < 1 || keys.Length < k || ids.Length < k || scores.Length < k)
        {
            throw new ArgumentException($"Search needs a query of {_items.Dimension} floats and k ≥ 1 with k slots in keys, ids and scores; got {query.Length} floats, k = {k}, {keys.Length}, {ids.Length}, {scores.Length}.");
        }
        foreach (int row in excludedRows)
        {
            if ((uint)row >= (uint)_items.Count)
            {
                throw new ArgumentException($"Excluded row {row} is outside 0..{_items.Count - 1}.", nameof(excludedRows));
            }
        }
        var mask = t_excluded is { } m && m.Length >= _items.Count ? m : t_excluded = new bool[_items.Count];
        foreach (int row in excludedRows)
        {
            mask[row] = true;
        }
        nuint found;
        IntPtr error;
        try
        {
            found = UsearchNative.FilteredSearch(Handle, ref System.Runtime.InteropServices.MemoryMarshal.GetReference(query), UsearchNative.ScalarKind.Float32,
                (nuint)k, KeepPointer, IntPtr.Zero, ref keys[0], ref scores[0], out error);
        }
        finally
        {
            foreach (int row in excludedRows)
            {
                mask[row] = false;
            }
        }
        UsearchNative.Check(error, "filtered_search");
        var external = _items.Ids;
        for (int i = 0; i < (int)found; i++)
        {
            ids[i] = external[(int)keys[i]];
            scores[i] = 1f - scores[i];
        }
        return (int)found;
    }

    /// <summary>This thread's excluded-row mask, read by <see cref="Keep"/>: USearch runs the predicate on the calling thread.</summary>
    [ThreadStatic]
    private static bool[]? t_excluded;

    private static readonly UsearchNative.Filter KeepDelegate = Keep;

    private static readonly IntPtr KeepPointer = System.Runtime.InteropServices.Marshal.GetFunctionPointerForDelegate(KeepDelegate);

    private static int Keep(ulong key, IntPtr state) => t_excluded![(int)key] ? 0 : 1;

    private IntPtr Handle => _handle != IntPtr.Zero ? _handle : throw new ObjectDisposedException(nameof(HnswIndex));

    private delegate nuint Getter(IntPtr index, out IntPtr error);

    private nuint Call(Getter getter, string operation)
    {
        nuint value = getter(Handle, out var error);
        UsearchNative.Check(error, operation);
        return value;
    }

    /// <summary>Frees the native index.</summary>
    public void Dispose()
    {
        if (_handle != IntPtr.Zero)
        {
            UsearchNative.Free(_handle, out _);
            _handle = IntPtr.Zero;
        }
    }
}
