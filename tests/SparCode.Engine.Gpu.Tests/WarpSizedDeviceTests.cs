namespace SparCode.Engine.Gpu.Tests;

/// <summary>ILGPU's CPU accelerator with 32-lane warps and 8 warps per group: CUDA's group of 256 and the GEMM's 16 × 16 tile.</summary>
public sealed class WarpSizedDeviceFixture : IDisposable
{
    public GpuDevice Device { get; } = GpuDevice.CreateCpu(threadsPerWarp: 32, warpsPerMultiprocessor: 8, multiprocessors: 1);

    public void Dispose() => Device.Dispose();
}

[CollectionDefinition("warp-sized device")]
public sealed class WarpSizedDeviceCollection : ICollectionFixture<WarpSizedDeviceFixture>;

/// <summary>
/// The kernels at the group and tile sizes they get on a GPU (the default CPU accelerator has 4-lane warps, so
/// groups of 16 and 4 × 4 tiles): the top-k's shared histogram loops and barriers with 256 threads, and GEMM tiles
/// of 16 with partial edge tiles.
/// </summary>
[Collection("warp-sized device")]
public sealed class WarpSizedDeviceTests(WarpSizedDeviceFixture fixture) : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sparcode-gpu-warp-tests-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public void The_device_has_the_gpu_group_and_warp_sizes()
    {
        Assert.Equal(256, fixture.Device.GroupSize);
        Assert.Equal(32, fixture.Device.Accelerator.WarpSize);
        Assert.False(fixture.Device.IsCuda);
    }

    [Fact]
    public void Batched_search_with_groups_of_256_equals_the_cpu_engine()
    {
        using var index = GpuSearcherTests.Open(_folder, 3, 500, 150);
        GpuSearcherTests.AssertSearchEqualsCpu(fixture.Device, index, 500, 9, 50);
    }

    [Fact]
    public void Interaction_scores_with_16_by_16_tiles_equal_the_reference_mlp()
    {
        // Widths 17 and 33 leave partial tiles at both edges; 37 pairs a partial row tile.
        GpuInteractionScorerTests.AssertScoreAllEqualsReference(fixture.Device, tokenCount: 3, itemCount: 37, tokenDim: 5, itemDim: 9, [17, 33, 4], maxPairs: 80, dotPath: true);
    }
}
