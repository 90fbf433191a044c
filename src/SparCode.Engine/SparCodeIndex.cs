using System.Collections.Concurrent;
using SparCode.Format;

namespace SparCode.Engine;

/// <summary>
/// A SparCode index opened for serving: the memory-mapped file, its query tower and its posting lists.
/// </summary>
/// <remarks>
/// Immutable and thread-safe. For single queries create one <see cref="SparCodeSearcher"/> per thread
/// with <see cref="CreateSearcher()"/>; <see cref="SearchBatch"/> runs many queries on all cores.
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
    private readonly ConcurrentBag<SparCodeSearcher> _pool = [];

    private SparCodeIndex(IndexFile file)
    {
        File = file;
        PostingOffsets = file.PostingOffsets;
        PostingItems = file.PostingItems;
        PostingScores = file.PostingScores;
        ExternalIds = file.ExternalItemIds;
        FallbackOrder = file.FallbackOrder;
        Tower = QueryTower.FromIndex(file);
        RankScores = ListRankScores.Build(file.PostingOffsets, file.PostingScores, file.ListMaxScores);
        Windows = ListWindows.Build(file.PostingOffsets.Span, file.PostingItems.Span, file.Dimensions.ItemCount);
    }

    /// <summary>The underlying file: header, sections, metadata.</summary>
    public IndexFile File { get; }

    /// <summary>Model sizes.</summary>
    public ModelDimensions Dimensions => File.Dimensions;

    /// <summary>The query tower.</summary>
    public QueryTower Tower { get; }

    internal ReadOnlyMemory<long> PostingOffsets { get; }

    internal ReadOnlyMemory<int> PostingItems { get; }

    internal ReadOnlyMemory<float> PostingScores { get; }

    internal ReadOnlyMemory<long> ExternalIds { get; }

    internal ReadOnlyMemory<int> FallbackOrder { get; }

    /// <summary>Every list's scores at a few ranks: a query's safe starting top-k threshold.</summary>
    internal ListRankScores RankScores { get; }

    /// <summary>Where every list crosses every default-sized accumulation window.</summary>
    internal ListWindows Windows { get; }

    /// <summary>Opens, maps and validates an index file (see <see cref="IndexFile.Open"/> for the checks).</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="CorruptIndexException">The file is damaged.</exception>
    /// <exception cref="IndexVersionException">The file's format version is not readable by this library.</exception>
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
    public void Verify() => File.Verify();

    /// <summary>Creates a searcher: owns its scratch (a cache-sized accumulator window), not thread-safe, reusable.</summary>
    public SparCodeSearcher CreateSearcher() => new(this);

    /// <summary>A searcher with a chosen accumulator window (items) and collect mode, for tests and benchmarks.</summary>
    internal SparCodeSearcher CreateSearcher(int window, CollectMode collect = CollectMode.Auto) => new(this, window, collect);

    /// <summary>The posting list of <paramref name="code"/>: internal item ids ascending, and their scores.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="code"/> is not in <c>[0, K_c^M)</c>.</exception>
    public (ReadOnlyMemory<int> Items, ReadOnlyMemory<float> Scores) PostingList(int code)
    {
        if ((uint)code >= (uint)Dimensions.CodeCount)
        {
            throw new ArgumentOutOfRangeException(nameof(code), code, $"Code must be in [0, {Dimensions.CodeCount}).");
        }
        var offsets = PostingOffsets.Span;
        int start = (int)offsets[code], length = (int)(offsets[code + 1] - offsets[code]);
        return (PostingItems.Slice(start, length), PostingScores.Slice(start, length));
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
    /// <exception cref="ArgumentException">Shapes disagree, or any query is invalid (see <see cref="SparCodeSearcher.Search(ReadOnlySpan{long}, int, Span{long}, Span{float}, SearchOptions?)"/>).</exception>
    public void SearchBatch(ReadOnlyMemory<long> histories, ReadOnlyMemory<int> offsets, int k, Memory<long> ids, Memory<float> scores, Memory<int> counts,
        SearchOptions? options = null, int maxDegreeOfParallelism = -1)
    {
        int queries = offsets.Length - 1;
        SparCodeSearcher.CheckK(k, Dimensions.ItemCount);
        if (queries < 0 || ids.Length < (long)queries * k || scores.Length < (long)queries * k || counts.Length < queries)
        {
            throw new ArgumentException($"For {Math.Max(queries, 0)} queries × k = {k} the batch needs offsets of length ≥ 1, {(long)Math.Max(queries, 0) * k} ids and scores and {Math.Max(queries, 0)} counts; got {offsets.Length} offsets, {ids.Length} ids, {scores.Length} scores, {counts.Length} counts.");
        }
        var o = offsets.Span;
        for (int q = 0; q < queries; q++)
        {
            if (o[0] != 0 || o[q + 1] < o[q] || o[q + 1] > histories.Length)
            {
                throw new ArgumentException($"History offsets must rise from 0 to at most {histories.Length}; offsets[{q}] = {o[q]}, offsets[{q + 1}] = {o[q + 1]}.", nameof(offsets));
            }
        }
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
                        int n = searcher.Search(histories.Span[off[q]..off[q + 1]], k, rowIds, rowScores, options);
                        rowIds[n..].Fill(-1);
                        rowScores[n..].Fill(float.NegativeInfinity);
                        counts.Span[q] = n;
                    }
                    return searcher;
                },
                _pool.Add);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // Report a bad query the way a single search would, not wrapped by the thread pool.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
    }

    private SparCodeSearcher Rent() => _pool.TryTake(out var searcher) ? searcher : CreateSearcher();

    /// <summary>True once <see cref="Dispose"/> has run.</summary>
    public bool IsDisposed { get; private set; }

    /// <summary>
    /// Unmaps the file. Searches started afterwards throw <see cref="ObjectDisposedException"/>; a search
    /// running at that moment reads unmapped memory, so stop searching before disposing.
    /// </summary>
    public void Dispose()
    {
        IsDisposed = true;
        File.Dispose();
    }
}
