using SparCode.Kernels.Cpu;

namespace SparCode.Baselines;

/// <summary>
/// Exact maximum inner product search over a two-tower item matrix: every item is scored. Owns its
/// scratch; not thread-safe (one per thread); does not allocate after construction.
/// </summary>
/// <remarks>
/// <see cref="Search(ReadOnlySpan{float}, int, Span{long}, Span{float})"/> streams the whole matrix once per query. <see cref="SearchBlock(ReadOnlySpan{float}, int, int, Span{long}, Span{float})"/> scores up
/// to <see cref="MaxBlock"/> queries per pass: the matrix is read in tiles of <see cref="TileRows"/>
/// rows that stay in L2 while every query of the block is scored against them, so DRAM traffic is
/// paid once per block rather than once per query. Results: score descending, ties by smaller row.
/// </remarks>
public sealed class ExactMipsSearcher
{
    /// <summary>Rows per tile: 512 rows × 64 floats = 128 KiB, well inside a 2 MiB L2.</summary>
    internal const int TileRows = 512;

    private readonly EmbeddingTable _items;
    private readonly SimdPath _path;
    private readonly TopKSelector[] _selectors;
    private readonly float[] _tileScores = new float[TileRows];
    private readonly int[] _rows;
    private readonly int[] _cursors;

    /// <summary>Creates a searcher for <paramref name="items"/>.</summary>
    /// <param name="items">The item matrix.</param>
    /// <param name="maxBlock">Largest query block for <see cref="SearchBlock(ReadOnlySpan{float}, int, int, Span{long}, Span{float})"/>, ≥ 1.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxBlock"/> is below 1.</exception>
    public ExactMipsSearcher(EmbeddingTable items, int maxBlock = 8)
        : this(items, maxBlock, Simd.Best)
    {
    }

    internal ExactMipsSearcher(EmbeddingTable items, int maxBlock, SimdPath path)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBlock, 1);
        _items = items;
        _path = path;
        _selectors = [.. Enumerable.Range(0, maxBlock).Select(_ => new TopKSelector(64))];
        _cursors = new int[maxBlock];
        _rows = new int[Math.Min(items.Count, 1024)];
    }

    /// <summary>Largest number of queries <see cref="SearchBlock(ReadOnlySpan{float}, int, int, Span{long}, Span{float})"/> takes.</summary>
    public int MaxBlock => _selectors.Length;

    /// <summary>The top-k items for one query vector.</summary>
    /// <param name="query">d floats.</param>
    /// <param name="k">Results wanted, 1..n_items.</param>
    /// <param name="ids">Receives k external ids, best first.</param>
    /// <param name="scores">Receives their inner products.</param>
    /// <returns>k.</returns>
    /// <exception cref="ArgumentException">Wrong query length or short destinations.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is not in 1..n_items.</exception>
    public int Search(ReadOnlySpan<float> query, int k, Span<long> ids, Span<float> scores) => SearchBlock(query, 1, k, ids, scores);

    /// <summary>The top-k items for each of <paramref name="count"/> query vectors, in one pass over the matrix.</summary>
    /// <param name="queries">count × d floats, row-major.</param>
    /// <param name="count">Queries, 1..<see cref="MaxBlock"/>.</param>
    /// <param name="k">Results per query, 1..n_items.</param>
    /// <param name="ids">Receives count × k external ids; row q holds query q's results, best first.</param>
    /// <param name="scores">Receives count × k inner products.</param>
    /// <returns>k (every row is full).</returns>
    /// <exception cref="ArgumentException">Wrong query length or short destinations.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> or <paramref name="count"/> is out of range.</exception>
    public int SearchBlock(ReadOnlySpan<float> queries, int count, int k, Span<long> ids, Span<float> scores) =>
        SearchBlock(queries, count, k, ids, scores, [], []);

    /// <summary>
    /// The top-k items for one query vector, skipping the rows in <paramref name="excludedRows"/> (for
    /// example the user's history, as a recommender's evaluation does).
    /// </summary>
    /// <param name="query">d floats.</param>
    /// <param name="k">Results wanted, 1..n_items.</param>
    /// <param name="ids">Receives k external ids, best first; slots past the last candidate get −1.</param>
    /// <param name="scores">Receives their inner products (−∞ in unfilled slots).</param>
    /// <param name="excludedRows">Rows (not external ids) never returned, strictly ascending.</param>
    /// <returns>How many results were found: k, or fewer when fewer than k rows are left.</returns>
    /// <exception cref="ArgumentException">Wrong query length, short destinations, or excluded rows not strictly ascending in 0..n_items−1.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is not in 1..n_items.</exception>
    public int Search(ReadOnlySpan<float> query, int k, Span<long> ids, Span<float> scores, ReadOnlySpan<int> excludedRows)
    {
        Span<int> offsets = [0, excludedRows.Length];
        return SearchBlock(query, 1, k, ids, scores, excludedRows, offsets);
    }

    /// <summary>
    /// The top-k items for each of <paramref name="count"/> query vectors in one pass over the matrix,
    /// skipping each query's excluded rows.
    /// </summary>
    /// <param name="queries">count × d floats, row-major.</param>
    /// <param name="count">Queries, 1..<see cref="MaxBlock"/>.</param>
    /// <param name="k">Results per query, 1..n_items.</param>
    /// <param name="ids">Receives count × k external ids; row q holds query q's results, best first, −1 in unfilled slots.</param>
    /// <param name="scores">Receives count × k inner products (−∞ in unfilled slots).</param>
    /// <param name="excludedRows">Every query's excluded rows, concatenated; each query's part strictly ascending.</param>
    /// <param name="excludedOffsets">count + 1 offsets into <paramref name="excludedRows"/> (query q's rows are
    /// <c>[offsets[q], offsets[q + 1])</c>), or empty when nothing is excluded.</param>
    /// <returns>The fewest results found for any query: k unless a query has fewer than k rows left.</returns>
    /// <exception cref="ArgumentException">Wrong query length, short destinations, or malformed exclusions.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> or <paramref name="count"/> is out of range.</exception>
    public int SearchBlock(ReadOnlySpan<float> queries, int count, int k, Span<long> ids, Span<float> scores, ReadOnlySpan<int> excludedRows, ReadOnlySpan<int> excludedOffsets)
    {
        int d = _items.Dimension;
        if (count < 1 || count > MaxBlock)
        {
            throw new ArgumentOutOfRangeException(nameof(count), count, $"Block size must be in 1..{MaxBlock}.");
        }
        if (k < 1 || k > _items.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(k), k, $"k must be in 1..{_items.Count} (the catalogue size).");
        }
        if (queries.Length != count * d || ids.Length < count * k || scores.Length < count * k)
        {
            throw new ArgumentException($"{count} queries of d = {d} need {count * d} query floats and {count * k} ids and scores; got {queries.Length}, {ids.Length}, {scores.Length}.");
        }
        bool exclude = !excludedOffsets.IsEmpty;
        if (exclude)
        {
            CheckExclusions(excludedRows, excludedOffsets, count, _items.Count);
        }
        for (int q = 0; q < count; q++)
        {
            _selectors[q].Reset(k);
            _cursors[q] = exclude ? excludedOffsets[q] : 0;
        }
        var matrix = _items.Vectors.AsSpan();
        int n = _items.Count;
        for (int start = 0; start < n; start += TileRows)
        {
            int rows = Math.Min(TileRows, n - start);
            var tile = matrix.Slice(start * d, rows * d);
            var tileScores = _tileScores.AsSpan(0, rows);
            for (int q = 0; q < count; q++)
            {
                MipsKernels.DotRowsCore(tile, queries.Slice(q * d, d), tileScores, _path);
                var selector = _selectors[q];
                if (!exclude)
                {
                    for (int r = 0; r < rows; r++)
                    {
                        selector.Offer(tileScores[r], start + r);
                    }
                    continue;
                }
                // The query's excluded rows are ascending: one cursor walks them along the tiles.
                int cursor = _cursors[q], end = excludedOffsets[q + 1];
                for (int r = 0; r < rows; r++)
                {
                    if (cursor < end && excludedRows[cursor] == start + r)
                    {
                        cursor++;
                        continue;
                    }
                    selector.Offer(tileScores[r], start + r);
                }
                _cursors[q] = cursor;
            }
        }
        var external = _items.Ids;
        var rowIds = _rows.AsSpan(0, k <= _rows.Length ? k : 0);
        int[]? large = rowIds.IsEmpty ? new int[k] : null;
        int fewest = k;
        for (int q = 0; q < count; q++)
        {
            var destination = large ?? rowIds;
            int found = _selectors[q].DrainSorted(destination, scores.Slice(q * k, k));
            for (int i = 0; i < found; i++)
            {
                ids[q * k + i] = external[destination[i]];
            }
            ids.Slice(q * k + found, k - found).Fill(-1);
            scores.Slice(q * k + found, k - found).Fill(float.NegativeInfinity);
            fewest = Math.Min(fewest, found);
        }
        return fewest;
    }

    private static void CheckExclusions(ReadOnlySpan<int> rows, ReadOnlySpan<int> offsets, int count, int n)
    {
        if (offsets.Length != count + 1 || offsets[0] != 0 || offsets[count] != rows.Length)
        {
            throw new ArgumentException($"Exclusions need {count + 1} offsets from 0 to {rows.Length} (the excluded rows); got {offsets.Length} offsets.", nameof(offsets));
        }
        for (int q = 0; q < count; q++)
        {
            if (offsets[q + 1] < offsets[q])
            {
                throw new ArgumentException($"Exclusion offsets must not decrease (query {q}: {offsets[q]} then {offsets[q + 1]}).", nameof(offsets));
            }
            int previous = -1;
            foreach (int row in rows[offsets[q]..offsets[q + 1]])
            {
                if (row <= previous || row >= n)
                {
                    throw new ArgumentException($"Query {q}'s excluded rows must be strictly ascending in 0..{n - 1}; found {row} after {previous}.", nameof(rows));
                }
                previous = row;
            }
        }
    }
}
