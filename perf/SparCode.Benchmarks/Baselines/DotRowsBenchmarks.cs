using BenchmarkDotNet.Attributes;
using SparCode.Baselines;
using SparCode.Benchmarks.Infrastructure;
using SparCode.Benchmarks.Kernels;
using SparCode.Kernels.Cpu;

namespace SparCode.Benchmarks.Baselines;

/// <summary>
/// The exact-MIPS kernel alone (<c>MipsKernels.DotRows</c>): one query against 4,099 rows that stay in
/// L2, so the loop, not memory, sets the time; under each vector width's job.
/// </summary>
/// <remarks>Dimensions 64 (the baselines' d) and 37 (a tail on every width).</remarks>
[Config(typeof(WidthConfig))]
public class DotRowsBenchmarks
{
    private const int Rows = 4_099;

    private float[] _matrix = [];
    private float[] _query = [];
    private float[] _scores = [];

    /// <summary>Floats per row.</summary>
    [Params(64, 37)]
    public int Dim { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(5);
        _matrix = TestData.Gaussian(random, Rows * Dim);
        _query = TestData.Gaussian(random, Dim);
        _scores = new float[Rows];
        TestData.ReportSetup(nameof(DotRowsBenchmarks), $"{Rows} rows of {Dim}, path {Simd.Best}");
    }

    /// <summary>All rows' inner products with the query.</summary>
    [Benchmark]
    public float DotRows()
    {
        MipsKernels.DotRows(_matrix, _query, _scores);
        return _scores[^1];
    }
}
