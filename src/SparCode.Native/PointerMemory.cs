using System.Buffers;
using SparCode.Engine;

namespace SparCode.Native;

/// <summary>
/// A <see cref="Memory{T}"/> over a caller's native array, so that <see cref="SparCodeService.SearchBatch"/>
/// reads and writes the host's buffers without a copy. Valid only for the call it is made for.
/// </summary>
internal sealed unsafe class PointerMemory<T>(T* pointer, int length) : MemoryManager<T>
    where T : unmanaged
{
    public override Span<T> GetSpan() => new(pointer, length);

    public override MemoryHandle Pin(int elementIndex = 0) => new(pointer + elementIndex);

    public override void Unpin()
    {
    }

    protected override void Dispose(bool disposing)
    {
    }
}
