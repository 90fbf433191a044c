using BenchmarkDotNet.Attributes;
using SparCode.Benchmarks.Infrastructure;
using SparCode.Kernels.Cpu;

namespace SparCode.Benchmarks.Kernels;

/// <summary>
/// Nearest-codeword search, <see cref="DistanceKernels.ArgMinSquaredL2Transposed"/>: one sub-vector of
/// <see cref="Dim"/> floats against a sub-codebook of <see cref="Rows"/> codewords, stored transposed
/// (one row per dimension, one codeword per vector lane). The query tower runs it K_u·M times per query.
/// </summary>
/// <remarks>
/// The transposed kernel vectorizes across codewords, so the dimension sets the inner loop's trip
/// count (33 is odd on purpose) and the codeword count sets the vector blocks (64 and 256 are whole
/// 512-bit blocks). 64 queries are cycled so that the branch predictor cannot learn one argmin
/// pattern. Ratio is time relative to the Scalar job.
/// </remarks>
[Config(typeof(IsaConfig))]
public class CodewordArgMinBenchmarks
{
    private const int QueryCount = 64;

    private float[] _codebookTransposed = [];
    private float[][] _queries = [];
    private int _next;

    /// <summary>Sub-vector length D/M (32 in the default model).</summary>
    [ParamsSource(nameof(Dims))]
    public int Dim { get; set; }

    /// <summary>The values of <see cref="Dim"/>; only the uneven one with <c>--quick</c>.</summary>
    public static IEnumerable<int> Dims => RunOptions.Quick ? [33] : [32, 33];

    /// <summary>Codewords per sub-codebook, K_c.</summary>
    [ParamsSource(nameof(RowCounts))]
    public int Rows { get; set; }

    /// <summary>The values of <see cref="Rows"/>: K_c = 64 (the synthetic default) and 256.</summary>
    public static IEnumerable<int> RowCounts => RunOptions.Quick ? [256] : [64, 256];

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(99);
        // Random entries, so the transposed layout is drawn directly: Dim rows of Rows codeword entries.
        _codebookTransposed = TestData.Gaussian(random, Dim * Rows);
        _queries = [.. Enumerable.Range(0, QueryCount).Select(_ => TestData.Gaussian(random, Dim))];
        TestData.ReportSetup(nameof(CodewordArgMinBenchmarks), $"dim {Dim}, {Rows} codewords");
    }

    /// <summary>One argmin over the codebook.</summary>
    [Benchmark]
    public int ArgMin()
    {
        var query = _queries[_next];
        _next = (_next + 1) % QueryCount;
        return DistanceKernels.ArgMinSquaredL2Transposed(query, _codebookTransposed);
    }
}
