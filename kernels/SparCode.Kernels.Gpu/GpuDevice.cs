using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace SparCode.Kernels.Gpu;

/// <summary>
/// An ILGPU context and accelerator: the first CUDA device when one is present (and allowed), else
/// ILGPU's CPU accelerator, which runs the same kernels slowly and serves tests and GPU-less hosts
/// that want to check results (real CPU serving uses the SIMD engine).
/// </summary>
public sealed class GpuDevice : IDisposable
{
    private readonly Context _context;

    private GpuDevice(Context context, Accelerator accelerator)
    {
        _context = context;
        Accelerator = accelerator;
    }

    /// <summary>The accelerator kernels run on.</summary>
    public Accelerator Accelerator { get; }

    /// <summary>True when running on a CUDA GPU.</summary>
    public bool IsCuda => Accelerator.AcceleratorType == AcceleratorType.Cuda;

    /// <summary>The device's name.</summary>
    public string Name => Accelerator.Name;

    /// <summary>Threads per group used by the grouped kernels: up to 256, never more than the accelerator allows.</summary>
    public int GroupSize => Math.Min(256, Accelerator.MaxNumThreadsPerGroup);

    /// <summary>Creates the device: CUDA device 0 if present and <paramref name="allowCuda"/>, else the CPU accelerator.</summary>
    public static GpuDevice Create(bool allowCuda = true)
    {
        var context = Context.Create(builder => builder.Default().EnableAlgorithms());
        try
        {
            Accelerator accelerator = allowCuda && context.GetCudaDevices().Count > 0
                ? context.GetCudaDevices()[0].CreateCudaAccelerator(context)
                : context.CreateCPUAccelerator(0);
            return new GpuDevice(context, accelerator);
        }
        catch
        {
            context.Dispose();
            throw;
        }
    }

    /// <summary>Releases the accelerator and the context.</summary>
    public void Dispose()
    {
        Accelerator.Dispose();
        _context.Dispose();
    }
}
