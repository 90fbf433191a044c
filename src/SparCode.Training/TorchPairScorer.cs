using SparCode.IndexBuild;
using static TorchSharp.torch;

namespace SparCode.Training;

/// <summary>
/// The export's pair scorer on the CPU: the trained network's own f through TorchSharp, with the first-layer
/// decomposition (<c>W_u·ẑ</c> per code, <c>W_v·v_i + b₁</c> once per item), <see cref="BlockRows"/> codes per block.
/// </summary>
/// <remarks>Not thread-safe. Holds the item side of the first layer (n × H₁ floats) until disposed.</remarks>
public sealed class TorchPairScorer : IPairScorer
{
    /// <summary>Codes scored per block (the dense block is BlockRows × n floats).</summary>
    public const int BlockRows = 256;

    private readonly SparCodeNet _net;
    private readonly Tensor _itemPart;

    /// <summary>Computes the item side of the first layer once.</summary>
    /// <param name="model">A trained SparCode model.</param>
    /// <exception cref="InvalidOperationException">The model is a two-tower model.</exception>
    public TorchPairScorer(TrainedModel model)
    {
        ArgumentNullException.ThrowIfNull(model);
        _net = model.SparCode;
        _net.eval();
        ItemCount = model.ItemCount;
        TokenDim = model.Options.TokenDim;
        using var noGrad = no_grad();
        _itemPart = _net.ItemPart(arange(1, ItemCount + 1, dtype: ScalarType.Int64));
    }

    /// <inheritdoc/>
    public string Name => Exporter.CpuScorer;

    /// <inheritdoc/>
    public int ItemCount { get; }

    /// <inheritdoc/>
    public int TokenDim { get; }

    /// <inheritdoc/>
    public void ScoreAll(ReadOnlySpan<float> codeTokens, Action<int, int, ReadOnlySpan<float>> onBlock)
    {
        ArgumentNullException.ThrowIfNull(onBlock);
        if (codeTokens.Length % TokenDim != 0)
        {
            throw new ArgumentException($"codeTokens has {codeTokens.Length} floats; expected a multiple of D = {TokenDim}.", nameof(codeTokens));
        }
        int codes = codeTokens.Length / TokenDim;
        var host = new float[(long)Math.Min(BlockRows, codes) * ItemCount];
        using var noGrad = no_grad();
        for (int first = 0; first < codes; first += BlockRows)
        {
            int count = Math.Min(BlockRows, codes - first);
            using (var scope = NewDisposeScope())
            {
                var z = tensor(codeTokens.Slice(first * TokenDim, count * TokenDim).ToArray(), [count, TokenDim]);
                _net.PairScores(_net.UserPart(z), _itemPart).contiguous().data<float>().CopyTo(host.AsSpan(0, count * ItemCount));
            }
            onBlock(first, count, host.AsSpan(0, count * ItemCount));
        }
    }

    /// <summary>Frees the item side of the first layer.</summary>
    public void Dispose() => _itemPart.Dispose();
}
