using SparCode.Kernels.Gpu;

namespace SparCode.Engine.Gpu;

/// <summary>
/// The plain CPU reference of <see cref="GpuRefiner"/> for differential tests: every pair through
/// <see cref="InteractionMlp.ScoreReference"/> (double precision inside), the K_u token scores summed in double,
/// then the same top-k rule (score descending, ties by the smaller item id).
/// </summary>
public static class RefineReference
{
    /// <summary>Same contract as <see cref="GpuRefiner.Refine"/>, with the item tokens passed in.</summary>
    /// <param name="mlp">The interaction MLP.</param>
    /// <param name="itemTokens">Row-major <c>n_items × ItemDim</c>.</param>
    /// <param name="tokens">Unquantized user tokens, <c>queries·tokensPerQuery × D</c>.</param>
    /// <param name="tokensPerQuery">K_u.</param>
    /// <param name="offsets">Candidate offsets, <c>queries + 1</c>.</param>
    /// <param name="candidates">Internal item ids, distinct within a query.</param>
    /// <param name="k">Results per query.</param>
    /// <param name="ids">Receives <c>queries·k</c> ids.</param>
    /// <param name="scores">Receives <c>queries·k</c> scores.</param>
    /// <param name="counts">Receives each query's result count.</param>
    /// <exception cref="ArgumentException">As <see cref="GpuRefiner.Refine"/>.</exception>
    public static void Refine(InteractionMlp mlp, ReadOnlySpan<float> itemTokens, ReadOnlySpan<float> tokens, int tokensPerQuery,
        ReadOnlySpan<int> offsets, ReadOnlySpan<int> candidates, int k, Span<int> ids, Span<float> scores, Span<int> counts)
    {
        ArgumentNullException.ThrowIfNull(mlp);
        if (itemTokens.IsEmpty || itemTokens.Length % mlp.ItemDim != 0)
        {
            throw new ArgumentException($"itemTokens has {itemTokens.Length} floats; expected a positive multiple of {mlp.ItemDim}.", nameof(itemTokens));
        }
        int queries = Check(mlp.TokenDim, itemTokens.Length / mlp.ItemDim, tokens, tokensPerQuery, offsets, candidates, k, ids, scores, counts);
        var total = new float[candidates.Length];
        for (int q = 0; q < queries; q++)
        {
            for (int j = offsets[q]; j < offsets[q + 1]; j++)
            {
                double sum = 0;
                for (int t = 0; t < tokensPerQuery; t++)
                {
                    sum += mlp.ScoreReference(tokens.Slice((q * tokensPerQuery + t) * mlp.TokenDim, mlp.TokenDim),
                        itemTokens.Slice(candidates[j] * mlp.ItemDim, mlp.ItemDim));
                }
                total[j] = (float)sum;
            }
        }
        SelectTop(offsets, candidates, total, k, ids, scores, counts);
    }

    /// <summary>Validates a refine call's arguments; returns the query count.</summary>
    internal static int Check(int tokenDim, int itemCount, ReadOnlySpan<float> tokens, int tokensPerQuery, ReadOnlySpan<int> offsets,
        ReadOnlySpan<int> candidates, int k, ReadOnlySpan<int> ids, ReadOnlySpan<float> scores, ReadOnlySpan<int> counts)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(tokensPerQuery);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        int queries = offsets.Length - 1;
        if (queries < 1 || offsets[0] != 0 || offsets[queries] != candidates.Length)
        {
            throw new ArgumentException($"offsets has {offsets.Length} entries from {(offsets.IsEmpty ? "none" : offsets[0])} to {(offsets.IsEmpty ? "none" : offsets[^1])}; expected queries + 1 ≥ 2 entries from 0 to the {candidates.Length} candidates.", nameof(offsets));
        }
        if (tokens.Length != (long)queries * tokensPerQuery * tokenDim)
        {
            throw new ArgumentException($"tokens has {tokens.Length} floats; expected {queries} queries × {tokensPerQuery} tokens × {tokenDim}.", nameof(tokens));
        }
        if (ids.Length < (long)queries * k || scores.Length < (long)queries * k || counts.Length < queries)
        {
            throw new ArgumentException($"ids ({ids.Length}), scores ({scores.Length}) and counts ({counts.Length}) must hold {queries} × {k} results and {queries} counts.");
        }
        var seen = new HashSet<int>();
        for (int q = 0; q < queries; q++)
        {
            if (offsets[q + 1] < offsets[q])
            {
                throw new ArgumentException($"offsets[{q + 1}] = {offsets[q + 1]} is below offsets[{q}] = {offsets[q]}; expected non-decreasing offsets.", nameof(offsets));
            }
            seen.Clear();
            for (int j = offsets[q]; j < offsets[q + 1]; j++)
            {
                int item = candidates[j];
                if ((uint)item >= (uint)itemCount)
                {
                    throw new ArgumentException($"Candidate {j} of query {q} is item {item}; expected 0..{itemCount - 1}.", nameof(candidates));
                }
                if (!seen.Add(item))
                {
                    throw new ArgumentException($"Query {q} lists item {item} twice (candidate {j}); expected distinct candidates.", nameof(candidates));
                }
            }
        }
        return queries;
    }

    /// <summary>Top-k of each query's candidates by <paramref name="total"/>, descending, ties by the smaller id; pads with −1 / 0.</summary>
    internal static void SelectTop(ReadOnlySpan<int> offsets, ReadOnlySpan<int> candidates, ReadOnlySpan<float> total, int k,
        Span<int> ids, Span<float> scores, Span<int> counts)
    {
        for (int q = 0; q + 1 < offsets.Length; q++)
        {
            int start = offsets[q], length = offsets[q + 1] - start;
            var order = new (float Score, int Id)[length];
            for (int j = 0; j < length; j++)
            {
                order[j] = (total[start + j], candidates[start + j]);
            }
            Array.Sort(order, static (a, b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Id.CompareTo(b.Id));
            int n = Math.Min(k, length);
            counts[q] = n;
            for (int r = 0; r < k; r++)
            {
                ids[q * k + r] = r < n ? order[r].Id : -1;
                scores[q * k + r] = r < n ? order[r].Score : 0f;
            }
        }
    }
}
