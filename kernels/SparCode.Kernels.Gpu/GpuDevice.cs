using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;

namespace SparCode.Kernels.Gpu;

/// <summary>Which accelerator <see cref="GpuDevice.Create(DeviceMode)"/> opens.</summary>
public enum DeviceMode
{
    /// <summary>CUDA device 0 when one is present, else ILGPU's CPU accelerator (correctness only: it is slow).</summary>
    PreferCuda,

    /// <summary>CUDA device 0, or an <see cref="InvalidOperationException"/> saying why there is none: for runs whose numbers must come from a GPU.</summary>
    RequireCuda,

    /// <summary>ILGPU's CPU accelerator, even where a GPU is present: tests and results that must not depend on the machine.</summary>
    CpuAccelerator,
}

/// <summary>
/// An ILGPU context and accelerator: a CUDA device, or ILGPU's CPU accelerator, which runs the same kernels slowly
/// and serves tests and GPU-less hosts that want to check results (real CPU serving uses the SIMD engine).
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

    /// <summary>True when running on a CUDA GPU; the kernels are then compiled to PTX with the CUDA fused multiply-add.</summary>
    public bool IsCuda => Accelerator.AcceleratorType == AcceleratorType.Cuda;

    /// <summary>The device's name.</summary>
    public string Name => Accelerator.Name;

    /// <summary>Threads per group used by the grouped kernels: up to 256, never more than the accelerator allows.</summary>
    public int GroupSize => Math.Min(256, Accelerator.MaxNumThreadsPerGroup);

    /// <summary>Creates the device <paramref name="mode"/> asks for.</summary>
    /// <exception cref="InvalidOperationException"><see cref="DeviceMode.RequireCuda"/> and no CUDA device is visible.</exception>
    public static GpuDevice Create(DeviceMode mode = DeviceMode.PreferCuda) => Open(context =>
    {
        if (mode != DeviceMode.CpuAccelerator && context.GetCudaDevices() is { Count: > 0 } cuda)
        {
            return cuda[0].CreateCudaAccelerator(context);
        }
        if (mode == DeviceMode.RequireCuda)
        {
            throw new InvalidOperationException(
                "No CUDA device found: ILGPU sees none (no NVIDIA driver's libcuda.so.1 loaded, no device visible through CUDA_VISIBLE_DEVICES, " +
                "or a driver ILGPU cannot use). This run requires CUDA and does not fall back to ILGPU's CPU accelerator.");
        }
        return context.CreateCPUAccelerator(0);
    });

    /// <summary>
    /// ILGPU's CPU accelerator shaped like a GPU: <paramref name="threadsPerWarp"/> × <paramref name="warpsPerMultiprocessor"/>
    /// threads per group (32 × 8 gives CUDA's group of 256 and the GEMM's 16 × 16 tile), so tests run the group
    /// and tile sizes of the real device. The default CPU accelerator has 4-lane warps.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is not positive.</exception>
    public static GpuDevice CreateCpu(int threadsPerWarp, int warpsPerMultiprocessor, int multiprocessors)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(threadsPerWarp);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(warpsPerMultiprocessor);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(multiprocessors);
        return Open(context => new CPUDevice(threadsPerWarp, warpsPerMultiprocessor, multiprocessors).CreateCPUAccelerator(context));
    }

    private static GpuDevice Open(Func<Context, Accelerator> accelerator)
    {
        var context = Context.Create(builder => builder.Default().EnableAlgorithms());
        try
        {
            return new GpuDevice(context, accelerator(context));
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
