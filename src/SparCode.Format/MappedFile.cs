using System.Buffers;
using System.IO.MemoryMappedFiles;

namespace SparCode.Format;

/// <summary>
/// A read-only, memory-mapped view of a whole file that hands out zero-copy spans.
/// </summary>
/// <remarks>
/// Spans returned by this type are valid until <see cref="Dispose"/> is called; callers own that
/// lifetime (the index keeps the mapping alive for as long as it is open). Thread-safe for reads.
/// </remarks>
internal sealed unsafe class MappedFile : IDisposable
{
    private readonly MemoryMappedFile? _map;
    private readonly MemoryMappedViewAccessor? _view;
    private byte* _pointer;

    private MappedFile(MemoryMappedFile? map, MemoryMappedViewAccessor? view, byte* pointer, long length)
    {
        _map = map;
        _view = view;
        _pointer = pointer;
        Length = length;
    }

    /// <summary>The file's length in bytes.</summary>
    public long Length { get; }

    /// <summary>Maps <paramref name="path"/> read-only.</summary>
    /// <remarks>
    /// The length is taken from the opened handle, not from the path: for a symbolic link (a
    /// <c>current -&gt; v42</c> deployment, a Kubernetes volume) the path's own entry is the link, whose size
    /// is the length of its target's name. The mapping keeps the opened file alive if the path is later
    /// renamed over or deleted.
    /// </remarks>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    public static MappedFile Open(string path)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        long length = RandomAccess.GetLength(handle);
        if (length == 0)
        {
            // A zero-length file cannot be mapped; an empty view lets the caller report it as truncated.
            return new MappedFile(null, null, null, 0);
        }

        var map = MemoryMappedFile.CreateFromFile(handle, mapName: null, 0, MemoryMappedFileAccess.Read, HandleInheritability.None, leaveOpen: true);
        MemoryMappedViewAccessor? view = null;
        try
        {
            view = map.CreateViewAccessor(0, length, MemoryMappedFileAccess.Read);
            byte* pointer = null;
            view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
            pointer += view.PointerOffset;
            return new MappedFile(map, view, pointer, length);
        }
        catch
        {
            view?.Dispose();
            map.Dispose();
            throw;
        }
    }

    /// <summary>Returns <paramref name="count"/> elements of <typeparamref name="T"/> starting at byte <paramref name="offset"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the file.</exception>
    public ReadOnlySpan<T> Span<T>(long offset, int count) where T : unmanaged
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (offset > Length || (long)count * sizeof(T) > Length - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"Range [{offset}, {offset + (long)count * sizeof(T)}) is outside the {Length}-byte file.");
        }
        ObjectDisposedException.ThrowIf(_pointer == null && Length != 0, this);
        return count == 0 ? default : new ReadOnlySpan<T>(_pointer + offset, count);
    }

    /// <summary>
    /// Like <see cref="Span{T}"/>, but as a <see cref="ReadOnlyMemory{T}"/> that can be stored in fields;
    /// <c>.Span</c> on it is as cheap as an array's.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is not inside the file.</exception>
    public ReadOnlyMemory<T> Memory<T>(long offset, int count) where T : unmanaged
    {
        var span = Span<T>(offset, count);
        return count == 0 ? ReadOnlyMemory<T>.Empty : new MappedMemory<T>(_pointer + offset, span.Length).Memory;
    }

    /// <summary>Unmaps the file. Spans handed out earlier must not be used afterwards.</summary>
    public void Dispose()
    {
        if (_view is not null && _pointer != null)
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _pointer = null;
        }
        _view?.Dispose();
        _map?.Dispose();
    }
}

/// <summary>Wraps a pointer range of a mapping as <see cref="Memory{T}"/>; the mapping owns the bytes.</summary>
internal sealed unsafe class MappedMemory<T>(byte* pointer, int length) : MemoryManager<T> where T : unmanaged
{
    public override Span<T> GetSpan() => new(pointer, length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + ((long)elementIndex * sizeof(T)));

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
