using System.Numerics.Tensors;
using BenchmarkDotNet.Attributes;
using SparCode.Benchmarks.Infrastructure;

namespace SparCode.Benchmarks.Reference;

/// <summary>
/// The floor a query cannot beat: one core streaming floats from DRAM (a 256 MiB array, far larger
/// than L3) and, for contrast, from L2 (256 KiB, the searcher's accumulator window). Divide the bytes
/// by the time for GB/s; perf/README.md sets a query's bytes against it.
/// </summary>
/// <remarks>
/// <see cref="TensorPrimitives.Sum(ReadOnlySpan{float})"/> reads 64 bytes per instruction on AVX-512, far
/// faster than memory, so the DRAM row measures bandwidth. Only the AVX-512 job runs: the point is the
/// machine's memory, not the instruction set.
/// </remarks>
[Config(typeof(Avx512OnlyConfig))]
public class MemoryBandwidthBenchmarks
{
    private float[] _data = [];

    /// <summary>Bytes streamed per invocation.</summary>
    [ParamsSource(nameof(ByteCounts))]
    public int Bytes { get; set; }

    /// <summary>The values of <see cref="Bytes"/>: 256 KiB (L2) and 256 MiB (DRAM); only the first with <c>--quick</c>.</summary>
    public static IEnumerable<int> ByteCounts => RunOptions.Quick ? [256 << 10] : [256 << 10, 256 << 20];

    [GlobalSetup]
    public void Setup()
    {
        _data = TestData.Gaussian(new Random(5), Bytes / sizeof(float));
        TestData.ReportSetup(nameof(MemoryBandwidthBenchmarks), $"{Bytes} bytes");
    }

    /// <summary>Sums the whole array once.</summary>
    [Benchmark]
    public float StreamRead() => TensorPrimitives.Sum(_data);
}

/// <summary>Only the AVX-512 job.</summary>
public sealed class Avx512OnlyConfig : IsaConfig
{
    /// <summary>The AVX-512 job alone.</summary>
    public Avx512OnlyConfig()
        : base([IsaLevel.Avx512], baselineJob: null)
    {
    }
}
