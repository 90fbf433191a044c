using SparCode.Format;

namespace SparCode.Engine;

/// <summary>
/// A serving handle that a host keeps for its whole lifetime: it answers queries on the current index and
/// replaces that index with <see cref="Swap(string, IndexValidation)"/> while queries run.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="Swap(string, IndexValidation)"/> opens and fully validates the new file on the calling
/// thread (off the query path), then switches with one atomic store. Queries that started on the old
/// index finish on it; the old index is disposed at once, and its file is unmapped when the last of those
/// queries leaves (see <see cref="SparCodeIndex.Dispose"/>). A query never fails because of a swap: one
/// that reads the old index just as it is retired takes a lease on the new one instead.
/// </para>
/// <para>
/// Thread-safe: any number of threads may call <see cref="Search(ReadOnlySpan{long}, ReadOnlySpan{long}, int, Span{long}, Span{float}, SearchOptions?)"/>
/// and <see cref="SearchBatch"/> while another swaps. Searches use pooled searchers, so after warm-up
/// they do not allocate. Swap the file by writing the new index to a new path (or atomically renaming
/// it into place, as <see cref="IndexWriter.Write"/> does), never by rewriting a mapped file in place.
/// </para>
/// <code>
/// using var service = SparCodeService.Open("current.sci");
/// int n = service.Search(history, [], 50, ids, scores);
/// service.Swap("v43.sci");   // later, from a control thread
/// </code>
/// </remarks>
public sealed class SparCodeService : IDisposable
{
    private readonly Lock _swapLock = new();
    private SparCodeIndex _current;
    private long _generation;
    private bool _disposed;

    /// <summary>Serves <paramref name="index"/>, which the service now owns (it disposes it when it is swapped out).</summary>
    /// <param name="index">An open index.</param>
    /// <exception cref="ObjectDisposedException"><paramref name="index"/> is disposed.</exception>
    public SparCodeService(SparCodeIndex index)
    {
        ArgumentNullException.ThrowIfNull(index);
        ObjectDisposedException.ThrowIf(index.IsDisposed, index);
        _current = index;
    }

    /// <summary>Opens <paramref name="path"/> (see <see cref="SparCodeIndex.Open"/>) and serves it.</summary>
    /// <param name="path">The index file.</param>
    /// <param name="validation">How much to check; <see cref="IndexValidation.Full"/> by default.</param>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="CorruptIndexException">The file is damaged.</exception>
    /// <exception cref="IndexVersionException">The file's format version is not readable by this library.</exception>
    public static SparCodeService Open(string path, IndexValidation validation = IndexValidation.Full) => new(SparCodeIndex.Open(path, validation));

    /// <summary>How many swaps have completed (0 before the first).</summary>
    public long Generation => Interlocked.Read(ref _generation);

    /// <summary>The file the current index was opened from.</summary>
    public string CurrentPath => Volatile.Read(ref _current).Description.Path;

    /// <summary>The current index's model sizes.</summary>
    public ModelDimensions Dimensions => Volatile.Read(ref _current).Dimensions;

    /// <summary>
    /// Opens and fully validates <paramref name="path"/>, then makes it the index that new queries use.
    /// If the new file cannot be opened, nothing changes and the exception propagates.
    /// </summary>
    /// <param name="path">The new index file.</param>
    /// <param name="validation">How much to check; <see cref="IndexValidation.Full"/> (every byte) by default.</param>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="CorruptIndexException">The new file is damaged; the current index keeps serving.</exception>
    /// <exception cref="IndexVersionException">The new file's version is not readable; the current index keeps serving.</exception>
    /// <exception cref="ObjectDisposedException">The service was disposed.</exception>
    public void Swap(string path, IndexValidation validation = IndexValidation.Full)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
        Swap(SparCodeIndex.Open(path, validation));
    }

    /// <summary>Makes <paramref name="next"/> (now owned by the service) the index that new queries use; the old one is disposed once its queries finish.</summary>
    /// <param name="next">An open index.</param>
    /// <exception cref="ObjectDisposedException">The service or <paramref name="next"/> was disposed (then <paramref name="next"/> is disposed too).</exception>
    public void Swap(SparCodeIndex next)
    {
        ArgumentNullException.ThrowIfNull(next);
        SparCodeIndex old;
        lock (_swapLock)
        {
            if (_disposed || next.IsDisposed)
            {
                next.Dispose();
                ObjectDisposedException.ThrowIf(_disposed, this);
                ObjectDisposedException.ThrowIf(true, next);
            }
            old = Interlocked.Exchange(ref _current, next);
            Interlocked.Increment(ref _generation);
        }
        if (!ReferenceEquals(old, next))
        {
            old.Dispose();
        }
    }

    /// <summary>
    /// Takes a lease on the current index and a pooled searcher for it: the index stays mapped until the
    /// lease is disposed. For hosts that need several calls on one index, or need to know which index
    /// answered. Dispose it exactly once, on the thread that took it, and do not copy it.
    /// </summary>
    /// <exception cref="ObjectDisposedException">The service was disposed.</exception>
    public IndexLease Lease()
    {
        while (true)
        {
            var index = Volatile.Read(ref _current);
            if (index.TryAcquire())
            {
                return new IndexLease(index, index.Rent());
            }
            // Retired by a swap between the read and the lease: the next read sees its successor.
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed), this);
            Thread.Yield();
        }
    }

    /// <summary>Searches the current index (see <see cref="SparCodeSearcher.Search(ReadOnlySpan{long}, ReadOnlySpan{long}, int, Span{long}, Span{float}, SearchOptions?)"/>).</summary>
    /// <param name="history">External item ids, oldest first.</param>
    /// <param name="exclude">Further external ids to drop from the results.</param>
    /// <param name="k">Results wanted, 1..n_items.</param>
    /// <param name="ids">Receives up to k external item ids, best first.</param>
    /// <param name="scores">Receives their scores.</param>
    /// <param name="options">Options; <see cref="SearchOptions.Default"/> if null.</param>
    /// <returns>How many results were written.</returns>
    /// <exception cref="ArgumentException">The query is invalid.</exception>
    /// <exception cref="ObjectDisposedException">The service was disposed.</exception>
    public int Search(ReadOnlySpan<long> history, ReadOnlySpan<long> exclude, int k, Span<long> ids, Span<float> scores, SearchOptions? options = null)
    {
        using var lease = Lease();
        return lease.Search(history, exclude, k, ids, scores, options);
    }

    /// <summary>Runs <see cref="SparCodeIndex.SearchBatch"/> on the current index; the whole batch uses one index.</summary>
    /// <inheritdoc cref="SparCodeIndex.SearchBatch"/>
    /// <exception cref="ObjectDisposedException">The service was disposed.</exception>
    public void SearchBatch(ReadOnlyMemory<long> histories, ReadOnlyMemory<int> offsets, int k, Memory<long> ids, Memory<float> scores, Memory<int> counts,
        SearchOptions? options = null, int maxDegreeOfParallelism = -1)
    {
        using var lease = Lease();
        lease.Index.SearchBatchLeased(histories, offsets, k, ids, scores, counts, options, maxDegreeOfParallelism);
    }

    /// <summary>Disposes the current index (unmapped once the queries in flight finish); later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        lock (_swapLock)
        {
            if (_disposed)
            {
                return;
            }
            Volatile.Write(ref _disposed, true);
        }
        Volatile.Read(ref _current).Dispose();
    }
}

/// <summary>
/// A lease on one index of a <see cref="SparCodeService"/> with a pooled searcher for it, from
/// <see cref="SparCodeService.Lease"/>: the index stays mapped until <see cref="Dispose"/>, and
/// <see cref="Search"/> runs on it even if a swap retires it meanwhile.
/// </summary>
public ref struct IndexLease
{
    private SparCodeSearcher? _searcher;

    internal IndexLease(SparCodeIndex index, SparCodeSearcher searcher)
    {
        Index = index;
        _searcher = searcher;
    }

    /// <summary>The leased index.</summary>
    public SparCodeIndex Index { get; }

    /// <summary>
    /// Searches <see cref="Index"/> under this lease (see <see cref="SparCodeSearcher.Search(ReadOnlySpan{long}, ReadOnlySpan{long}, int, Span{long}, Span{float}, SearchOptions?)"/>):
    /// it succeeds even if a swap retires the index meanwhile.
    /// </summary>
    /// <param name="history">External item ids, oldest first.</param>
    /// <param name="exclude">Further external ids to drop from the results.</param>
    /// <param name="k">Results wanted, 1..n_items.</param>
    /// <param name="ids">Receives up to k external item ids, best first.</param>
    /// <param name="scores">Receives their scores.</param>
    /// <param name="options">Options; <see cref="SearchOptions.Default"/> if null.</param>
    /// <returns>How many results were written.</returns>
    /// <exception cref="ArgumentException">The query is invalid.</exception>
    /// <exception cref="ObjectDisposedException">The lease was disposed.</exception>
    public readonly int Search(ReadOnlySpan<long> history, ReadOnlySpan<long> exclude, int k, Span<long> ids, Span<float> scores, SearchOptions? options = null) =>
        (_searcher ?? throw new ObjectDisposedException(nameof(IndexLease))).SearchLeased(history, exclude, k, ids, scores, options);

    /// <summary>Postings the last <see cref="Search"/> of this lease read.</summary>
    public readonly long LastPostingsTouched => _searcher?.LastPostingsTouched ?? 0;

    /// <summary>Returns the searcher to the pool and ends the lease.</summary>
    public void Dispose()
    {
        if (_searcher is { } searcher)
        {
            _searcher = null;
            Index.Return(searcher);
            Index.Release();
        }
    }
}
