namespace SparCode.Format;

/// <summary>Maps external item ids to internal ones (0-based rows of the catalogue).</summary>
/// <remarks>
/// When the external ids are a contiguous ascending run (the common case for remapped datasets and
/// synthetic indexes) the lookup is arithmetic and costs no memory; otherwise a hash table is built
/// once at open. Immutable and thread-safe.
/// </remarks>
public sealed class ItemIdMap
{
    private readonly long _first;
    private readonly int _count;
    private readonly Dictionary<long, int>? _table;

    private ItemIdMap(long first, int count, Dictionary<long, int>? table)
    {
        _first = first;
        _count = count;
        _table = table;
    }

    /// <summary>Builds the map, or reports the first repeated external id.</summary>
    internal static ItemIdMap Build(ReadOnlySpan<long> externalIds, string path)
    {
        bool contiguous = externalIds.Length > 0 && externalIds[0] <= long.MaxValue - externalIds.Length;
        for (int i = 1; contiguous && i < externalIds.Length; i++)
        {
            contiguous = externalIds[i] == externalIds[0] + i;
        }
        if (contiguous)
        {
            return new ItemIdMap(externalIds[0], externalIds.Length, null);
        }
        var table = new Dictionary<long, int>(externalIds.Length);
        for (int i = 0; i < externalIds.Length; i++)
        {
            if (!table.TryAdd(externalIds[i], i))
            {
                throw new CorruptIndexException(CorruptionKind.ItemIdOutOfRange, path,
                    $"external item id {externalIds[i]} appears at internal ids {table[externalIds[i]]} and {i}; expected distinct ids.");
            }
        }
        return new ItemIdMap(0, externalIds.Length, table);
    }

    /// <summary>True if the map is the identity shifted by a constant (no table).</summary>
    public bool IsContiguous => _table is null;

    /// <summary>Finds the internal id of <paramref name="externalId"/>.</summary>
    public bool TryGetInternal(long externalId, out int internalId)
    {
        if (_table is not null)
        {
            return _table.TryGetValue(externalId, out internalId);
        }
        ulong offset = (ulong)(externalId - _first);
        internalId = (int)offset;
        return offset < (ulong)_count;
    }
}
