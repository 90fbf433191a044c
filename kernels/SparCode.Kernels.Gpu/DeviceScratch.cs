using ILGPU;
using ILGPU.Runtime;

namespace SparCode.Kernels.Gpu;

/// <summary>
/// A device buffer reused across calls: it grows (at least doubling) when a call needs more, so a
/// steady workload allocates nothing on the device after its first batches.
/// </summary>
internal sealed class DeviceScratch<T>(Accelerator accelerator) : IDisposable where T : unmanaged
{
    private MemoryBuffer1D<T, Stride1D.Dense>? _buffer;

    /// <summary>A view of at least <paramref name="length"/> elements (at least one).</summary>
    public ArrayView1D<T, Stride1D.Dense> View(long length)
    {
        if (_buffer is null || _buffer.Length < length)
        {
            long size = Math.Max(Math.Max(1, length), 2 * (_buffer?.Length ?? 0));
            if (_buffer is not null)
            {
                // Kernels queued earlier may still read the old buffer, and freeing device memory does not wait
                // for them: drain the stream first. Growth is rare (at least doubling), so the wait is too.
                accelerator.Synchronize();
                _buffer.Dispose();
            }
            _buffer = accelerator.Allocate1D<T>(size);
        }
        return _buffer.View;
    }

    /// <summary>Copies <paramref name="data"/> to the start of the buffer and returns the whole view.</summary>
    public ArrayView1D<T, Stride1D.Dense> Upload(ReadOnlySpan<T> data)
    {
        var view = View(data.Length);
        if (!data.IsEmpty)
        {
            view.AsContiguous().SubView(0, data.Length).CopyFromCPU(data);
        }
        return view;
    }

    /// <summary>Frees the device memory.</summary>
    public void Dispose() => _buffer?.Dispose();
}
