using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using SparCode.Format;

namespace SparCode.Engine;

/// <summary>
/// A SparCode index opened for serving: the memory-mapped file, its query tower and its posting lists.
/// </summary>
/// <remarks>
/// Immutable and thread-safe. For single queries create one <see cref="SparCodeSearcher"/> per thread
/// with <see cref="CreateSearcher()"/>; <see cref="SearchBatch"/> runs many queries on all cores.
/// <para>
/// Lifetime: every search and every batch holds a lease on the mapping (one interlocked increment and
/// decrement), so <see cref="Dispose"/> never pulls the file out from under a query in flight: it marks
/// the index disposed at once and the last reader to leave unmaps the file. Searches, batches and
/// <see cref="CreateSearcher()"/> started after <see cref="Dispose"/> throw <see cref="ObjectDisposedException"/>.
/// Nothing public hands out a view of the mapping: <see cref="CopyPostingList"/> copies under a lease, and
/// <see cref="Description"/> is copied at open. To replace a serving index under load use
/// <see cref="SparCodeService.Swap(string, IndexValidation)"/>.
/// </para>
/// <code>
/// using var index = SparCodeIndex.Open("model.sci");
/// var searcher = index.CreateSearcher();
/// Span&lt;long&gt; ids = stackalloc long[50];
/// Span&lt;float&gt; scores = stackalloc float[50];
/// int n = searcher.Search([101, 7, 42], 50, ids, scores);
/// </code>
/// </remarks>
public sealed class SparCodeIndex : IDisposable
{
    /// <summary>
    /// Heap memory that <see cref="Open"/> may allocate for the derived tables (window table and rank
    /// scores) before it refuses a file with <see cref="CorruptionKind.SizeLimitExceeded"/>: 4 GiB. The
    /// tables cost <c>60 + 4·(⌈n_items / 65536⌉ + 1)</c> bytes per code (68 for up to 65,536 items), so the
    /// format's largest code count, 2^24, fits up to about 3.1M items.
    /// </summary>
    public const long MaxDerivedTableBytes = 4L << 30;

    private const int DisposedFlag = int.MinValue;

    private readonly ConcurrentBag<SparCodeSearcher> _pool = [];

    /// <summary>Readers holding a lease, with <see cref="DisposedFlag"/> set once <see cref="Dispose"/> ran.</summary>
    private int _state;

    /// <summary>1 once the file is unmapped.</summary>
    private int _unmapped;

    private SparCodeIndex(IndexFile file)
    {
        OpenMemoryBytes = CheckOpenMemory(file);
        File = file;
        Description = IndexDescription.Of(file);
        PostingOffsets = file.PostingOffsets;
        PostingItems = file.PostingItems;
        PostingScores = file.PostingScores;
        ExternalIds = file.ExternalItemIds;
        FallbackOrder = file.FallbackOrder;
        Tower = QueryTower.FromIndex(file);
        RankScores = ListRankScores.Build(file.PostingOffsets, file.PostingScores, file.ListMaxScores);
        Windows = ListWindows.Build(file.PostingOffsets.Span, file.PostingItems.Span, file.Dimensions.ItemCount);
    }

    /// <summary>The mapped file. Internal: its sections are views of the mapping, valid only under a lease.</summary>
    internal IndexFile File { get; }

    /// <summary>What the index is (path, version, sizes, towers, metadata); copied at open, so safe after <see cref="Dispose"/>.</summary>
    public IndexDescription Description { get; }

    /// <summary>Model sizes.</summary>
    public ModelDimensions Dimensions => Description.Dimensions;

    /// <summary>The query tower. Internal: it reads the item embeddings in the mapping.</summary>
    internal QueryTower Tower { get; }

    internal ReadOnlyMemory<long> PostingOffsets { get; }

    internal ReadOnlyMemory<int> PostingItems { get; }

    internal ReadOnlyMemory<float> PostingScores { get; }

    internal ReadOnlyMemory<long> ExternalIds { get; }

    internal ReadOnlyMemory<int> FallbackOrder { get; }

    /// <summary>Every list's scores at a few ranks: a query's safe starting top-k threshold.</summary>
    internal ListRankScores RankScores { get; }

    /// <summary>Where every list crosses every default-sized accumulation window.</summary>
    internal ListWindows Windows { get; }

    /// <summary>
    /// Heap bytes this index allocated when it was opened, besides the mapping: the window table, the rank
    /// scores, the query tower's transposed weights and the external id map (see <see cref="EstimateOpenMemory"/>).
    /// </summary>
    public long OpenMemoryBytes { get; }

    /// <summary>
    /// The heap bytes <see cref="Open"/> allocates for <paramref name="file"/> besides the mapping: the
    /// window table (<c>4·(⌈n_items / 65536⌉ + 1)</c> bytes per code), the rank scores (60 bytes per code),
    /// the query tower's weights (copied transposed) and the external id map (12 bytes per item unless the
    /// ids are contiguous). Exact to within a few object headers.
    /// </summary>
    /// <param name="file">An open index file.</param>
    public static long EstimateOpenMemory(IndexFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        var (windowTable, rankTable) = DerivedTableEntries(file.Dimensions);
        long tower = 0;
        foreach (var e in file.Sections)
        {
            if (e.Kind is SectionKind.TowerWeight or SectionKind.TowerBias or SectionKind.HeadWeight or SectionKind.HeadBias or SectionKind.Codebooks)
            {
                tower += e.ByteLength;
            }
        }
        return (windowTable + rankTable) * sizeof(float) + tower + file.ItemIds.MemoryBytes;
    }

    /// <summary>Entries of the window table and of the rank-score table for these dimensions.</summary>
    private static (long WindowTable, long RankTable) DerivedTableEntries(ModelDimensions dims)
    {
        long windows = (dims.ItemCount + (long)SparCodeSearcher.DefaultWindow - 1) / SparCodeSearcher.DefaultWindow;
        return (dims.CodeCount * (windows + 1), (long)dims.CodeCount * ListRankScores.Ranks.Length);
    }

    /// <summary>Refuses files whose derived tables would pass <see cref="MaxDerivedTableBytes"/> or an array's size; returns <see cref="EstimateOpenMemory"/>.</summary>
    private static long CheckOpenMemory(IndexFile file)
    {
        var dims = file.Dimensions;
        var (windowTable, rankTable) = DerivedTableEntries(dims);
        long bytes = (windowTable + rankTable) * sizeof(float);
        if (bytes > MaxDerivedTableBytes || windowTable > Array.MaxLength || rankTable > Array.MaxLength)
        {
            throw new CorruptIndexException(CorruptionKind.SizeLimitExceeded, file.Path,
                $"its derived tables would take {bytes:N0} bytes ({dims.CodeCount:N0} codes × ({ListRankScores.Ranks.Length} rank scores + {windowTable / dims.CodeCount} window boundaries) × 4 bytes, for {dims.ItemCount:N0} items); the limit is {MaxDerivedTableBytes:N0} bytes (SparCodeIndex.MaxDerivedTableBytes), with at most {Array.MaxLength:N0} entries per table.");
        }
        return EstimateOpenMemory(file);
    }

    /// <summary>Opens, maps and validates an index file (see <see cref="IndexFile.Open"/> for the checks).</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="CorruptIndexException">The file is damaged.</exception>
    /// <exception cref="IndexVersionException">The file's format version is not readable by this library.</exception>
    /// <remarks>
    /// Besides the file's own checks, refuses (<see cref="CorruptionKind.SizeLimitExceeded"/>) a file whose
    /// derived tables would take more than <see cref="MaxDerivedTableBytes"/>. <see cref="OpenMemoryBytes"/>
    /// tells what was allocated.
    /// </remarks>
    public static SparCodeIndex Open(string path, IndexValidation validation = IndexValidation.Full)
    {
        var file = IndexFile.Open(path, validation);
        try
        {
            return new SparCodeIndex(file);
        }
        catch
        {
            file.Dispose();
            throw;
        }
    }

    /// <summary>Rechecks every byte and every structural rule of the mapped file.</summary>
    /// <exception cref="CorruptIndexException">The file is damaged.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public void Verify()
    {
        using var lease = Acquire();
        File.Verify();
    }

    /// <summary>Creates a searcher: owns its scratch (a cache-sized accumulator window), one thread at a time, reusable.</summary>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public SparCodeSearcher CreateSearcher()
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return new(this);
    }

    /// <summary>A searcher with a chosen accumulator window (items) and collect mode, for tests and benchmarks.</summary>
    internal SparCodeSearcher CreateSearcher(int window, CollectMode collect = CollectMode.Auto)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        return new(this, window, collect);
    }

    /// <summary>
    /// Takes a lease on the mapping: false once <see cref="Dispose"/> has run. Every true must be paired
    /// with one <see cref="Release"/>. One interlocked increment.
    /// </summary>
    internal bool TryAcquire()
    {
        if (Interlocked.Increment(ref _state) > 0)
        {
            return true;
        }
        Release();
        return false;
    }

    /// <summary>A lease for one call (<see cref="TryAcquire"/>, or <see cref="ObjectDisposedException"/>); disposing it releases.</summary>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    internal ReadLease Acquire()
    {
        if (!TryAcquire())
        {
            ThrowDisposed();
        }
        return new ReadLease(this);
    }

    /// <summary>A held lease on the mapping (see <see cref="Acquire"/>).</summary>
    internal readonly ref struct ReadLease(SparCodeIndex index)
    {
        /// <summary>Ends the lease.</summary>
        public void Dispose() => index.Release();
    }

    /// <summary>Ends a lease; the last one out after <see cref="Dispose"/> unmaps the file.</summary>
    internal void Release()
    {
        if (Interlocked.Decrement(ref _state) == DisposedFlag)
        {
            Unmap();
        }
    }

    private void Unmap()
    {
        if (Interlocked.Exchange(ref _unmapped, 1) == 0)
        {
            File.Dispose();
        }
    }

    /// <summary>A pooled searcher, for <see cref="SearchBatch"/> and <see cref="SparCodeService"/> (return it with <see cref="Return"/>).</summary>
    internal SparCodeSearcher Rent() => _pool.TryTake(out var searcher) ? searcher : new SparCodeSearcher(this);

    /// <summary>Puts a searcher from <see cref="Rent"/> back in the pool.</summary>
    internal void Return(SparCodeSearcher searcher) => _pool.Add(searcher);

    [DoesNotReturn]
    internal void ThrowDisposed() => throw new ObjectDisposedException(nameof(SparCodeIndex), $"The index '{Description.Path}' was disposed.");

    /// <summary>The length of <paramref name="code"/>'s posting list.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="code"/> is not in <c>[0, K_c^M)</c>.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public int PostingListLength(int code)
    {
        CheckCode(code);
        using var lease = Acquire();
        return (int)(PostingOffsets.Span[code + 1] - PostingOffsets.Span[code]);
    }

    /// <summary>
    /// Copies the posting list of <paramref name="code"/> (internal item ids ascending, see
    /// <see cref="ExternalId"/>, and their scores) into <paramref name="items"/> and <paramref name="scores"/>,
    /// under a lease, so the copy stays valid after <see cref="Dispose"/>.
    /// </summary>
    /// <returns>The list's length.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="code"/> is not in <c>[0, K_c^M)</c>.</exception>
    /// <exception cref="ArgumentException">A destination is shorter than the list (see <see cref="PostingListLength"/>).</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public int CopyPostingList(int code, Span<int> items, Span<float> scores)
    {
        CheckCode(code);
        using var lease = Acquire();
        var offsets = PostingOffsets.Span;
        int start = (int)offsets[code], length = (int)(offsets[code + 1] - offsets[code]);
        if (items.Length < length || scores.Length < length)
        {
            throw new ArgumentException($"The list of code {code} has {length} postings; the destinations hold {items.Length} items and {scores.Length} scores.");
        }
        PostingItems.Span.Slice(start, length).CopyTo(items);
        PostingScores.Span.Slice(start, length).CopyTo(scores);
        return length;
    }

    private void CheckCode(int code)
    {
        if ((uint)code >= (uint)Dimensions.CodeCount)
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, $"Code must be in [0, {Dimensions.CodeCount}).");
        }
    }

    /// <summary>Looks up an external item id.</summary>
    /// <param name="externalId">The catalogue's id.</param>
    /// <param name="internalId">Its row 0..n_items−1 (the ids of <see cref="CopyPostingList"/>), or -1.</param>
    /// <returns>Whether the id is in the catalogue.</returns>
    /// <remarks>The id map is on the heap, built at open: no lease needed, and valid after <see cref="Dispose"/>.</remarks>
    public bool TryGetInternalId(long externalId, out int internalId)
    {
        if (File.ItemIds.TryGetInternal(externalId, out internalId))
        {
            return true;
        }
        internalId = -1;
        return false;
    }

    /// <summary>The external id of row <paramref name="internalId"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="internalId"/> is not in <c>[0, n_items)</c>.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed.</exception>
    public long ExternalId(int internalId)
    {
        if ((uint)internalId >= (uint)Dimensions.ItemCount)
        {
            throw new ArgumentOutOfRangeException(nameof(internalId), internalId, $"Internal item ids are in [0, {Dimensions.ItemCount}).");
        }
        using var lease = Acquire();
        return ExternalIds.Span[internalId];
    }

    /// <summary>
    /// Searches many histories on all cores. Histories are concatenated in <paramref name="histories"/>;
    /// query <c>q</c> is <c>histories[offsets[q] .. offsets[q + 1])</c>. Row <c>q</c> of
    /// <paramref name="ids"/> and <paramref name="scores"/> (k columns) receives its results; unused
    /// slots are padded with id -1 and score -∞. <paramref name="counts"/> receives each row's count.
    /// </summary>
    /// <param name="histories">All histories, concatenated (external item ids, oldest first).</param>
    /// <param name="offsets">Query count + 1 offsets into <paramref name="histories"/>, non-decreasing from 0.</param>
    /// <param name="k">Results per query, 1..n_items.</param>
    /// <param name="ids">Receives query count × k ids.</param>
    /// <param name="scores">Receives query count × k scores.</param>
    /// <param name="counts">Receives query count result counts.</param>
    /// <param name="options">Search options (defaults if null).</param>
    /// <param name="maxDegreeOfParallelism">Worker threads; -1 uses every core.</param>
    /// <exception cref="ArgumentException">Shapes disagree, or any query is invalid (see <see cref="SparCodeSearcher.Search(ReadOnlySpan{long}, int, Span{long}, Span{float}, SearchOptions?)"/>); the message starts with the failing query's number.</exception>
    /// <exception cref="UnknownItemException">A history id is unknown and <see cref="UnknownItemPolicy.Error"/> is in force; <see cref="UnknownItemException.Query"/> is the query's number.</exception>
    /// <exception cref="ObjectDisposedException">The index was disposed (a batch running when <see cref="Dispose"/> is called completes).</exception>
    public void SearchBatch(ReadOnlyMemory<long> histories, ReadOnlyMemory<int> offsets, int k, Memory<long> ids, Memory<float> scores, Memory<int> counts,
        SearchOptions? options = null, int maxDegreeOfParallelism = -1)
    {
        // One lease for the whole batch: its searches run on pooled searchers without leasing again.
        using var lease = Acquire();
        SearchBatchLeased(histories, offsets, k, ids, scores, counts, options, maxDegreeOfParallelism);
    }

    /// <summary><see cref="SearchBatch"/> while the caller holds a lease (<see cref="SparCodeService"/>).</summary>
    internal void SearchBatchLeased(ReadOnlyMemory<long> histories, ReadOnlyMemory<int> offsets, int k, Memory<long> ids, Memory<float> scores, Memory<int> counts,
        SearchOptions? options, int maxDegreeOfParallelism)
    {
        int queries = ServingRules.CheckBatch(histories.Length, offsets.Span, k, Dimensions.ItemCount, ids.Length, scores.Length, counts.Length);
        const int chunk = 16;
        int chunks = (queries + chunk - 1) / chunk;
        try
        {
            Parallel.For(0, chunks, new ParallelOptions { MaxDegreeOfParallelism = maxDegreeOfParallelism },
                Rent,
                (c, _, searcher) =>
                {
                    var off = offsets.Span;
                    for (int q = c * chunk; q < Math.Min(queries, (c + 1) * chunk); q++)
                    {
                        var rowIds = ids.Span.Slice(q * k, k);
                        var rowScores = scores.Span.Slice(q * k, k);
                        int n;
                        try
                        {
                            n = searcher.SearchLeased(histories.Span[off[q]..off[q + 1]], [], k, rowIds, rowScores, options);
                        }
                        catch (ArgumentException e)
                        {
                            throw ServingRules.InQuery(e, q, off[q], off[q + 1]);
                        }
                        rowIds[n..].Fill(-1);
                        rowScores[n..].Fill(float.NegativeInfinity);
                        counts.Span[q] = n;
                    }
                    return searcher;
                },
                Return);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // Report a bad query the way a single search would (its number in the message), not wrapped by the
            // thread pool; with several bad queries, the first one a worker reported.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
    }

    /// <summary>True once <see cref="Dispose"/> has run (the file may still be mapped until the last search in flight ends).</summary>
    public bool IsDisposed => Volatile.Read(ref _state) < 0;

    /// <summary>
    /// Marks the index disposed and unmaps the file as soon as no search or batch is in flight (at once if
    /// none is; otherwise the last one to finish unmaps it). Searches, batches and searchers started
    /// afterwards throw <see cref="ObjectDisposedException"/>. Idempotent and thread-safe.
    /// </summary>
    public void Dispose()
    {
        int before = Interlocked.Or(ref _state, DisposedFlag);
        if (before == 0)
        {
            Unmap();
        }
    }
}
