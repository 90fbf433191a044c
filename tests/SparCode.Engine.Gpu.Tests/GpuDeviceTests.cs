using ILGPU;
using ILGPU.Runtime.Cuda;

namespace SparCode.Engine.Gpu.Tests;

public sealed class GpuDeviceTests
{
    [Fact]
    public void Required_cuda_opens_a_gpu_or_says_that_there_is_none()
    {
        using var context = Context.Create(builder => builder.Default());
        if (context.GetCudaDevices().Count > 0)
        {
            using var device = GpuDevice.Create(DeviceMode.RequireCuda);
            Assert.True(device.IsCuda);
            return;
        }
        var e = Assert.Throws<InvalidOperationException>(() => GpuDevice.Create(DeviceMode.RequireCuda));
        Assert.StartsWith("No CUDA device found", e.Message);
        Assert.Contains("does not fall back", e.Message);
    }

    [Fact]
    public void The_cpu_accelerator_mode_never_opens_a_gpu()
    {
        using var device = GpuDevice.Create(DeviceMode.CpuAccelerator);
        Assert.False(device.IsCuda);
    }
}
