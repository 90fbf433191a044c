using BenchmarkDotNet.Jobs;
using SparCode.Benchmarks.Infrastructure;

namespace SparCode.Benchmarks.Kernels;

/// <summary>
/// The instruction-set jobs of <see cref="IsaConfig"/> (filtered by <c>--isa</c>) plus a
/// <c>Vector128</c> job (<c>DOTNET_EnableAVX2=0</c>), with no baseline job: the kernels written once
/// over a vector width have four paths, and each job runs a different one.
/// </summary>
public sealed class WidthConfig : IsaConfig
{
    /// <summary>AVX-512, AVX2 and Scalar as <c>--isa</c> keeps them, and always Vector128.</summary>
    public WidthConfig()
        : base([IsaLevel.Avx512, IsaLevel.Avx2, IsaLevel.Scalar], baselineJob: null)
    {
        AddJob(Job.Default.WithId("Vector128").WithEnvironmentVariables(new EnvironmentVariable("DOTNET_EnableAVX2", "0")));
    }
}
