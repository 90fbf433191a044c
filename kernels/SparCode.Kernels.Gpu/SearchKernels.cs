using ILGPU;

namespace SparCode.Kernels.Gpu;

/// <summary>
/// The device kernels of batched search. Each reproduces the CPU engine's arithmetic in the same
/// order (fused multiply-adds in input order, posting lists added token by token), so scores,
/// codes and rankings are identical to <c>SparCodeSearcher</c>'s. Kernels that multiply-add take the fused
/// multiply-add of their backend as a type parameter (<see cref="IFusedMultiplyAdd"/>).
/// </summary>
internal static class SearchKernels
{
    /// <summary>
    /// X[b, j] = mean over the last L history items of embedding row (item + 1), one thread per (b, j) at linear
    /// index b·dim + j, so neighbouring threads read neighbouring floats of an embedding row.
    /// History items are CSR: query b owns items[offsets[b] .. offsets[b + 1]).
    /// </summary>
    public static void MeanEmbedding(Index1D index, ArrayView<int> items, ArrayView<int> offsets, int historyLength,
        ArrayView<float> embedding, int dim, ArrayView<float> output)
    {
        int b = index / dim, j = index - b * dim;
        int end = offsets[b + 1];
        int start = Math.Max(offsets[b], end - historyLength);
        float sum = 0f;
        for (int i = start; i < end; i++)
        {
            sum += embedding[((long)items[i] + 1) * dim + j];
        }
        output[index] = sum * (1f / (end - start));
    }

    /// <summary>
    /// Y[b, o] = act(bias[o] + Σ_j W^T[j, o] · X[b, j]), fused multiply-adds in j order; one thread per (b, o) at linear
    /// index b·outputs + o, so neighbouring threads read neighbouring weights and write neighbouring outputs.
    /// </summary>
    public static void Dense<TFma>(Index1D index, ArrayView<float> input, int inputs, ArrayView<float> weightsTransposed,
        ArrayView<float> bias, int outputs, int relu, ArrayView<float> output) where TFma : struct, IFusedMultiplyAdd
    {
        int b = index / outputs, o = index - b * outputs;
        float a = bias[o];
        long row = (long)b * inputs;
        for (int j = 0; j < inputs; j++)
        {
            a = default(TFma).Apply(weightsTransposed[(long)j * outputs + o], input[row + j], a);
        }
        output[index] = relu != 0 && !(a > 0f) ? 0f : a;
    }

    /// <summary>
    /// Code of token (b, k): per subspace m the nearest codeword (squared L2 over the sub-vector, fused
    /// multiply-adds in dimension order, first minimum wins), combined as Σ_m j_m·K_c^m, then remapped.
    /// Codebook m is stored transposed at [m · sub · K_c + j · K_c + r]. One thread per (b, k).
    /// </summary>
    public static void Codes<TFma>(Index2D index, ArrayView<float> tokens, int tokenDim, int subspaces, int codebookSize,
        ArrayView<float> codebooksTransposed, ArrayView<int> remap, int userTokens, ArrayView<int> codes) where TFma : struct, IFusedMultiplyAdd
    {
        int b = index.X, k = index.Y;
        int sub = tokenDim / subspaces;
        long token = ((long)b * userTokens + k) * tokenDim;
        int code = 0, stride = 1;
        for (int m = 0; m < subspaces; m++)
        {
            long book = (long)m * sub * codebookSize;
            int best = 0;
            float bestDistance = float.PositiveInfinity;
            for (int r = 0; r < codebookSize; r++)
            {
                float acc = 0f;
                for (int j = 0; j < sub; j++)
                {
                    float d = tokens[token + m * sub + j] - codebooksTransposed[book + (long)j * codebookSize + r];
                    acc = default(TFma).Apply(d, d, acc);
                }
                if (acc < bestDistance)
                {
                    bestDistance = acc;
                    best = r;
                }
            }
            code += best * stride;
            stride *= codebookSize;
        }
        codes[(long)b * userTokens + k] = remap.Length > 0 ? remap[code] : code;
    }

    /// <summary>
    /// Adds query b's list of scan position <paramref name="position"/> into its accumulator row; one group
    /// per query. The lists go shortest first, ties by token position, as in
    /// <c>SparCodeSearcher.SortByListLength</c>: launching positions one after another keeps the CPU's
    /// summation order. Ids are distinct within a list, so no atomics are needed.
    /// </summary>
    public static void AccumulateList(ArrayView<int> codes, int userTokens, int position, ArrayView<long> postingOffsets,
        ArrayView<int> postingItems, ArrayView<float> postingScores, ArrayView<float> accumulator, int itemCount)
    {
        int b = Grid.IdxX;
        long first = (long)b * userTokens;
        int code = codes[first + ScanToken(codes, first, userTokens, position, postingOffsets)];
        long start = postingOffsets[code], end = postingOffsets[code + 1];
        long row = (long)b * itemCount;
        for (long p = start + Group.IdxX; p < end; p += Group.DimX)
        {
            accumulator[row + postingItems[p]] += postingScores[p];
        }
    }

    /// <summary>The token whose list is <paramref name="position"/>-th by (list length, token position).</summary>
    private static int ScanToken(ArrayView<int> codes, long first, int userTokens, int position, ArrayView<long> postingOffsets)
    {
        for (int t = 0; t < userTokens; t++)
        {
            long length = ListLength(codes[first + t], postingOffsets);
            int rank = 0;
            for (int u = 0; u < userTokens; u++)
            {
                long other = ListLength(codes[first + u], postingOffsets);
                if (other < length || (other == length && u < t))
                {
                    rank++;
                }
            }
            if (rank == position)
            {
                return t;
            }
        }
        return 0;
    }

    private static long ListLength(int code, ArrayView<long> postingOffsets) => postingOffsets[code + 1] - postingOffsets[code];

    /// <summary>Zeroes excluded items: entry e excludes item items[e] for query owners[e].</summary>
    public static void Exclude(Index1D e, ArrayView<int> owners, ArrayView<int> items, ArrayView<float> accumulator, int itemCount) =>
        accumulator[(long)owners[e] * itemCount + items[e]] = 0f;

    /// <summary>
    /// Top-k of query b (one group per query): (1) every posting of the query's lists swaps its
    /// accumulator slot with 0 — the first reader of an item gets its score, later readers get 0, and
    /// the row is left clean — and stores the 64-bit key (score bits, ~item) in a candidate slot;
    /// (2) a radix select (8 passes of 8-bit digits over a shared 256-bin histogram) finds the k-th
    /// largest key; (3) keys at or above it are gathered and ranked by counting. Keys are distinct
    /// (distinct items), so the order (score descending, item ascending) is deterministic.
    /// </summary>
    public static void CollectAndSelect(ArrayView<int> codes, int userTokens, ArrayView<long> postingOffsets, ArrayView<int> postingItems,
        ArrayView<float> accumulator, int itemCount, ArrayView<ulong> candidates, int candidateCapacity, int k,
        ArrayView<ulong> gathered, ArrayView<ulong> results, ArrayView<int> counts)
    {
        var histogram = SharedMemory.Allocate<int>(256);
        var state = SharedMemory.Allocate<ulong>(3); // 0: prefix, 1: mask, 2: remaining
        var total = SharedMemory.Allocate<int>(1);
        int b = Grid.IdxX, t = Group.IdxX, threads = Group.DimX;
        long row = (long)b * itemCount;
        long candidateRow = (long)b * candidateCapacity;

        // (1) Collect, deduplicate and clear.
        int slot = 0;
        for (int token = 0; token < userTokens; token++)
        {
            int code = codes[(long)b * userTokens + token];
            long start = postingOffsets[code];
            int length = (int)(postingOffsets[code + 1] - start);
            for (int p = t; p < length; p += threads)
            {
                int item = postingItems[start + p];
                float value = Atomic.Exchange(ref accumulator[row + item], 0f);
                candidates[candidateRow + slot + p] = value > 0f
                    ? ((ulong)(uint)BitConverter.SingleToInt32Bits(value) << 32) | (uint)~item
                    : 0UL;
            }
            slot += length;
        }
        if (t == 0)
        {
            total[0] = 0;
        }
        Group.Barrier();
        int local = 0;
        for (int i = t; i < slot; i += threads)
        {
            local += candidates[candidateRow + i] != 0UL ? 1 : 0;
        }
        Atomic.Add(ref total[0], local);
        if (t == 0)
        {
            state[0] = 0UL;
            state[1] = 0UL;
        }
        Group.Barrier();
        int positives = total[0];
        int wanted = Math.Min(k, positives);
        // Every thread must read the count before thread 0 reuses the slot below.
        Group.Barrier();
        if (t == 0)
        {
            state[2] = (ulong)wanted;
        }

        // (2) Radix select of the wanted-th largest key, most significant digit first.
        if (positives > k)
        {
            for (int digit = 7; digit >= 0; digit--)
            {
                for (int i = t; i < 256; i += threads)
                {
                    histogram[i] = 0;
                }
                Group.Barrier();
                ulong prefix = state[0], mask = state[1];
                for (int i = t; i < slot; i += threads)
                {
                    ulong key = candidates[candidateRow + i];
                    if (key != 0UL && (key & mask) == prefix)
                    {
                        Atomic.Add(ref histogram[(int)((key >> (8 * digit)) & 255UL)], 1);
                    }
                }
                Group.Barrier();
                if (t == 0)
                {
                    ulong remaining = state[2];
                    int bucket = 255;
                    while ((ulong)histogram[bucket] < remaining)
                    {
                        remaining -= (ulong)histogram[bucket];
                        bucket--;
                    }
                    state[0] = prefix | ((ulong)bucket << (8 * digit));
                    state[1] = mask | (255UL << (8 * digit));
                    state[2] = remaining;
                }
                Group.Barrier();
            }
        }
        ulong threshold = positives > k ? state[0] : 1UL;

        // (3) Gather the keys at or above the threshold, then rank them by counting.
        if (t == 0)
        {
            total[0] = 0;
        }
        Group.Barrier();
        long outRow = (long)b * k;
        for (int i = t; i < slot; i += threads)
        {
            ulong key = candidates[candidateRow + i];
            if (key >= threshold && key != 0UL)
            {
                gathered[outRow + Atomic.Add(ref total[0], 1)] = key;
            }
        }
        Group.Barrier();
        for (int i = t; i < wanted; i += threads)
        {
            ulong key = gathered[outRow + i];
            int rank = 0;
            for (int j = 0; j < wanted; j++)
            {
                rank += gathered[outRow + j] > key ? 1 : 0;
            }
            results[outRow + rank] = key;
        }
        if (t == 0)
        {
            counts[b] = wanted;
        }
    }
}
