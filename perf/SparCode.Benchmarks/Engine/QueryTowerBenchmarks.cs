using BenchmarkDotNet.Attributes;
using SparCode.Benchmarks.Infrastructure;
using SparCode.Engine;
using SparCode.Synthetic;

namespace SparCode.Benchmarks.Engine;

/// <summary>
/// The query side of a search: <see cref="QueryTower.Tokens"/> (masked mean of up to L = 20 item
/// embeddings, MLP 64→256→256→256→64, K_u = 4 heads of D = 64) and <see cref="QueryTower.Codes"/>
/// (K_u·M = 8 nearest-codeword searches of D/M = 32 floats over K_c rows), on the synthetic
/// generator's default model shape.
/// </summary>
/// <remarks>
/// The tower is built from in-memory weights (no index file); 256 seeded histories of 1..20 items are
/// cycled. Ratio is time relative to the Scalar job.
/// </remarks>
[Config(typeof(IsaConfig))]
public class QueryTowerBenchmarks
{
    private const int HistoryCount = 256;

    private QueryTower? _tower;
    private int[][] _histories = [];
    private float[][] _historyTokens = [];
    private float[] _tokens = [];
    private float[] _scratchA = [];
    private float[] _scratchB = [];
    private int[] _codes = [];
    private int _next;

    /// <summary>Codewords per sub-codebook, K_c (K_c² codes).</summary>
    [ParamsSource(nameof(CodebookSizes))]
    public int CodebookSize { get; set; }

    /// <summary>The values of <see cref="CodebookSize"/>; only the smallest with <c>--quick</c>.</summary>
    public static IEnumerable<int> CodebookSizes => RunOptions.Quick ? [64] : [64, 256];

    [GlobalSetup]
    public void Setup()
    {
        var options = new SyntheticOptions { CodebookSize = CodebookSize, MeanPostingsPerList = 1 };
        var contents = SyntheticIndex.Create(options);
        var dims = contents.Dimensions;
        _tower = new QueryTower(dims, contents.ItemEmbedding,
            [.. contents.Tower.Select(l => new DenseView(l.Outputs, l.Weights, l.Bias))],
            new DenseView(contents.Heads.Outputs, contents.Heads.Weights, contents.Heads.Bias), contents.Codebooks);
        // External ids are 0..n−1 in the synthetic index, the same as the internal ids the tower reads.
        _histories = [.. SyntheticIndex.Histories(dims.ItemCount, HistoryCount, dims.HistoryLength, seed: 7)
            .Select(h => h.Select(id => (int)id).ToArray())];
        _tokens = new float[dims.UserTokens * dims.TokenDim];
        _scratchA = new float[_tower.ScratchLength];
        _scratchB = new float[_tower.ScratchLength];
        _codes = new int[dims.UserTokens];
        _historyTokens = [.. _histories.Select(h =>
        {
            _tower.Tokens(h, _tokens, _scratchA, _scratchB);
            return (float[])_tokens.Clone();
        })];
        TestData.ReportSetup(nameof(QueryTowerBenchmarks), $"d={dims.EmbeddingDim}, K_u={dims.UserTokens}, D={dims.TokenDim}, M={dims.Subspaces}, K_c={dims.CodebookSize}");
    }

    /// <summary>History → K_u user tokens.</summary>
    [Benchmark]
    public float Tokens()
    {
        _tower!.Tokens(NextHistory(), _tokens, _scratchA, _scratchB);
        return _tokens[0];
    }

    /// <summary>K_u precomputed tokens → K_u codes.</summary>
    [Benchmark]
    public int Codes()
    {
        _tower!.Codes(_historyTokens[_next], _codes);
        _next = (_next + 1) % HistoryCount;
        return _codes[0];
    }

    /// <summary>Both: what a search spends before it touches a posting list.</summary>
    [Benchmark]
    public int TokensAndCodes()
    {
        _tower!.Tokens(NextHistory(), _tokens, _scratchA, _scratchB);
        _tower.Codes(_tokens, _codes);
        return _codes[0];
    }

    private int[] NextHistory()
    {
        var history = _histories[_next];
        _next = (_next + 1) % HistoryCount;
        return history;
    }
}
