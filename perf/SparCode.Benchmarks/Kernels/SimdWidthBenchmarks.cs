using BenchmarkDotNet.Attributes;
using SparCode.Benchmarks.Infrastructure;
using SparCode.Kernels.Cpu;

namespace SparCode.Benchmarks.Kernels;

/// <summary>
/// The kernels that have one body per vector width: a dense layer
/// (<see cref="DenseKernels.DenseTransposed"/>), the nearest-codeword search
/// (<see cref="DistanceKernels.ArgMinSquaredL2Transposed"/>) and the whole-window collect
/// (<see cref="AccumulatorCollect.CollectWindowAndClear"/>), under each width's job.
/// </summary>
/// <remarks>
/// Shapes: the query tower's 256→256 hidden layer and an uneven 130→257 one (tails on every width);
/// 33 dimensions against 64 and 256 codewords; a 2^16-slot window with 3.4% of its slots set. Seeded
/// Gaussian inputs; 64 queries are cycled for the argmin. Compare the same row before and after a change.
/// </remarks>
[Config(typeof(WidthConfig))]
public class SimdWidthBenchmarks
{
    private const int QueryCount = 64;
    private const int Window = 1 << 16;

    private float[] _weights = [];
    private float[] _bias = [];
    private float[] _input = [];
    private float[] _output = [];
    private float[] _codebookSmall = [];
    private float[] _codebookLarge = [];
    private float[][] _queries = [];
    private int[] _windowIds = [];
    private float[] _windowScores = [];
    private float[] _window = [];
    private TopKSelector _selector = new(0);
    private int _next;

    /// <summary>Dense layer shape, inputs×outputs.</summary>
    [Params("256x256", "130x257")]
    public string Layer { get; set; } = "256x256";

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(77);
        var shape = Layer.Split('x');
        int inputs = int.Parse(shape[0], System.Globalization.CultureInfo.InvariantCulture), outputs = int.Parse(shape[1], System.Globalization.CultureInfo.InvariantCulture);
        _weights = TestData.Gaussian(random, inputs * outputs);
        _bias = TestData.Gaussian(random, outputs);
        _input = TestData.Gaussian(random, inputs);
        _output = new float[outputs];
        _codebookSmall = TestData.Gaussian(random, 33 * 64);
        _codebookLarge = TestData.Gaussian(random, 33 * 256);
        _queries = [.. Enumerable.Range(0, QueryCount).Select(_ => TestData.Gaussian(random, 33))];
        var (ids, scores) = TestData.PostingLists(Window, [2_203], seed: 4321);
        (_windowIds, _windowScores) = (ids[0], scores[0]);
        _window = new float[Window];
        _selector = new TopKSelector(50);
        TestData.ReportSetup(nameof(SimdWidthBenchmarks), $"layer {Layer}, argmin 33x64 and 33x256, window {Window} with {_windowIds.Length} set");
    }

    /// <summary>One dense layer with ReLU.</summary>
    [Benchmark]
    public float Dense()
    {
        DenseKernels.DenseTransposed(_weights, _bias, _input, _output, relu: true);
        return _output[^1];
    }

    /// <summary>Eight argmins over 64 codewords (the tower's K_u·M searches at K_c = 64).</summary>
    [Benchmark]
    public int ArgMin64()
    {
        int sum = 0;
        for (int i = 0; i < 8; i++)
        {
            sum += DistanceKernels.ArgMinSquaredL2Transposed(NextQuery(), _codebookSmall);
        }
        return sum;
    }

    /// <summary>Eight argmins over 256 codewords.</summary>
    [Benchmark]
    public int ArgMin256()
    {
        int sum = 0;
        for (int i = 0; i < 8; i++)
        {
            sum += DistanceKernels.ArgMinSquaredL2Transposed(NextQuery(), _codebookLarge);
        }
        return sum;
    }

    /// <summary>Scatter one list into the window, then the SIMD threshold pass over all its slots (k = 50).</summary>
    [Benchmark]
    public int CollectWindow()
    {
        PostingKernels.AccumulateCore(_window, _windowIds, _windowScores, 0);
        _selector.Reset(50);
        _selector.CollectWindowAndClear(_window, 0);
        return _selector.Count;
    }

    private float[] NextQuery()
    {
        var query = _queries[_next];
        _next = (_next + 1) % QueryCount;
        return query;
    }
}
