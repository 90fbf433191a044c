namespace SparCode.Engine;

/// <summary>What to do with history item ids the index does not know.</summary>
public enum UnknownItemPolicy
{
    /// <summary>Throw <see cref="UnknownItemException"/> naming the id (default).</summary>
    Error,

    /// <summary>Ignore them; the query still needs at least one known item.</summary>
    Skip,
}

/// <summary>Per-query switches. Create once and reuse: passing an instance does not allocate.</summary>
public sealed class SearchOptions
{
    /// <summary>The defaults: unknown ids are errors, the history is excluded, results are filled to k.</summary>
    public static SearchOptions Default { get; } = new();

    /// <summary>What to do with unknown history ids. Default <see cref="UnknownItemPolicy.Error"/>.</summary>
    public UnknownItemPolicy UnknownItems { get; init; } = UnknownItemPolicy.Error;

    /// <summary>Drop the user's own history items from the results. Default true.</summary>
    public bool ExcludeHistory { get; init; } = true;

    /// <summary>
    /// When fewer than k items have a positive score, fill the rest with score 0 from the index's
    /// fallback order (most popular first when the exporter stored one; ascending item id otherwise).
    /// Default true. When false, a search may return fewer than k results.
    /// </summary>
    public bool FillToK { get; init; } = true;
}

/// <summary>A history id is not in the index and <see cref="UnknownItemPolicy.Error"/> is in force.</summary>
public sealed class UnknownItemException : ArgumentException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="itemId">The unknown external id.</param>
    /// <param name="position">Its position in the history.</param>
    public UnknownItemException(long itemId, int position)
        : this(itemId, position, -1)
    {
    }

    /// <summary>Creates the exception for query <paramref name="query"/> of a batch (-1: a single search).</summary>
    /// <param name="itemId">The unknown external id.</param>
    /// <param name="position">Its position in the history.</param>
    /// <param name="query">The query's number in the batch, or -1.</param>
    public UnknownItemException(long itemId, int position, int query)
        : base($"{(query >= 0 ? $"Query {query}: h" : "H")}istory item id {itemId} (position {position}) is not in the index. Pass SearchOptions {{ UnknownItems = UnknownItemPolicy.Skip }} to ignore unknown ids.", "history")
    {
        ItemId = itemId;
        Position = position;
        Query = query;
    }

    /// <summary>The failing query's number in a batch (<see cref="SparCodeIndex.SearchBatch"/>); -1 for a single search.</summary>
    public int Query { get; }

    /// <summary>The unknown external id.</summary>
    public long ItemId { get; }

    /// <summary>Its position in the history.</summary>
    public int Position { get; }
}
