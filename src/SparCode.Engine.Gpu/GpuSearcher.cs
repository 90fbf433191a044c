using ILGPU;
using ILGPU.Runtime;
using SparCode.Kernels.Gpu;

namespace SparCode.Engine.Gpu;

/// <summary>
/// Batched SparCode search on an ILGPU accelerator: history → query tower → codes → posting-list
/// accumulation → exclusion → top-k, all on the device, for up to <see cref="MaxBatch"/> queries per
/// launch sequence. Results equal <see cref="SparCodeSearcher"/>'s (same arithmetic in the same order).
/// </summary>
/// <remarks>
/// The constructor uploads the index (the engine's loaded query tower: embedding, transposed tower weights and
/// codebooks; the mapped posting lists)
/// and loads every kernel once; each call only copies histories in and results out. Per query the
/// device keeps an accumulator row of n_items floats and a candidate row of K_u × (longest list) keys,
/// so device memory grows with <see cref="MaxBatch"/> × n_items. Not thread-safe.
/// Queries with fewer than k positively scored items and <see cref="SearchOptions.FillToK"/> set are
/// finished on the CPU engine, which owns the fill order.
/// </remarks>
public sealed class GpuSearcher : IDisposable
{
    private readonly SparCodeIndex _index;
    private readonly GpuDevice _device;
    private readonly SparCodeSearcher _cpu;
    private readonly List<IDisposable> _buffers = [];
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _embedding;
    private readonly (MemoryBuffer1D<float, Stride1D.Dense> WeightsT, MemoryBuffer1D<float, Stride1D.Dense> Bias, int Inputs, int Outputs)[] _layers;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _codebooksT;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _remap;
    private readonly MemoryBuffer1D<long, Stride1D.Dense> _offsets;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _items;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _scores;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _accumulator;
    private readonly MemoryBuffer1D<ulong, Stride1D.Dense> _candidates;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _activationA;
    private readonly MemoryBuffer1D<float, Stride1D.Dense> _activationB;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _codes;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _counts;
    private readonly DeviceScratch<int> _historyItems;
    private readonly DeviceScratch<int> _historyOffsets;
    private readonly DeviceScratch<int> _excludedOwners;
    private readonly DeviceScratch<int> _excludedItems;
    private readonly DeviceScratch<ulong> _gathered;
    private readonly DeviceScratch<ulong> _results;
    private ulong[] _keys = [];
    private readonly int _remapLength;
    private readonly int _candidateCapacity;
    private readonly int _maxWidth;

    private readonly Action<Index1D, ArrayView<int>, ArrayView<int>, int, ArrayView<float>, int, ArrayView<float>> _meanEmbedding;
    private readonly Action<Index1D, ArrayView<float>, int, ArrayView<float>, ArrayView<float>, int, int, ArrayView<float>> _dense;
    private readonly Action<Index2D, ArrayView<float>, int, int, int, ArrayView<float>, ArrayView<int>, int, ArrayView<int>> _codesKernel;
    private readonly Action<KernelConfig, ArrayView<int>, int, int, ArrayView<long>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int> _accumulate;
    private readonly Action<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<float>, int> _exclude;
    private readonly Action<KernelConfig, ArrayView<int>, int, ArrayView<long>, ArrayView<int>, ArrayView<float>, int, ArrayView<ulong>, int, int,
        ArrayView<ulong>, ArrayView<ulong>, ArrayView<int>> _select;

    /// <summary>Uploads <paramref name="index"/> to <paramref name="device"/> and loads the kernels.</summary>
    /// <param name="index">The index to serve; must outlive this searcher.</param>
    /// <param name="device">The accelerator.</param>
    /// <param name="maxBatch">Queries per device pass (device memory is about maxBatch × n_items × 4 bytes plus candidates).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxBatch"/> is not positive.</exception>
    /// <exception cref="NotSupportedException">The index has the attention query tower (format version 2), which only the CPU engine serves.</exception>
    public GpuSearcher(SparCodeIndex index, GpuDevice device, int maxBatch = 256)
    {
        ArgumentNullException.ThrowIfNull(index);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBatch);
        if (index.Tower.HasAttention)
        {
            // The device tower is the mean + MLP one; with TowerLayers = 0 it would silently serve the mean of the embeddings.
            throw new NotSupportedException($"'{index.File.Path}' has the attention query tower, which GpuSearcher does not implement; use the CPU SparCodeSearcher.");
        }
        _index = index;
        _device = device;
        _cpu = index.CreateSearcher();
        MaxBatch = maxBatch;
        var dims = index.Dimensions;
        var file = index.File;
        var accelerator = device.Accelerator;

        var tower = index.Tower;
        _embedding = Upload(tower.Embedding.ToArray());
        _layers = [.. tower.DenseLayers.Select(l => (Upload(l.Weights), Upload(l.Bias), l.Inputs, l.Outputs))];
        _maxWidth = _layers.Max(l => Math.Max(l.Inputs, l.Outputs));
        _codebooksT = Upload([.. tower.CodebooksTransposed.SelectMany(book => book)]);
        // An empty view tells the codes kernel there is no remap (buffers themselves are never empty).
        _remap = Upload(tower.CodeRemap.ToArray());
        _remapLength = tower.CodeRemap.Length;
        var offsets = file.PostingOffsets.ToArray();
        _offsets = Upload(offsets);
        _items = Upload(file.PostingItems.ToArray());
        _scores = Upload(file.PostingScores.ToArray());
        long longest = 0;
        for (int c = 0; c < dims.CodeCount; c++)
        {
            longest = Math.Max(longest, offsets[c + 1] - offsets[c]);
        }
        _candidateCapacity = (int)Math.Max(1, longest * dims.UserTokens);
        _accumulator = Allocate<float>((long)maxBatch * dims.ItemCount);
        _accumulator.MemSetToZero();
        _candidates = Allocate<ulong>((long)maxBatch * _candidateCapacity);
        _activationA = Allocate<float>((long)maxBatch * _maxWidth);
        _activationB = Allocate<float>((long)maxBatch * _maxWidth);
        _codes = Allocate<int>((long)maxBatch * dims.UserTokens);
        _counts = Allocate<int>(maxBatch);
        _historyItems = Scratch<int>();
        _historyOffsets = Scratch<int>();
        _excludedOwners = Scratch<int>();
        _excludedItems = Scratch<int>();
        _gathered = Scratch<ulong>();
        _results = Scratch<ulong>();

        _meanEmbedding = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, int, ArrayView<float>, int, ArrayView<float>>(SearchKernels.MeanEmbedding);
        // The fused multiply-add each backend can compile (IFusedMultiplyAdd): bit-identical with the CPU engine's.
        _dense = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, int, ArrayView<float>, ArrayView<float>, int, int, ArrayView<float>>(
            device.IsCuda ? SearchKernels.Dense<CudaFusedMultiplyAdd> : SearchKernels.Dense<CpuFusedMultiplyAdd>);
        _codesKernel = accelerator.LoadAutoGroupedStreamKernel<Index2D, ArrayView<float>, int, int, int, ArrayView<float>, ArrayView<int>, int, ArrayView<int>>(
            device.IsCuda ? SearchKernels.Codes<CudaFusedMultiplyAdd> : SearchKernels.Codes<CpuFusedMultiplyAdd>);
        _accumulate = accelerator.LoadStreamKernel<ArrayView<int>, int, int, ArrayView<long>, ArrayView<int>, ArrayView<float>, ArrayView<float>, int>(SearchKernels.AccumulateList);
        _exclude = accelerator.LoadAutoGroupedStreamKernel<Index1D, ArrayView<int>, ArrayView<int>, ArrayView<float>, int>(SearchKernels.Exclude);
        _select = accelerator.LoadStreamKernel<ArrayView<int>, int, ArrayView<long>, ArrayView<int>, ArrayView<float>, int, ArrayView<ulong>, int, int,
            ArrayView<ulong>, ArrayView<ulong>, ArrayView<int>>(SearchKernels.CollectAndSelect);
    }

    /// <summary>Queries per device pass.</summary>
    public int MaxBatch { get; }

    /// <summary>The device.</summary>
    public GpuDevice Device => _device;

    /// <summary>
    /// Computes the K_u codes of each history on the device (batched code lookup, query tower included).
    /// </summary>
    /// <param name="histories">All histories concatenated (external ids, oldest first).</param>
    /// <param name="offsets">Query count + 1 offsets into <paramref name="histories"/>.</param>
    /// <param name="codes">Receives query count × K_u codes.</param>
    /// <param name="unknownItems">What to do with unknown ids.</param>
    /// <exception cref="ArgumentException">Shapes disagree or a history has no known item.</exception>
    /// <exception cref="UnknownItemException">An id is unknown and <see cref="UnknownItemPolicy.Error"/> is in force.</exception>
    public void Encode(ReadOnlySpan<long> histories, ReadOnlySpan<int> offsets, Span<int> codes, UnknownItemPolicy unknownItems = UnknownItemPolicy.Error)
    {
        int tokens = _index.Dimensions.UserTokens;
        int queries = ServingRules.CheckOffsets(histories.Length, offsets);
        if (codes.Length < (long)queries * tokens)
        {
            throw new ArgumentException($"codes holds {codes.Length}; {queries} queries × K_u = {tokens} need {(long)queries * tokens}.", nameof(codes));
        }
        for (int first = 0; first < queries; first += MaxBatch)
        {
            int count = Math.Min(MaxBatch, queries - first);
            var batch = Resolve(histories, offsets, first, count, unknownItems, excludeHistory: false, out _);
            RunTower(batch, count);
            _codes.View.AsContiguous().SubView(0, (long)count * tokens).CopyToCPU(codes.Slice(first * tokens, count * tokens));
        }
    }

    /// <summary>
    /// Searches many histories; row q of <paramref name="ids"/> and <paramref name="scores"/> (k columns)
    /// receives query q's results, padded with id -1 and score -∞; <paramref name="counts"/> receives each count.
    /// </summary>
    /// <param name="histories">All histories concatenated (external ids, oldest first).</param>
    /// <param name="offsets">Query count + 1 offsets into <paramref name="histories"/>.</param>
    /// <param name="k">Results per query, 1..n_items.</param>
    /// <param name="ids">Receives query count × k ids.</param>
    /// <param name="scores">Receives query count × k scores.</param>
    /// <param name="counts">Receives query count result counts.</param>
    /// <param name="options">Search options (defaults if null).</param>
    /// <exception cref="ArgumentException">Shapes disagree or a history has no known item.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is not in 1..n_items.</exception>
    /// <exception cref="UnknownItemException">An id is unknown and <see cref="UnknownItemPolicy.Error"/> is in force.</exception>
    public void SearchBatch(ReadOnlySpan<long> histories, ReadOnlySpan<int> offsets, int k, Span<long> ids, Span<float> scores, Span<int> counts,
        SearchOptions? options = null)
    {
        options ??= SearchOptions.Default;
        var dims = _index.Dimensions;
        int queries = ServingRules.CheckBatch(histories.Length, offsets, k, dims.ItemCount, ids.Length, scores.Length, counts.Length);
        var gathered = _gathered.View((long)MaxBatch * k);
        var results = _results.View((long)MaxBatch * k);
        if (_keys.Length < (long)MaxBatch * k)
        {
            _keys = new ulong[(long)MaxBatch * k];
        }
        var keys = _keys;
        var external = _index.File.ExternalItemIds.Span;
        for (int first = 0; first < queries; first += MaxBatch)
        {
            int count = Math.Min(MaxBatch, queries - first);
            var batch = Resolve(histories, offsets, first, count, options.UnknownItems, options.ExcludeHistory, out var exclusions);
            RunTower(batch, count);
            var accelerator = _device.Accelerator;
            var perQuery = new KernelConfig(count, _device.GroupSize);
            for (int position = 0; position < dims.UserTokens; position++)
            {
                _accumulate(perQuery, _codes.View, dims.UserTokens, position, _offsets.View, _items.View, _scores.View, _accumulator.View, dims.ItemCount);
            }
            if (exclusions.Owners.Length > 0)
            {
                var owners = _excludedOwners.Upload(exclusions.Owners);
                var excluded = _excludedItems.Upload(exclusions.Items);
                _exclude(exclusions.Owners.Length, owners, excluded, _accumulator.View, dims.ItemCount);
                accelerator.Synchronize();
            }
            _select(perQuery, _codes.View, dims.UserTokens, _offsets.View, _items.View, _accumulator.View, dims.ItemCount, _candidates.View,
                _candidateCapacity, k, gathered, results, _counts.View);
            accelerator.Synchronize();
            var rowCounts = _counts.View.SubView(0, count).GetAsArray1D();
            results.AsContiguous().SubView(0, (long)count * k).CopyToCPU(keys.AsSpan(0, count * k));
            for (int q = 0; q < count; q++)
            {
                int row = first + q;
                var rowIds = ids.Slice(row * k, k);
                var rowScores = scores.Slice(row * k, k);
                int n = rowCounts[q];
                for (int i = 0; i < n; i++)
                {
                    ulong key = keys[(long)q * k + i];
                    rowIds[i] = external[(int)~(uint)key];
                    rowScores[i] = BitConverter.Int32BitsToSingle((int)(key >> 32));
                }
                if (n < k && options.FillToK)
                {
                    n = _cpu.Search(histories[offsets[row]..offsets[row + 1]], k, rowIds, rowScores, options);
                }
                rowIds[n..].Fill(-1);
                rowScores[n..].Fill(float.NegativeInfinity);
                counts[row] = n;
            }
        }
    }

    /// <summary>Uploads the batch's internal history ids and runs mean → MLP → heads → codes into <see cref="_codes"/>.</summary>
    private void RunTower((int[] Items, int[] Offsets) batch, int count)
    {
        var dims = _index.Dimensions;
        var items = _historyItems.Upload(batch.Items);
        var offsets = _historyOffsets.Upload(batch.Offsets);
        _meanEmbedding(count * dims.EmbeddingDim, items, offsets, dims.HistoryLength, _embedding.View, dims.EmbeddingDim, _activationA.View);
        var input = _activationA;
        var output = _activationB;
        for (int l = 0; l < _layers.Length; l++)
        {
            var (weightsT, bias, inputs, outputs) = _layers[l];
            bool relu = l < _layers.Length - 2;
            _dense(count * outputs, input.View, inputs, weightsT.View, bias.View, outputs, relu ? 1 : 0, output.View);
            (input, output) = (output, input);
        }
        _codesKernel(new Index2D(count, dims.UserTokens), input.View, dims.TokenDim, dims.Subspaces, dims.CodebookSize, _codebooksT.View, _remap.View.AsContiguous().SubView(0, _remapLength),
            dims.UserTokens, _codes.View);
        _device.Accelerator.Synchronize();
    }

    /// <summary>Maps external ids to internal ones on the host, by the CPU searcher's rules (<see cref="ServingRules.ResolveHistory"/>).</summary>
    private (int[] Items, int[] Offsets) Resolve(ReadOnlySpan<long> histories, ReadOnlySpan<int> offsets, int first, int count, UnknownItemPolicy policy,
        bool excludeHistory, out (int[] Owners, int[] Items) exclusions)
    {
        var map = _index.File.ItemIds;
        var items = new int[offsets[first + count] - offsets[first]];
        var batchOffsets = new int[count + 1];
        var owners = new List<int>();
        for (int q = 0; q < count; q++)
        {
            int from = offsets[first + q], to = offsets[first + q + 1];
            int known;
            try
            {
                known = ServingRules.ResolveHistory(map, histories[from..to], policy, items.AsSpan(batchOffsets[q]));
            }
            catch (ArgumentException e)
            {
                throw ServingRules.InQuery(e, first + q, from, to);
            }
            batchOffsets[q + 1] = batchOffsets[q] + known;
            if (excludeHistory)
            {
                owners.AddRange(Enumerable.Repeat(q, known));
            }
        }
        var resolved = items[..batchOffsets[count]];
        exclusions = excludeHistory ? ([.. owners], resolved) : ([], []);
        return (resolved, batchOffsets);
    }

    private MemoryBuffer1D<T, Stride1D.Dense> Upload<T>(T[] data) where T : unmanaged
    {
        var buffer = _device.Accelerator.Allocate1D(data.Length == 0 ? new T[1] : data);
        _buffers.Add(buffer);
        return buffer;
    }

    private DeviceScratch<T> Scratch<T>() where T : unmanaged
    {
        var scratch = new DeviceScratch<T>(_device.Accelerator);
        _buffers.Add(scratch);
        return scratch;
    }

    private MemoryBuffer1D<T, Stride1D.Dense> Allocate<T>(long length) where T : unmanaged
    {
        var buffer = _device.Accelerator.Allocate1D<T>(Math.Max(1, length));
        _buffers.Add(buffer);
        return buffer;
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        foreach (var buffer in _buffers)
        {
            buffer.Dispose();
        }
        _buffers.Clear();
    }
}
