using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Reports;

namespace SparCode.Benchmarks.Infrastructure;

/// <summary>An instruction-set level, forced on the benchmark process through a <c>DOTNET_Enable*</c> switch.</summary>
public enum IsaLevel
{
    /// <summary>Everything the machine has (AVX-512 here): no switch.</summary>
    Avx512,

    /// <summary><c>DOTNET_EnableAVX512=0</c>: AVX2 and Vector256 stay on.</summary>
    Avx2,

    /// <summary><c>DOTNET_EnableHWIntrinsic=0</c>: no SIMD at all, not even Vector128.</summary>
    Scalar,
}

/// <summary>
/// One job per instruction-set level, so that one run compares them side by side. The <c>Scalar</c>
/// job is the baseline, so the Ratio column reads "time relative to scalar".
/// </summary>
/// <remarks>
/// On .NET 10 <c>DOTNET_EnableAVX512=0</c> is the switch that works (the older
/// <c>DOTNET_EnableAVX512F</c> no longer has any effect); <c>DOTNET_EnableAVX2=0</c> would also drop
/// Vector256. The jobs carry no run strategy of their own: <c>--job</c> (see <see cref="RunOptions"/>)
/// is applied to each as a mutator.
/// </remarks>
public class IsaConfig : ManualConfig
{
    /// <summary>Three jobs (AVX-512, AVX2, Scalar), the scalar one as baseline.</summary>
    public IsaConfig()
        : this([IsaLevel.Avx512, IsaLevel.Avx2, IsaLevel.Scalar], baselineJob: IsaLevel.Scalar)
    {
    }

    /// <summary>The jobs for <paramref name="levels"/> (filtered by <c>--isa</c>), with an optional baseline job.</summary>
    protected IsaConfig(IsaLevel[] levels, IsaLevel? baselineJob)
    {
        foreach (var level in levels.Where(RunOptions.Isas.Contains))
        {
            var job = CreateJob(level);
            AddJob(level == baselineJob ? job.AsBaseline() : job);
        }
        // Other sessions share this machine's two cores: their load only ever adds time, so Min (the
        // least disturbed iteration) and Median say more than Mean on a busy machine.
        AddColumn(StatisticColumn.Median, StatisticColumn.Min);
        // Allocated should read 0 B on every query-path benchmark (the query path does not allocate).
        AddDiagnoser(MemoryDiagnoser.Default);
        SummaryStyle = SummaryStyle.Default.WithRatioStyle(RatioStyle.Value);
        // Each job builds its own copy of the benchmark project; on the loaded 2-core machine that took more than
        // BenchmarkDotNet's default 2 minutes (a dry run failed so on 2026-12-02), which is not a benchmark failure.
        BuildTimeout = TimeSpan.FromMinutes(20);
    }

    /// <summary>The job that runs the benchmark process at <paramref name="level"/>.</summary>
    public static Job CreateJob(IsaLevel level) => level switch
    {
        IsaLevel.Avx512 => Job.Default.WithId("AVX-512"),
        IsaLevel.Avx2 => Job.Default.WithId("AVX2").WithEnvironmentVariables(new EnvironmentVariable("DOTNET_EnableAVX512", "0")),
        IsaLevel.Scalar => Job.Default.WithId("Scalar").WithEnvironmentVariables(new EnvironmentVariable("DOTNET_EnableHWIntrinsic", "0")),
        _ => throw new ArgumentOutOfRangeException(nameof(level), level, "Unknown instruction-set level."),
    };
}

/// <summary>
/// The three instruction-set jobs with no baseline job, for classes whose baseline is a method (the
/// Ratio column then compares methods within each job).
/// </summary>
public sealed class IsaMethodBaselineConfig : IsaConfig
{
    /// <summary>AVX-512, AVX2 and Scalar; no baseline job.</summary>
    public IsaMethodBaselineConfig()
        : base([IsaLevel.Avx512, IsaLevel.Avx2, IsaLevel.Scalar], baselineJob: null)
    {
    }
}

/// <summary>
/// Only the AVX-512 and AVX2 jobs, no baseline job: for comparisons of a scalar kernel against an AVX2
/// variant, which has nothing to run under <c>DOTNET_EnableHWIntrinsic=0</c>.
/// </summary>
public sealed class VectorIsaMethodBaselineConfig : IsaConfig
{
    /// <summary>AVX-512 and AVX2; no baseline job.</summary>
    public VectorIsaMethodBaselineConfig()
        : base([IsaLevel.Avx512, IsaLevel.Avx2], baselineJob: null)
    {
    }
}

/// <summary>
/// Only the AVX2 job, no baseline job: for comparisons with libsparcode.so, whose NativeAOT code is
/// built for x86-64-v3 (AVX2), so that the C# side runs the same 256-bit kernels.
/// </summary>
public sealed class Avx2MethodBaselineConfig : IsaConfig
{
    /// <summary>AVX2 only; no baseline job.</summary>
    public Avx2MethodBaselineConfig()
        : base([IsaLevel.Avx2], baselineJob: null)
    {
    }
}
