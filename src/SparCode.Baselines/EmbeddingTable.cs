using System.Buffers.Binary;

namespace SparCode.Baselines;

/// <summary>
/// A row-major float32 matrix of <see cref="Count"/> vectors of <see cref="Dimension"/> floats, with
/// one external id per row. Used for two-tower item embeddings and for user (query) embeddings.
/// </summary>
public sealed class EmbeddingTable
{
    /// <summary>Wraps existing arrays (not copied).</summary>
    /// <param name="dimension">Floats per row, ≥ 1.</param>
    /// <param name="vectors">count × dimension floats, row-major.</param>
    /// <param name="ids">One external id per row; null gives ids 0..count−1.</param>
    /// <exception cref="ArgumentException">The shapes disagree.</exception>
    public EmbeddingTable(int dimension, float[] vectors, long[]? ids = null)
    {
        ArgumentNullException.ThrowIfNull(vectors);
        if (dimension < 1 || vectors.LongLength % dimension != 0)
        {
            throw new ArgumentException($"{vectors.LongLength} floats do not form rows of dimension {dimension}.", nameof(vectors));
        }
        long count = vectors.LongLength / dimension;
        if (count > int.MaxValue)
        {
            throw new ArgumentException($"{count} rows; at most {int.MaxValue} are supported.", nameof(vectors));
        }
        if (ids is not null && ids.LongLength != count)
        {
            throw new ArgumentException($"{ids.LongLength} ids for {count} rows.", nameof(ids));
        }
        Dimension = dimension;
        Vectors = vectors;
        Count = (int)count;
        Ids = ids ?? [.. Enumerable.Range(0, Count).Select(i => (long)i)];
    }

    /// <summary>Floats per row.</summary>
    public int Dimension { get; }

    /// <summary>Rows.</summary>
    public int Count { get; }

    /// <summary>All rows, row-major.</summary>
    public float[] Vectors { get; }

    /// <summary>External id of each row.</summary>
    public long[] Ids { get; }

    /// <summary>Bytes held by the vectors and ids.</summary>
    public long Bytes => Vectors.LongLength * sizeof(float) + Ids.LongLength * sizeof(long);

    /// <summary>Row <paramref name="row"/>.</summary>
    public ReadOnlySpan<float> Row(int row) => Vectors.AsSpan(row * Dimension, Dimension);
}

/// <summary>
/// A two-tower model as the benchmark needs it: the item tower's output for every item and the user
/// tower's output for each benchmark query, in one file.
/// </summary>
/// <remarks>
/// File layout (little-endian), written to a temporary file and renamed:
/// <code>
/// "SCTWOTWR" magic (8 bytes) | u32 version = 1 | u32 d | i64 n_items | i64 n_users
/// | i64 item_ids[n_items] | f32 items[n_items × d] | f32 users[n_users × d]
/// </code>
/// A trained model's exporter writes the same layout; the user rows are the test users' embeddings, in
/// the same order as the histories file given to <c>sparcode bench</c>.
/// </remarks>
/// <param name="Items">Item embeddings with external item ids.</param>
/// <param name="Users">User embeddings, one per benchmark query.</param>
public sealed record TwoTowerModel(EmbeddingTable Items, EmbeddingTable Users)
{
    private static ReadOnlySpan<byte> Magic => "SCTWOTWR"u8;

    /// <summary>The file format version this library writes and reads.</summary>
    public const int FormatVersion = 1;

    /// <summary>Writes the model atomically (temporary file, then rename).</summary>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public void Write(string path)
    {
        if (Items.Dimension != Users.Dimension)
        {
            throw new ArgumentException($"Item dimension {Items.Dimension} differs from user dimension {Users.Dimension}.");
        }
        string temp = path + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20))
        {
            Span<byte> header = stackalloc byte[32];
            Magic.CopyTo(header);
            BinaryPrimitives.WriteUInt32LittleEndian(header[8..], FormatVersion);
            BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)Items.Dimension);
            BinaryPrimitives.WriteInt64LittleEndian(header[16..], Items.Count);
            BinaryPrimitives.WriteInt64LittleEndian(header[24..], Users.Count);
            stream.Write(header);
            stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(Items.Ids.AsSpan()));
            WriteFloats(stream, Items.Vectors);
            WriteFloats(stream, Users.Vectors);
            stream.Flush(flushToDisk: true);
        }
        File.Move(temp, path, overwrite: true);
    }

    /// <summary>Reads a model written by <see cref="Write"/>.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
    /// <exception cref="InvalidDataException">Wrong magic, version or length.</exception>
    public static TwoTowerModel Read(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        Span<byte> header = stackalloc byte[32];
        if (stream.Length < 32 || stream.ReadAtLeast(header, 32, throwOnEndOfStream: false) < 32 || !header[..8].SequenceEqual(Magic))
        {
            throw new InvalidDataException($"{path} is not a two-tower embeddings file (bad magic or shorter than its 32-byte header).");
        }
        uint version = BinaryPrimitives.ReadUInt32LittleEndian(header[8..]);
        if (version != FormatVersion)
        {
            throw new InvalidDataException($"{path} has two-tower format version {version}; this library reads version {FormatVersion}.");
        }
        int d = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[12..]);
        long n = BinaryPrimitives.ReadInt64LittleEndian(header[16..]);
        long users = BinaryPrimitives.ReadInt64LittleEndian(header[24..]);
        long expected = 32 + n * sizeof(long) + (n + users) * d * sizeof(float);
        if (d < 1 || n < 1 || users < 0 || n > int.MaxValue || users > int.MaxValue || stream.Length != expected)
        {
            throw new InvalidDataException($"{path}: header says d = {d}, {n} items, {users} users, so {expected} bytes; the file has {stream.Length}.");
        }
        var ids = new long[n];
        stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(ids.AsSpan()));
        var items = new float[n * d];
        ReadFloats(stream, items);
        var userVectors = new float[users * d];
        ReadFloats(stream, userVectors);
        return new TwoTowerModel(new EmbeddingTable(d, items, ids), new EmbeddingTable(d, userVectors));
    }

    private static void WriteFloats(Stream stream, float[] values)
    {
        const int chunk = 1 << 26;
        for (long start = 0; start < values.LongLength; start += chunk)
        {
            int length = (int)Math.Min(chunk, values.LongLength - start);
            stream.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan((int)start, length)));
        }
    }

    private static void ReadFloats(Stream stream, float[] values)
    {
        const int chunk = 1 << 26;
        for (long start = 0; start < values.LongLength; start += chunk)
        {
            int length = (int)Math.Min(chunk, values.LongLength - start);
            stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan((int)start, length)));
        }
    }
}
