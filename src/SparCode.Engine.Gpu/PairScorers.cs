using SparCode.IndexBuild;
using SparCode.Kernels.Gpu;

namespace SparCode.Engine.Gpu;

/// <summary>
/// The export's pair scorer on an ILGPU accelerator: the first-layer decomposition (<c>W_u·ẑ</c> once per code,
/// <c>W_v·v_i + b₁</c> once per item) and the remaining layers as tiled GEMMs on the device, one pass of whole code
/// rows at a time, so the code × item matrix is never held.
/// </summary>
/// <remarks>
/// The device sums in another order than libtorch, so f differs from the TorchSharp scorer's in the last bits
/// (relative 1e-6 seen): the lists agree except where a code's keep-th and (keep+1)-th scores are that close.
/// Not thread-safe; owns its device buffers.
/// </remarks>
public sealed class GpuPairScorer : IPairScorer
{
    private readonly GpuInteractionScorer _scorer;
    private readonly float[] _itemTokens;

    /// <summary>Uploads the MLP; the item tokens are kept for the passes.</summary>
    /// <param name="device">The accelerator.</param>
    /// <param name="mlp">The interaction MLP f.</param>
    /// <param name="itemTokens">Row-major <c>n_items × ItemDim</c> item tokens v_i.</param>
    /// <param name="maxPairs">Pairs per device pass; 0 chooses 2^20 (at least one code's row) on CUDA and one code's row on the CPU accelerator.</param>
    /// <exception cref="ArgumentException">The item tokens are not whole rows, or the MLP is inconsistent.</exception>
    public GpuPairScorer(GpuDevice device, InteractionMlp mlp, float[] itemTokens, int maxPairs = 0)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(mlp);
        ArgumentNullException.ThrowIfNull(itemTokens);
        ArgumentOutOfRangeException.ThrowIfNegative(maxPairs);
        if (itemTokens.Length == 0 || itemTokens.Length % mlp.ItemDim != 0)
        {
            throw new ArgumentException($"itemTokens has {itemTokens.Length} floats; expected a positive multiple of ItemDim = {mlp.ItemDim}.", nameof(itemTokens));
        }
        ItemCount = itemTokens.Length / mlp.ItemDim;
        _itemTokens = itemTokens;
        _scorer = new GpuInteractionScorer(device, mlp, maxPairs > 0 ? maxPairs : device.IsCuda ? Math.Max(ItemCount, 1 << 20) : ItemCount);
        Name = $"gpu (ILGPU {(device.IsCuda ? "CUDA" : "CPU accelerator")}: {device.Name})";
    }

    /// <inheritdoc/>
    public string Name { get; }

    /// <inheritdoc/>
    public int ItemCount { get; }

    /// <inheritdoc/>
    public int TokenDim => _scorer.Mlp.TokenDim;

    /// <inheritdoc/>
    public void ScoreAll(ReadOnlySpan<float> codeTokens, Action<int, int, ReadOnlySpan<float>> onBlock) => _scorer.ScoreAll(codeTokens, _itemTokens, onBlock);

    /// <summary>Frees the device buffers.</summary>
    public void Dispose() => _scorer.Dispose();
}

/// <summary>
/// The plain reference pair scorer for differential tests: every pair through <see cref="InteractionMlp.ScoreReference"/>
/// (double precision inside), one code row per block.
/// </summary>
/// <param name="mlp">The interaction MLP f.</param>
/// <param name="itemTokens">Row-major <c>n_items × ItemDim</c> item tokens v_i.</param>
public sealed class ReferencePairScorer(InteractionMlp mlp, float[] itemTokens) : IPairScorer
{
    /// <inheritdoc/>
    public string Name => "reference (CPU, double precision)";

    /// <inheritdoc/>
    public int ItemCount { get; } = itemTokens.Length / mlp.ItemDim;

    /// <inheritdoc/>
    public int TokenDim => mlp.TokenDim;

    /// <inheritdoc/>
    public void ScoreAll(ReadOnlySpan<float> codeTokens, Action<int, int, ReadOnlySpan<float>> onBlock)
    {
        ArgumentNullException.ThrowIfNull(onBlock);
        if (codeTokens.Length % mlp.TokenDim != 0)
        {
            throw new ArgumentException($"codeTokens has {codeTokens.Length} floats; expected a multiple of D = {mlp.TokenDim}.", nameof(codeTokens));
        }
        var row = new float[ItemCount];
        for (int c = 0; c < codeTokens.Length / mlp.TokenDim; c++)
        {
            for (int i = 0; i < row.Length; i++)
            {
                row[i] = mlp.ScoreReference(codeTokens.Slice(c * mlp.TokenDim, mlp.TokenDim), itemTokens.AsSpan(i * mlp.ItemDim, mlp.ItemDim));
            }
            onBlock(c, 1, row);
        }
    }

    /// <summary>Holds nothing to free.</summary>
    public void Dispose()
    {
    }
}
