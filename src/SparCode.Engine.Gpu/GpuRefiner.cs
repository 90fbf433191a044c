using ILGPU;
using SparCode.Format;
using SparCode.Kernels.Gpu;

namespace SparCode.Engine.Gpu;

/// <summary>
/// The refine stage on an accelerator: re-scores each query's candidates with its unquantized user tokens,
/// <c>y(q, i) = Σ_k f([z_{q,k} ; v_i])</c>, and keeps the top-k (score descending, ties by the smaller item id).
/// </summary>
/// <remarks>
/// The constructor uploads the MLP and computes every item's first-layer part <c>W_v·v_i + b₁</c> once on the
/// device (n_items × H₁ floats stay there); each call computes <c>W_u·z</c> for the batch's tokens, scores the
/// (token, candidate) pairs through the remaining layers on the device, and sums the K_u token scores in token
/// order and selects the top-k of each query on the host (k ≤ candidates, a few hundred to thousands per query:
/// small next to the MLP). <see cref="RefineReference"/> is the plain CPU version. Not thread-safe.
/// </remarks>
public sealed class GpuRefiner : IDisposable
{
    private readonly GpuInteractionScorer _scorer;
    /// <summary>The item side of the first layer, in the scorer's item buffer: this refiner owns its scorer and never asks it for another item part.</summary>
    private readonly ArrayView<float> _itemPart;

    /// <summary>Uploads the MLP and the item tokens, and computes the item side of the first layer.</summary>
    /// <param name="device">The accelerator.</param>
    /// <param name="mlp">The interaction MLP.</param>
    /// <param name="itemTokens">Row-major <c>n_items × ItemDim</c> item tokens v_i (row = internal item id).</param>
    /// <param name="maxPairs">(token, candidate) pairs per device pass.</param>
    /// <exception cref="ArgumentException">The MLP is inconsistent or the item tokens are not whole rows.</exception>
    public GpuRefiner(GpuDevice device, InteractionMlp mlp, ReadOnlySpan<float> itemTokens, int maxPairs = 1 << 16)
    {
        _scorer = new GpuInteractionScorer(device, mlp, maxPairs);
        try
        {
            _itemPart = _scorer.ItemPart(itemTokens);
        }
        catch
        {
            _scorer.Dispose();
            throw;
        }
        ItemCount = itemTokens.Length / mlp.ItemDim;
    }

    /// <summary>A refiner for an index file exported with refine sections.</summary>
    /// <exception cref="InvalidOperationException">The file has no refine sections.</exception>
    public static GpuRefiner FromIndex(GpuDevice device, IndexFile file, int maxPairs = 1 << 16)
    {
        ArgumentNullException.ThrowIfNull(file);
        var mlp = RefineMlp.FromIndex(file);
        return new GpuRefiner(device, mlp, file.ItemTokens.Span, maxPairs);
    }

    /// <summary>Catalogue size (item token rows).</summary>
    public int ItemCount { get; }

    /// <summary>Size of one user token, D.</summary>
    public int TokenDim => _scorer.Mlp.TokenDim;

    /// <summary>
    /// Re-scores and re-ranks a batch. Query q's candidates are <c>candidates[offsets[q] .. offsets[q + 1])</c>
    /// (internal item ids, distinct within a query) and its tokens are rows <c>q·tokensPerQuery ..</c> of
    /// <paramref name="tokens"/>. Output row q (<paramref name="k"/> slots at <c>q·k</c>) receives the top
    /// <c>counts[q] = min(k, candidates)</c> ids and scores, best first, ties by the smaller id; slots past
    /// <c>counts[q]</c> get id −1 and score 0.
    /// </summary>
    /// <param name="tokens">Unquantized user tokens, row-major <c>queries·tokensPerQuery × D</c>.</param>
    /// <param name="tokensPerQuery">K_u.</param>
    /// <param name="offsets">Candidate offsets, <c>queries + 1</c> entries from 0, non-decreasing.</param>
    /// <param name="candidates">Internal item ids.</param>
    /// <param name="k">Results per query.</param>
    /// <param name="ids">Receives <c>queries·k</c> internal ids.</param>
    /// <param name="scores">Receives <c>queries·k</c> scores.</param>
    /// <param name="counts">Receives each query's result count.</param>
    /// <exception cref="ArgumentException">A size disagrees, an offset or id is out of range, or a query lists an id twice.</exception>
    public void Refine(ReadOnlySpan<float> tokens, int tokensPerQuery, ReadOnlySpan<int> offsets, ReadOnlySpan<int> candidates, int k,
        Span<int> ids, Span<float> scores, Span<int> counts)
    {
        int queries = RefineReference.Check(TokenDim, ItemCount, tokens, tokensPerQuery, offsets, candidates, k, ids, scores, counts);
        int pairs = candidates.Length * tokensPerQuery;
        var tokenOfPair = new int[pairs];
        var itemOfPair = new int[pairs];
        for (int q = 0; q < queries; q++)
        {
            for (int j = offsets[q]; j < offsets[q + 1]; j++)
            {
                for (int t = 0; t < tokensPerQuery; t++)
                {
                    tokenOfPair[j * tokensPerQuery + t] = q * tokensPerQuery + t;
                    itemOfPair[j * tokensPerQuery + t] = candidates[j];
                }
            }
        }
        var pairScores = new float[pairs];
        if (pairs > 0)
        {
            _scorer.ScorePairs(_scorer.UserPart(tokens), _itemPart, tokenOfPair, itemOfPair, pairScores);
        }
        var total = new float[candidates.Length];
        for (int j = 0; j < total.Length; j++)
        {
            float sum = 0f;
            for (int t = 0; t < tokensPerQuery; t++)
            {
                sum += pairScores[j * tokensPerQuery + t];
            }
            total[j] = sum;
        }
        RefineReference.SelectTop(offsets, candidates, total, k, ids, scores, counts);
    }

    /// <summary>Frees the device buffers.</summary>
    public void Dispose()
    {
        _scorer.Dispose();
    }
}
