using ILGPU;
using ILGPU.Runtime;

namespace SparCode.Kernels.Gpu;

/// <summary>
/// Evaluates the interaction MLP <c>f([z; v])</c> for many (token, item) pairs on an accelerator:
/// the per-token part <c>W_u·z</c> and the per-item part <c>W_v·v + b₁</c> are computed once each
/// (first-layer decomposition), pairs are formed on the device, and the remaining layers run as
/// tiled GEMMs with fused bias and ReLU (with the dot path, <c>⟨z, v[0..D)⟩</c> is added per pair at the end). Two uses: scoring every code × every item when building an
/// index, and re-scoring candidates with unquantized tokens (refine, <c>SparCode.Engine.Gpu.GpuRefiner</c>).
/// </summary>
/// <remarks>
/// Kernels, weight buffers and the per-pass scratch (activations and pair indices for
/// <see cref="MaxPairs"/> pairs) are created once in the constructor. Not thread-safe.
/// </remarks>
public sealed class GpuInteractionScorer : IDisposable
{
    private readonly GpuDevice _device;
    private readonly InteractionMlp _mlp;
    private readonly int _tile;
    private readonly List<IDisposable> _owned = [];
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _firstUser;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _firstItem;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _firstBias;
    private readonly (MemoryBuffer1D<float, Stride1D.Dense> Weights, MemoryBuffer1D<float, Stride1D.Dense> Bias, int Width)[] _layers;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _activationA;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _activationB;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _pairA;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _pairB;
    private readonly DeviceScratch<float> _firstInput;
    private readonly DeviceScratch<float> _userPart;
    private readonly DeviceScratch<float> _itemPart;
    private readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, int> _gemm;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int, int, int, int, ArrayView<float>> _pairs;
    private readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int, int, int, int, int, ArrayView<float>> _dot;
    private readonly int _stride;

    /// <summary>Uploads the MLP, allocates the scratch of one pass and loads the kernels.</summary>
    /// <param name="device">The accelerator.</param>
    /// <param name="mlp">The interaction MLP.</param>
    /// <param name="maxPairs">
    /// Pairs per device pass; scratch is about maxPairs × (widest layer × 8 + 8) bytes. Capped so that one pass's
    /// activations (pairs × widest layer) stay below 2³¹ elements, the most one launch indexes.
    /// </param>
    /// <exception cref="ArgumentException">The MLP's shapes are inconsistent.</exception>
    public GpuInteractionScorer(GpuDevice device, InteractionMlp mlp, int maxPairs = 1 << 16)
    {
        ArgumentNullException.ThrowIfNull(device);
        ArgumentNullException.ThrowIfNull(mlp);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxPairs);
        if (mlp.Problem() is { } problem)
        {
            throw new ArgumentException($"Invalid interaction MLP: {problem}", nameof(mlp));
        }
        _device = device;
        _mlp = mlp;
        _tile = Math.Min(InteractionKernels.MaxTile, (int)Math.Sqrt(device.Accelerator.MaxNumThreadsPerGroup));
        try
        {
            // With the dot path the first-layer GEMMs also carry z and v[0..D) through (identity rows appended),
            // so each part row is [first-layer part ; z] or [first-layer part ; v[0..D)] and AddDot reads the tail.
            _stride = mlp.FirstWidth + (mlp.DotPath ? mlp.TokenDim : 0);
            _firstUser = Upload(mlp.DotPath ? WithIdentityRows(mlp.FirstUser, mlp.TokenDim, mlp.TokenDim) : mlp.FirstUser);
            _firstItem = Upload(mlp.DotPath ? WithIdentityRows(mlp.FirstItem, mlp.ItemDim, mlp.TokenDim) : mlp.FirstItem);
            _firstBias = Upload(mlp.DotPath ? [.. mlp.FirstBias, .. new float[mlp.TokenDim]] : mlp.FirstBias);
            int maxWidth = mlp.FirstWidth;
            _layers = new (MemoryBuffer1D<float, Stride1D.Dense>, MemoryBuffer1D<float, Stride1D.Dense>, int)[mlp.Hidden.Count + 1];
            for (int l = 0; l < mlp.Hidden.Count; l++)
            {
                _layers[l] = (Upload(mlp.Hidden[l].Weights), Upload(mlp.Hidden[l].Bias), mlp.Hidden[l].Bias.Length);
                maxWidth = Math.Max(maxWidth, mlp.Hidden[l].Bias.Length);
            }
            _layers[^1] = (Upload(mlp.Output), Upload([mlp.OutputBias]), 1);
            maxPairs = Math.Min(maxPairs, int.MaxValue / Math.Max(maxWidth, _stride));
            MaxPairs = maxPairs;
            _activationA = Own(device.Accelerator.Allocate1D<float>((long)maxPairs * maxWidth));
            _activationB = Own(device.Accelerator.Allocate1D<float>((long)maxPairs * maxWidth));
            _pairA = Own(device.Accelerator.Allocate1D<int>(maxPairs));
            _pairB = Own(device.Accelerator.Allocate1D<int>(maxPairs));
            _firstInput = Own(new DeviceScratch<float>(device.Accelerator));
            _userPart = Own(new DeviceScratch<float>(device.Accelerator));
            _itemPart = Own(new DeviceScratch<float>(device.Accelerator));
        }
        catch
        {
            Dispose();
            throw;
        }
        var accelerator = device.Accelerator;
        _gemm = accelerator.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int, int>(
            device.IsCuda ? InteractionKernels.GemmBiasAct<CudaFusedMultiplyAdd> : InteractionKernels.GemmBiasAct<CpuFusedMultiplyAdd>);
        _pairs = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int, int, int, int, ArrayView<float>>(
            InteractionKernels.PairFirstLayer);
        _dot = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<int>, int, int, int, int, int, int, ArrayView<float>>(
            device.IsCuda ? InteractionKernels.AddDot<CudaFusedMultiplyAdd> : InteractionKernels.AddDot<CpuFusedMultiplyAdd>);
    }

    /// <summary>Pairs per device pass.</summary>
    public int MaxPairs { get; }

    /// <summary>The MLP this scorer evaluates.</summary>
    public InteractionMlp Mlp => _mlp;

    /// <summary>The accelerator this scorer runs on.</summary>
    public GpuDevice Device => _device;

    /// <summary>
    /// Scores every token against every item: <c>scores[t · n + i] = f([tokens_t; items_i])</c>, in blocks
    /// of whole tokens; <paramref name="onBlock"/> receives (first token, token count, their scores)
    /// for each block, so a caller can threshold each code's row without holding all of them. A token row longer
    /// than one pass is scored in item chunks of <see cref="MaxPairs"/> and delivered whole.
    /// </summary>
    /// <param name="tokens">Row-major tokens × TokenDim (e.g. the quantized token ẑ of every code).</param>
    /// <param name="items">Row-major items × ItemDim.</param>
    /// <param name="onBlock">Receives each block's scores, row-major token × item.</param>
    /// <exception cref="ArgumentException">A matrix is not a whole number of rows.</exception>
    public void ScoreAll(ReadOnlySpan<float> tokens, ReadOnlySpan<float> items, Action<int, int, ReadOnlySpan<float>> onBlock)
    {
        ArgumentNullException.ThrowIfNull(onBlock);
        int tokenCount = Rows(tokens, _mlp.TokenDim, nameof(tokens));
        int itemCount = Rows(items, _mlp.ItemDim, nameof(items));
        var u = UserPart(tokens);
        var v = ItemPart(items);
        int tokensPerPass = Math.Max(1, MaxPairs / itemCount);
        var host = new float[(long)tokensPerPass * itemCount];
        for (int first = 0; first < tokenCount; first += tokensPerPass)
        {
            int count = Math.Min(tokensPerPass, tokenCount - first);
            int pairs = count * itemCount;
            for (int item = 0; item < itemCount; item += MaxPairs)
            {
                // One pass for whole token rows; a single row wider than a pass goes in item chunks.
                int chunk = pairs <= MaxPairs ? itemCount : Math.Min(MaxPairs, itemCount - item);
                Run(u, v, default, default, first, item, chunk, count * chunk, host.AsSpan(item, count * chunk));
            }
            onBlock(first, count, host.AsSpan(0, pairs));
        }
    }

    /// <summary>
    /// Scores listed pairs: <c>scores[p] = f([tokens_{a[p]}; items_{b[p]}])</c>.
    /// </summary>
    /// <param name="tokens">Row-major tokens × TokenDim.</param>
    /// <param name="items">Row-major items × ItemDim.</param>
    /// <param name="tokenOfPair">Token row of each pair.</param>
    /// <param name="itemOfPair">Item row of each pair.</param>
    /// <param name="scores">Receives one score per pair.</param>
    /// <exception cref="ArgumentException">Shapes disagree or a pair index is out of range.</exception>
    public void ScorePairs(ReadOnlySpan<float> tokens, ReadOnlySpan<float> items, ReadOnlySpan<int> tokenOfPair, ReadOnlySpan<int> itemOfPair, Span<float> scores)
    {
        int tokenCount = Rows(tokens, _mlp.TokenDim, nameof(tokens));
        int itemCount = Rows(items, _mlp.ItemDim, nameof(items));
        CheckPairs(tokenCount, itemCount, tokenOfPair, itemOfPair, scores);
        ScorePairs(UserPart(tokens), ItemPart(items), tokenOfPair, itemOfPair, scores);
    }

    /// <summary>Throws unless the pair lists have equal lengths, fit <paramref name="scores"/> and index existing rows.</summary>
    internal static void CheckPairs(int tokenCount, int itemCount, ReadOnlySpan<int> tokenOfPair, ReadOnlySpan<int> itemOfPair, ReadOnlySpan<float> scores)
    {
        if (tokenOfPair.Length != itemOfPair.Length || scores.Length < tokenOfPair.Length)
        {
            throw new ArgumentException($"{tokenOfPair.Length} token indices, {itemOfPair.Length} item indices and {scores.Length} scores: expected equal counts.");
        }
        for (int p = 0; p < tokenOfPair.Length; p++)
        {
            if ((uint)tokenOfPair[p] >= (uint)tokenCount || (uint)itemOfPair[p] >= (uint)itemCount)
            {
                throw new ArgumentException($"Pair {p} is ({tokenOfPair[p]}, {itemOfPair[p]}); expected token < {tokenCount} and item < {itemCount}.");
            }
        }
    }

    /// <summary>Scores pairs of rows of device-resident first-layer parts (indices already checked), one pass per <see cref="MaxPairs"/>.</summary>
    internal void ScorePairs(ArrayView<float> u, ArrayView<float> v, ReadOnlySpan<int> tokenOfPair, ReadOnlySpan<int> itemOfPair, Span<float> scores)
    {
        for (int first = 0; first < tokenOfPair.Length; first += MaxPairs)
        {
            int pairs = Math.Min(MaxPairs, tokenOfPair.Length - first);
            _pairA.View.AsContiguous().SubView(0, pairs).CopyFromCPU(tokenOfPair.Slice(first, pairs));
            _pairB.View.AsContiguous().SubView(0, pairs).CopyFromCPU(itemOfPair.Slice(first, pairs));
            Run(u, v, _pairA.View.SubView(0, pairs), _pairB.View.SubView(0, pairs), 0, 0, 1, pairs, scores.Slice(first, pairs));
        }
    }

    /// <summary>
    /// User side of the first layer, <c>W_u·z</c> for every token row (then z with the dot path): rows ×
    /// stride in the scorer's own buffer, valid until the next <see cref="UserPart"/> call.
    /// </summary>
    internal ArrayView<float> UserPart(ReadOnlySpan<float> tokens) =>
        FirstLayer(tokens, Rows(tokens, _mlp.TokenDim, nameof(tokens)), _firstUser, _mlp.TokenDim, default, _userPart);

    /// <summary>
    /// Item side of the first layer, <c>W_v·v + b₁</c> for every item row (then v[0..D) with the dot
    /// path): rows × stride in the scorer's own buffer, valid until the next <see cref="ItemPart"/> call.
    /// </summary>
    internal ArrayView<float> ItemPart(ReadOnlySpan<float> items) =>
        FirstLayer(items, Rows(items, _mlp.ItemDim, nameof(items)), _firstItem, _mlp.ItemDim, _firstBias.View, _itemPart);

    /// <summary><paramref name="weights"/> (rows × depth) with D more rows that copy inputs 0..D−1 (an identity block, zero elsewhere).</summary>
    private static float[] WithIdentityRows(float[] weights, int depth, int dim)
    {
        var result = new float[weights.Length + dim * depth];
        weights.CopyTo(result, 0);
        for (int j = 0; j < dim; j++)
        {
            result[weights.Length + j * depth + j] = 1f;
        }
        return result;
    }

    /// <summary>
    /// Rows × stride first-layer partial: W·x (+ bias) for every row, as GEMMs of at most <see cref="MaxPairs"/> rows,
    /// so the input scratch and each launch stay one pass in size whatever the catalogue.
    /// </summary>
    private ArrayView<float> FirstLayer(ReadOnlySpan<float> rows, int count, MemoryBuffer1D<float, Stride1D.Dense> weights, int depth,
        ArrayView<float> bias, DeviceScratch<float> output)
    {
        var result = output.View((long)count * _stride);
        for (int first = 0; first < count; first += MaxPairs)
        {
            int chunk = Math.Min(MaxPairs, count - first);
            // In stream order after the previous chunk's GEMM, which has read the scratch by then.
            var input = _firstInput.Upload(rows.Slice(first * depth, chunk * depth));
            Gemm(input, weights.View, bias, result.SubView((long)first * _stride, (long)chunk * _stride), chunk, _stride, depth, relu: false);
        }
        return result;
    }

    /// <summary>Pair layer, then every hidden layer and the output layer as GEMMs; copies one score per pair into <paramref name="scores"/>.</summary>
    private void Run(ArrayView<float> u, ArrayView<float> v, ArrayView<int> pairA, ArrayView<int> pairB, int aStart, int bStart, int bCount, int pairs, Span<float> scores)
    {
        var (h, next) = (_activationA.View, _activationB.View);
        _pairs(pairs * _mlp.FirstWidth, u, v, pairA, pairB, aStart, bStart, bCount, _mlp.FirstWidth, _stride, h);
        int width = _mlp.FirstWidth;
        for (int l = 0; l < _layers.Length; l++)
        {
            var (weights, bias, outputs) = _layers[l];
            Gemm(h, weights.View, bias.View, next, pairs, outputs, width, relu: l < _layers.Length - 1);
            (h, next) = (next, h);
            width = outputs;
        }
        if (_mlp.DotPath)
        {
            _dot(pairs, u, v, pairA, pairB, aStart, bStart, bCount, _mlp.FirstWidth, _stride, _mlp.TokenDim, h);
        }
        _device.Accelerator.Synchronize();
        h.AsContiguous().SubView(0, pairs).CopyToCPU(scores[..pairs]);
    }

    private void Gemm(ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> c, int rows, int columns, int depth, bool relu)
    {
        // Row tiles on X: grid Y is capped at 65,535 on CUDA (and on ILGPU's CPU accelerator).
        var grid = new Index2D((rows + _tile - 1) / _tile, (columns + _tile - 1) / _tile);
        _gemm(new KernelConfig(grid, new Index2D(_tile, _tile)), a, b, bias, c, rows, columns, depth, _tile, relu ? 1 : 0);
    }

    private static int Rows(ReadOnlySpan<float> matrix, int columns, string name)
    {
        if (matrix.IsEmpty || matrix.Length % columns != 0)
        {
            throw new ArgumentException($"{name} has {matrix.Length} floats; expected a positive multiple of {columns}.", name);
        }
        return matrix.Length / columns;
    }

    private MemoryBuffer1D<float, Stride1D.Dense> Upload(float[] data) => Own(_device.Accelerator.Allocate1D(data));

    private T Own<T>(T buffer) where T : IDisposable
    {
        _owned.Add(buffer);
        return buffer;
    }

    /// <summary>Frees the weight and scratch buffers.</summary>
    public void Dispose()
    {
        foreach (var buffer in _owned)
        {
            buffer.Dispose();
        }
        _owned.Clear();
    }
}
