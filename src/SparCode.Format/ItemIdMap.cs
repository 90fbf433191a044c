using System.Buffers.Binary;
using System.Security.Cryptography;

namespace SparCode.Format;

/// <summary>Maps external item ids to internal ones (0-based rows of the catalogue).</summary>
/// <remarks>
/// <para>
/// When the external ids are a contiguous ascending run (the common case for remapped datasets and
/// synthetic indexes) the lookup is arithmetic and costs no memory. Otherwise the map is an
/// open-addressing table (linear probing, at most half full, 16 bytes per slot) keyed by a seeded hash:
/// the murmur3 finalizer of <c>id xor seed</c>, with a random seed per map, so the file cannot choose
/// which ids collide. Every probe sequence is bounded: if building the table ever needs more than
/// <see cref="MaxProbes"/> probes for one id (bad luck or an attack on the hash), the map falls back to
/// the ids sorted with a binary search, O(n log n) to build and O(log n) per lookup whatever the ids are
/// (also used past 32M items, where it is the smaller of the two).
/// </para>
/// <para>
/// Not <see cref="Dictionary{TKey, TValue}"/>: <c>long.GetHashCode</c> folds the two halves with xor, so ids
/// <c>(i &lt;&lt; 32) | i</c> all hash to 0 and a hostile file makes every lookup linear (perf/results/2026-12-02-code-notes).
/// Immutable and thread-safe.
/// </para>
/// </remarks>
public sealed class ItemIdMap
{
    /// <summary>Most slots one id may probe before the map gives up on hashing and sorts instead.</summary>
    internal const int MaxProbes = 64;

    /// <summary>Largest hashed table (1 GiB of slots); larger catalogues use the sorted array.</summary>
    private const ulong MaxTableSlots = 1UL << 26;

    private readonly long _first;
    private readonly int _count;
    private readonly Slot[]? _table;
    private readonly ulong _seed;
    private readonly int _shift;
    private readonly int _longestProbe;
    private readonly long[]? _sortedIds;
    private readonly int[]? _sortedInternal;

    /// <summary>One table slot: an external id and its internal id (-1: empty).</summary>
    private readonly record struct Slot(long Key, int Value);

    private ItemIdMap(long first, int count)
    {
        _first = first;
        _count = count;
    }

    private ItemIdMap(int count, Slot[] table, ulong seed, int shift, int longestProbe)
        : this(0, count)
    {
        _table = table;
        _seed = seed;
        _shift = shift;
        _longestProbe = longestProbe;
    }

    private ItemIdMap(int count, long[] sortedIds, int[] sortedInternal)
        : this(0, count)
    {
        _sortedIds = sortedIds;
        _sortedInternal = sortedInternal;
    }

    /// <summary>Builds the map, or reports the first repeated external id.</summary>
    internal static ItemIdMap Build(ReadOnlySpan<long> externalIds, string path) => Build(externalIds, path, NewSeed());

    /// <summary>Builds the map with a chosen hash seed (tests).</summary>
    internal static ItemIdMap Build(ReadOnlySpan<long> externalIds, string path, ulong seed)
    {
        bool contiguous = externalIds.Length > 0 && externalIds[0] <= long.MaxValue - externalIds.Length;
        for (int i = 1; contiguous && i < externalIds.Length; i++)
        {
            contiguous = externalIds[i] == externalIds[0] + i;
        }
        if (contiguous)
        {
            return new ItemIdMap(externalIds[0], externalIds.Length);
        }
        return TryBuildTable(externalIds, path, seed) ?? BuildSorted(externalIds, path);
    }

    /// <summary>The hashed table, or null if some id needed more than <see cref="MaxProbes"/> probes.</summary>
    private static ItemIdMap? TryBuildTable(ReadOnlySpan<long> externalIds, string path, ulong seed)
    {
        ulong capacity = System.Numerics.BitOperations.RoundUpToPowerOf2(Math.Max(16UL, (ulong)externalIds.Length * 2));
        if (capacity > MaxTableSlots)
        {
            // Past 32M items the sorted array (12 bytes per item) is smaller than a half-full table (32+).
            return null;
        }
        int bits = System.Numerics.BitOperations.Log2(capacity);
        var table = new Slot[capacity];
        table.AsSpan().Fill(new Slot(0, -1));
        int shift = 64 - bits;
        int mask = table.Length - 1;
        int longest = 0;
        for (int i = 0; i < externalIds.Length; i++)
        {
            long key = externalIds[i];
            int slot = (int)(Hash(key, seed) >> shift);
            for (int probe = 0; ; probe++)
            {
                if (probe >= MaxProbes)
                {
                    return null;
                }
                ref var entry = ref table[slot];
                if (entry.Value < 0)
                {
                    entry = new Slot(key, i);
                    longest = Math.Max(longest, probe);
                    break;
                }
                if (entry.Key == key)
                {
                    throw Repeated(path, key, entry.Value, i);
                }
                slot = (slot + 1) & mask;
            }
        }
        return new ItemIdMap(externalIds.Length, table, seed, shift, longest);
    }

    /// <summary>The sorted fallback (see the remarks).</summary>
    internal static ItemIdMap BuildSorted(ReadOnlySpan<long> externalIds, string path)
    {
        var sorted = externalIds.ToArray();
        var internalIds = new int[sorted.Length];
        for (int i = 0; i < internalIds.Length; i++)
        {
            internalIds[i] = i;
        }
        // Introsort: O(n log n) in the worst case, so no input order can make the open slow.
        Array.Sort(sorted, internalIds);
        for (int i = 1; i < sorted.Length; i++)
        {
            if (sorted[i] == sorted[i - 1])
            {
                throw Repeated(path, sorted[i], Math.Min(internalIds[i - 1], internalIds[i]), Math.Max(internalIds[i - 1], internalIds[i]));
            }
        }
        return new ItemIdMap(sorted.Length, sorted, internalIds);
    }

    private static CorruptIndexException Repeated(string path, long id, int first, int second) =>
        new(CorruptionKind.ItemIdOutOfRange, path, $"external item id {id} appears at internal ids {first} and {second}; expected distinct ids.");

    private static ulong NewSeed()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    /// <summary>The murmur3 64-bit finalizer of <c>key xor seed</c>: every input bit affects every output bit.</summary>
    private static ulong Hash(long key, ulong seed)
    {
        ulong h = (ulong)key ^ seed;
        h ^= h >> 33;
        h *= 0xFF51AFD7ED558CCDUL;
        h ^= h >> 33;
        h *= 0xC4CEB9FE1A85EC53UL;
        h ^= h >> 33;
        return h;
    }

    /// <summary>True if the map is the identity shifted by a constant (no table).</summary>
    public bool IsContiguous => _table is null && _sortedIds is null;

    /// <summary>True if hashing gave up and the map is a sorted array with binary search (see the remarks).</summary>
    internal bool IsSorted => _sortedIds is not null;

    /// <summary>Heap bytes the map holds: 0 when contiguous, 16 per table slot (2 to 4 per item) when hashed, 12 per item when sorted.</summary>
    public long MemoryBytes => _table is not null ? _table.LongLength * 16 : _sortedIds is not null ? _sortedIds.LongLength * (sizeof(long) + sizeof(int)) : 0;

    /// <summary>Finds the internal id of <paramref name="externalId"/>.</summary>
    /// <param name="externalId">The external item id.</param>
    /// <param name="internalId">Receives the internal id (0-based) when found.</param>
    /// <returns>True if the index holds the item.</returns>
    public bool TryGetInternal(long externalId, out int internalId)
    {
        if (_table is { } table)
        {
            int mask = table.Length - 1;
            int slot = (int)(Hash(externalId, _seed) >> _shift);
            // No id is further than the longest probe of the build from its home slot.
            for (int probe = 0; probe <= _longestProbe; probe++)
            {
                var entry = table[slot];
                if (entry.Value < 0)
                {
                    break;
                }
                if (entry.Key == externalId)
                {
                    internalId = entry.Value;
                    return true;
                }
                slot = (slot + 1) & mask;
            }
            internalId = 0;
            return false;
        }
        if (_sortedIds is { } sorted)
        {
            // Branchless lower bound: the compare becomes a conditional move.
            int low = 0;
            int length = sorted.Length;
            while (length > 1)
            {
                int half = length >> 1;
                low = sorted[low + half] < externalId ? low + half : low;
                length -= half;
            }
            low += sorted[low] < externalId ? 1 : 0;
            bool found = low < sorted.Length && sorted[low] == externalId;
            internalId = found ? _sortedInternal![low] : 0;
            return found;
        }
        ulong offset = (ulong)(externalId - _first);
        internalId = (int)offset;
        return offset < (ulong)_count;
    }
}
