using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SparCode.Training;

/// <summary>
/// A query tower over right-padded histories (embedding rows, 0 = padding after the last real item). Both
/// towers are causal: the state at position t depends only on the items at positions ≤ t (at most the last
/// <see cref="TrainOptions.HistoryLength"/> of them), so one pass trains every next-item prediction of a window.
/// </summary>
internal abstract class QueryTower : nn.Module
{
    protected QueryTower(string name) : base(name)
    {
    }

    /// <summary>States [B, T, d] at every position (training: one per next-item prediction).</summary>
    /// <param name="history">Embedding rows [B, T], right-padded with 0.</param>
    /// <param name="embedded">Their embeddings [B, T, d] (padding rows are zero).</param>
    public abstract Tensor States(Tensor history, Tensor embedded);

    /// <summary>The user vector [B, d]: the state at each row's last real item (every row has at least one).</summary>
    public abstract Tensor Last(Tensor history, Tensor embedded);

    /// <summary>The states [P, d] at the flat positions <paramref name="where"/> [P] of [B, T] only (training's target positions).</summary>
    public virtual Tensor At(Tensor history, Tensor embedded, Tensor where)
    {
        using var states = States(history, embedded);
        using var flat = states.view(history.shape[0] * history.shape[1], -1);
        return flat.index_select(0, where);
    }

    /// <summary>Builds the tower <paramref name="o"/> names.</summary>
    public static QueryTower Create(TrainOptions o) => o.Tower == TowerKind.Attention
        ? new SelfAttentionTower(o.EmbeddingDim, o.HistoryLength, o.Blocks, o.Heads, o.FeedForward, o.Dropout, o.EmbeddingInitStd)
        : new MeanTower(o.EmbeddingDim, o.HistoryLength, o.TowerWidth, o.Dropout);
}

/// <summary>
/// The spec's query tower: masked mean of the last L item embeddings, then an MLP <c>d → w → w → w → d</c>
/// with ReLU and dropout after each hidden layer (none after the last).
/// </summary>
internal sealed class MeanTower : QueryTower
{
    private readonly int _length;
    private readonly Linear _l0;
    private readonly Linear _l1;
    private readonly Linear _l2;
    private readonly Linear _l3;
    private readonly Dropout _dropout;

    public MeanTower(int d, int length, int width, double dropout) : base(nameof(MeanTower))
    {
        _length = length;
        _l0 = nn.Linear(d, width);
        _l1 = nn.Linear(width, width);
        _l2 = nn.Linear(width, width);
        _l3 = nn.Linear(width, d);
        _dropout = nn.Dropout(dropout);
        RegisterComponents();
        Init.He(_l0, Math.Sqrt(2));
        Init.He(_l1, Math.Sqrt(2));
        Init.He(_l2, Math.Sqrt(2));
        Init.He(_l3, 1);
    }

    public Linear[] Layers => [_l0, _l1, _l2, _l3];

    /// <summary>Sliding masked mean over the last L positions (prefix sums), then the MLP at every position.</summary>
    public override Tensor States(Tensor history, Tensor embedded)
    {
        using var scope = NewDisposeScope();
        return Mlp(SlidingMean(history, embedded)).MoveToOuterDisposeScope();
    }

    /// <summary>The MLP runs on the target positions only (a window's context positions only feed the means).</summary>
    public override Tensor At(Tensor history, Tensor embedded, Tensor where)
    {
        using var scope = NewDisposeScope();
        var means = SlidingMean(history, embedded).view(history.shape[0] * history.shape[1], -1).index_select(0, where);
        return Mlp(means).MoveToOuterDisposeScope();
    }

    private Tensor SlidingMean(Tensor history, Tensor embedded)
    {
        using var scope = NewDisposeScope();
        long b = history.shape[0], t = history.shape[1], d = embedded.shape[2];
        var mask = Mask(history);
        var sum = (embedded * mask).cumsum(1L);
        var count = mask.cumsum(1L);
        if (t > _length)
        {
            // Window [t − L + 1, t]: subtract the prefix sum that ends L positions earlier.
            sum = sum - cat([zeros(b, _length, d), sum.narrow(1, 0, t - _length)], 1);
            count = count - cat([zeros(b, _length, 1), count.narrow(1, 0, t - _length)], 1);
        }
        return (sum / count.clamp_min(1f)).MoveToOuterDisposeScope();
    }

    /// <summary>Masked mean over the whole row (the caller passes at most the last L items), then the MLP.</summary>
    public override Tensor Last(Tensor history, Tensor embedded)
    {
        using var scope = NewDisposeScope();
        var mask = Mask(history);
        var sum = (embedded * mask).sum(1L);
        var count = mask.sum(1L).clamp_min(1f);
        return Mlp(sum / count).MoveToOuterDisposeScope();
    }

    private static Tensor Mask(Tensor history)
    {
        // An explicit, disposed Scalar: an implicitly converted one can be finalized while libtorch still
        // reads it (TorchSharp PR 1434; perf/results/2026-12-02-code-notes).
        using var padding = (TorchSharp.Scalar)0L;
        return history.ne(padding).unsqueeze(-1).to_type(ScalarType.Float32);
    }

    private Tensor Mlp(Tensor x)
    {
        foreach (var layer in new[] { _l0, _l1, _l2 })
        {
            x = _dropout.forward(nn.functional.relu(layer.forward(x)));
        }
        return _l3.forward(x);
    }
}

/// <summary>
/// A SASRec-style causal self-attention tower (Kang &amp; McAuley, ICDM 2018), pre-LayerNorm: the item embedding
/// plus a learned position embedding (row 0 = the oldest kept item), N blocks of
/// <c>x += MHA(LN(x))</c> and <c>x += W₂·ReLU(W₁·LN(x))</c> under the causal mask, then a final LayerNorm.
/// Dropout on the input, the attention weights and each residual branch. The engine computes the same
/// function (index sections 20–29).
/// </summary>
internal sealed class SelfAttentionTower : QueryTower
{
    private readonly Embedding _positions;
    private readonly Dropout _dropout;
    private readonly ModuleList<SelfAttentionBlock> _blocks;
    private readonly LayerNorm _final;

    public SelfAttentionTower(int d, int length, int blocks, int heads, int feedForward, double dropout, double positionStd) : base(nameof(SelfAttentionTower))
    {
        _positions = nn.Embedding(length, d);
        _dropout = nn.Dropout(dropout);
        _blocks = nn.ModuleList([.. Enumerable.Range(0, blocks).Select(_ => new SelfAttentionBlock(d, heads, feedForward, dropout))]);
        _final = nn.LayerNorm(d, eps: LayerNormEpsilon);
        RegisterComponents();
        using (no_grad())
        {
            nn.init.normal_(_positions.weight!, 0, positionStd);
        }
    }

    /// <summary>LayerNorm epsilon: the index format's, which the engine uses.</summary>
    public const double LayerNormEpsilon = SparCode.Format.IndexLayout.LayerNormEpsilon;

    public Embedding Positions => _positions;

    public IReadOnlyList<SelfAttentionBlock> Blocks => [.. _blocks];

    public LayerNorm Final => _final;

    public override Tensor States(Tensor history, Tensor embedded)
    {
        using var scope = NewDisposeScope();
        long t = history.shape[1];
        var x = _dropout.forward(embedded + _positions.weight!.narrow(0, 0, t).unsqueeze(0));
        foreach (var block in _blocks)
        {
            x = block.forward(x);
        }
        return _final.forward(x).MoveToOuterDisposeScope();
    }

    public override Tensor Last(Tensor history, Tensor embedded)
    {
        using var scope = NewDisposeScope();
        using var padding = (TorchSharp.Scalar)0L;
        long d = embedded.shape[2];
        var last = (history.ne(padding).sum(1L) - 1L).clamp_min(0L).view(-1, 1, 1).expand(-1, 1, d);
        return States(history, embedded).gather(1, last).squeeze(1).MoveToOuterDisposeScope();
    }
}

/// <summary>One pre-LayerNorm transformer block with causal multi-head self-attention and a ReLU feed-forward layer.</summary>
internal sealed class SelfAttentionBlock : nn.Module<Tensor, Tensor>
{
    private readonly int _heads;
    private readonly double _dropoutRate;
    private readonly LayerNorm _norm1;
    private readonly Linear _in;
    private readonly Linear _out;
    private readonly LayerNorm _norm2;
    private readonly Linear _ff1;
    private readonly Linear _ff2;
    private readonly Dropout _dropout;

    public SelfAttentionBlock(int d, int heads, int feedForward, double dropout) : base(nameof(SelfAttentionBlock))
    {
        _heads = heads;
        _dropoutRate = dropout;
        _norm1 = nn.LayerNorm(d, eps: SelfAttentionTower.LayerNormEpsilon);
        _in = nn.Linear(d, 3 * d);
        _out = nn.Linear(d, d);
        _norm2 = nn.LayerNorm(d, eps: SelfAttentionTower.LayerNormEpsilon);
        _ff1 = nn.Linear(d, feedForward);
        _ff2 = nn.Linear(feedForward, d);
        _dropout = nn.Dropout(dropout);
        RegisterComponents();
        Init.He(_in, 1);
        Init.He(_out, 1);
        Init.He(_ff1, Math.Sqrt(2));
        Init.He(_ff2, 1);
    }

    /// <summary>Before attention, the q/k/v projection (3d × d: q rows, then k, then v), the output projection, before the FFN, FFN layers.</summary>
    public (LayerNorm Norm1, Linear In, Linear Out, LayerNorm Norm2, Linear FeedForward1, Linear FeedForward2) Parts => (_norm1, _in, _out, _norm2, _ff1, _ff2);

    public override Tensor forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        long b = x.shape[0], t = x.shape[1], d = x.shape[2];
        long dh = d / _heads;
        var qkv = _in.forward(_norm1.forward(x)).view(b, t, 3, _heads, dh).permute(2, 0, 3, 1, 4);
        var attended = nn.functional.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2], p: training ? _dropoutRate : 0, is_casual: true);
        x = x + _dropout.forward(_out.forward(attended.transpose(1, 2).reshape(b, t, d)));
        var hidden = _dropout.forward(nn.functional.relu(_ff1.forward(_norm2.forward(x))));
        return (x + _dropout.forward(_ff2.forward(hidden))).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// Weight initialization (ours). TorchSharp's default Linear init (uniform ±1/√fan_in) shrinks the
/// standard deviation of a ReLU layer's output at every layer and adds biases of about the size of the
/// signal, so after the tower and the token heads almost nothing of a token depends on the user and every
/// user lands on the same codes. He-normal weights (std gain/√fan_in) with zero biases keep the scale through
/// the layers (docs/method.md#initialization; the measurement: perf/results/2026-12-02-code-notes).
/// </summary>
internal static class Init
{
    /// <summary>Weights N(0, (gain/√fanIn)²) (fanIn defaults to the layer's own input size); bias zero.</summary>
    public static void He(Linear layer, double gain, long fanIn = 0)
    {
        using var noGrad = no_grad();
        var w = layer.weight!;
        nn.init.normal_(w, 0, gain / Math.Sqrt(fanIn > 0 ? fanIn : w.shape[1]));
        layer.bias?.zero_();
    }
}

/// <summary>Common surface of the two models.</summary>
internal abstract class RecommenderNet : nn.Module
{
    protected RecommenderNet(string name) : base(name)
    {
    }

    /// <summary>The item embedding, <c>(n + 1) × d</c>, row 0 padding.</summary>
    public abstract Embedding Items { get; }

    /// <summary>Item embedding initialized N(0, 0.05²) (ours: TorchSharp's N(0, 1) default trained far slower here), padding row zero.</summary>
    protected static Embedding NewItemEmbedding(int itemCount, int dim, double std)
    {
        var e = nn.Embedding(itemCount + 1, dim, padding_idx: 0);
        using (no_grad())
        {
            nn.init.normal_(e.weight!, 0, std);
            e.weight![0].zero_();
        }
        return e;
    }

    /// <summary>
    /// Training loss of a batch of windows: sampled softmax of every target position's next item against the
    /// shared negatives.
    /// </summary>
    /// <param name="inputs">Input rows [B, T], right-padded with 0.</param>
    /// <param name="targets">The next item's row at each position [B, T]; 0 where a position has no target.</param>
    /// <param name="negatives">Shared negative rows [N].</param>
    /// <param name="correction">The logQ correction subtracted from each negative's logit [N], or null.</param>
    public abstract (Tensor Loss, Tensor? Codes) Loss(Tensor inputs, Tensor targets, Tensor negatives, Tensor? correction);

    /// <summary>The flat indices [P] of the positions of <paramref name="targets"/> [B, T] that have a target.</summary>
    protected static Tensor TargetPositions(Tensor targets)
    {
        using var none = (TorchSharp.Scalar)0L;
        using var flat = targets.flatten();
        using var has = flat.ne(none);
        using var nonzero = has.nonzero();
        return nonzero.squeeze(1);
    }

    /// <summary>
    /// Mean cross-entropy of the positive (column 0) against the negatives: logits pos [P] and neg [P, N] for
    /// positive rows [P] and negative rows [N]. A negative equal to the row's positive (an accidental hit) is
    /// masked out; <paramref name="correction"/> [N] is subtracted from the negatives' logits.
    /// </summary>
    protected static Tensor SampledSoftmax(Tensor pos, Tensor neg, Tensor positives, Tensor negatives, Tensor? correction)
    {
        using var scope = NewDisposeScope();
        if (correction is not null)
        {
            neg = neg - correction.unsqueeze(0);
        }
        var hits = negatives.unsqueeze(0).eq(positives.unsqueeze(1));
        var logits = cat([pos.unsqueeze(1), neg.masked_fill(hits, float.NegativeInfinity)], 1);
        return nn.functional.cross_entropy(logits, zeros(pos.shape[0], dtype: ScalarType.Int64)).MoveToOuterDisposeScope();
    }

    /// <summary>L2 on the distinct embedding rows a batch uses, per target.</summary>
    protected Tensor L2Term(Tensor inputs, Tensor positives, Tensor negatives)
    {
        using var scope = NewDisposeScope();
        var rows = cat([inputs.flatten(), positives, negatives], 0).unique().Item1;
        return (Items.forward(rows).pow(2).sum() / positives.shape[0]).MoveToOuterDisposeScope();
    }

    /// <summary>Full-catalogue scores [B, n] for histories [B, L] (eval mode, no grad): the model's validation score.</summary>
    public abstract Tensor ScoreAll(Tensor history);
}

/// <summary>
/// SparCode (docs/method.md): query tower → K_u token heads → product VQ (EMA, dead-code
/// re-seeding, straight-through) → all-to-all MLP f over [ẑ_k ; v_i], with v_i the K_i item heads.
/// The first layer of f is split as <c>W_u·ẑ + W_v·v</c> (the first-layer decomposition), so the
/// user part is computed once per token and the item part once per item, in training and export.
/// </summary>
internal sealed class SparCodeNet : RecommenderNet
{
    private readonly TrainOptions _o;
    private readonly Embedding _items;
    private readonly QueryTower _tower;
    private readonly Linear _heads;
    private readonly Linear _itemHeads;
    private readonly Linear _fUser;
    private readonly Linear _fItem;
    private readonly Linear _f2;
    private readonly Linear _f3;
    private readonly Linear _fOut;
    private readonly Tensor _codebooks;
    private readonly Tensor _emaCount;
    private readonly Tensor _emaSum;
    private readonly Tensor _initialized;
    private readonly Generator _generator;
    private readonly Generator _pairSampler;

    public SparCodeNet(int itemCount, TrainOptions o) : base(nameof(SparCodeNet))
    {
        _o = o;
        int sub = o.TokenDim / o.Subspaces;
        _items = NewItemEmbedding(itemCount, o.EmbeddingDim, o.EmbeddingInitStd);
        _tower = QueryTower.Create(o);
        _heads = nn.Linear(o.EmbeddingDim, o.UserTokens * o.TokenDim);
        _itemHeads = nn.Linear(o.EmbeddingDim, o.ItemTokens * o.TokenDim);
        _fUser = nn.Linear(o.TokenDim, o.MlpWidth, hasBias: false);
        _fItem = nn.Linear(o.ItemTokens * o.TokenDim, o.MlpWidth);
        _f2 = nn.Linear(o.MlpWidth, o.MlpWidth);
        _f3 = nn.Linear(o.MlpWidth, o.MlpWidth);
        _fOut = nn.Linear(o.MlpWidth, 1);
        Init.He(_heads, 1);
        Init.He(_itemHeads, 1);
        // f's first layer acts on [ẑ ; v] (fan-in D + K_i·D), split into its user and item parts.
        long fanIn = o.TokenDim + (long)o.ItemTokens * o.TokenDim;
        Init.He(_fUser, Math.Sqrt(2), fanIn);
        Init.He(_fItem, Math.Sqrt(2), fanIn);
        Init.He(_f2, Math.Sqrt(2));
        Init.He(_f3, Math.Sqrt(2));
        // With the dot path, f starts as the pure dot product and the MLP grows in from zero (the MLP's
        // random initial output is per-item noise that training would first have to remove).
        Init.He(_fOut, o.DotPath ? 0 : 1);
        _codebooks = zeros(o.Subspaces, o.CodebookSize, sub);
        _emaCount = zeros(o.Subspaces, o.CodebookSize);
        _emaSum = zeros(o.Subspaces, o.CodebookSize, sub);
        _initialized = zeros(1);
        _generator = new Generator((ulong)o.Seed + 17);
        _pairSampler = new Generator((ulong)o.Seed + 29);
        RegisterComponents();
        register_buffer("codebooks", _codebooks);
        register_buffer("ema_count", _emaCount);
        register_buffer("ema_sum", _emaSum);
        register_buffer("initialized", _initialized);
    }

    public override Embedding Items => _items;

    public QueryTower Tower => _tower;

    public Linear Heads => _heads;

    /// <summary>Codebooks [M, K_c, D/M].</summary>
    public Tensor Codebooks => _codebooks;

    /// <summary>Distinct codewords used by the last training batch, per codebook.</summary>
    public int[] LastUsage { get; private set; } = [];

    /// <summary>Perplexity of the last training batch's assignments, per codebook.</summary>
    public double[] LastPerplexity { get; private set; } = [];

    /// <summary>
    /// False during the quantizer warm-up (ours): the forward pass uses the unquantized tokens while the
    /// codebooks already follow them by EMA. Quantizing from the first step collapsed every user onto the
    /// same few codewords here (all tokens start near the head biases, so ẑ carries no user signal).
    /// </summary>
    public bool UseQuantized { get; set; } = true;

    /// <summary>Codewords re-seeded so far, all codebooks.</summary>
    public long Reseeded { get; private set; }

    /// <summary>Unquantized user tokens [B, K_u, D] of histories [B, T] (right-padded, at most L items each).</summary>
    public Tensor Tokens(Tensor history)
    {
        using var embedded = _items.forward(history);
        using var x = _tower.Last(history, embedded);
        return _heads.forward(x).view(history.shape[0], _o.UserTokens, _o.TokenDim);
    }

    /// <summary>Quantizes tokens [N, D]: codes [N] (Σ_m j_m·K_c^m) and ẑ [N, D]; updates the codebooks by EMA when asked.</summary>
    public (Tensor Codes, Tensor Quantized) Quantize(Tensor z, bool update)
    {
        int sub = _o.TokenDim / _o.Subspaces;
        using var scope = NewDisposeScope();
        if (update && _initialized.item<float>() == 0f)
        {
            if (z.shape[0] < _o.CodebookSize)
            {
                throw new ArgumentException($"The first training batch has {z.shape[0]} tokens (target positions × K_u), too few to seed {_o.CodebookSize} codewords per codebook; raise the batch size (--batch) or lower --codebook-size.");
            }
            using (no_grad())
            {
                for (int m = 0; m < _o.Subspaces; m++)
                {
                    var zm = z.narrow(1, m * sub, sub).detach();
                    var pick = randperm(zm.shape[0], generator: _generator).narrow(0, 0, _o.CodebookSize);
                    _codebooks[m].copy_(zm.index_select(0, pick));
                    _emaSum[m].copy_(_codebooks[m]);
                    _emaCount[m].fill_(1f);
                }
                _initialized.fill_(1f);
            }
        }
        var codes = zeros(z.shape[0], dtype: ScalarType.Int64);
        var parts = new Tensor[_o.Subspaces];
        long stride = 1;
        var usage = new int[_o.Subspaces];
        var perplexity = new double[_o.Subspaces];
        for (int m = 0; m < _o.Subspaces; m++)
        {
            var zm = z.narrow(1, m * sub, sub);
            var book = _codebooks[m];
            Tensor j;
            using (no_grad())
            {
                var dist = zm.pow(2).sum(1L, keepdim: true) - 2 * zm.matmul(book.t()) + book.pow(2).sum(1L).unsqueeze(0);
                j = dist.argmin(1L);
            }
            parts[m] = book.index_select(0, j);
            codes = codes + j * stride;
            stride *= _o.CodebookSize;
            if (update)
            {
                using (no_grad())
                {
                    var onehot = nn.functional.one_hot(j, _o.CodebookSize).to_type(ScalarType.Float32);
                    var count = onehot.sum(0L);
                    var sum = onehot.t().matmul(zm.detach());
                    float decay = (float)_o.EmaDecay;
                    _emaCount[m].mul_(decay).add_(count * (1 - decay));
                    _emaSum[m].mul_(decay).add_(sum * (1 - decay));
                    var n = _emaCount[m].sum();
                    var smoothed = (_emaCount[m] + (float)_o.EmaEpsilon) / (n + (float)(_o.CodebookSize * _o.EmaEpsilon)) * n;
                    _codebooks[m].copy_(_emaSum[m] / smoothed.unsqueeze(1));
                    // Dead-code re-seeding: a codeword whose EMA count fell below 1 restarts at a random token of this batch.
                    var dead = _emaCount[m].lt(1f).nonzero().squeeze(1);
                    long deadCount = dead.shape[0];
                    if (deadCount > 0)
                    {
                        var rows = randint(0, zm.shape[0], [deadCount], generator: _generator);
                        var seeds = zm.detach().index_select(0, rows);
                        _codebooks[m].index_copy_(0, dead, seeds);
                        _emaSum[m].index_copy_(0, dead, seeds);
                        _emaCount[m].index_fill_(0, dead, 1f);
                        Reseeded += deadCount;
                    }
                    var p = count / count.sum();
                    usage[m] = (int)count.gt(0f).sum().item<long>();
                    perplexity[m] = Math.Exp(-(p * (p + 1e-10f).log()).sum().item<float>());
                }
            }
        }
        if (update)
        {
            LastUsage = usage;
            LastPerplexity = perplexity;
        }
        var quantized = cat(parts, 1);
        return (codes.MoveToOuterDisposeScope(), quantized.MoveToOuterDisposeScope());
    }

    /// <summary>The item side of f's first layer, W_v·v_i + b, for embedding rows [N]: [N, H] (with the dot path: [W_v·v_i + b ; v⁽¹⁾_i], [N, H + D]).</summary>
    public Tensor ItemPart(Tensor rows)
    {
        using var e = _items.forward(rows);
        using var v = _itemHeads.forward(e);
        if (!_o.DotPath)
        {
            return _fItem.forward(v);
        }
        using var first = _fItem.forward(v);
        using var token = v.narrow(-1, 0, _o.TokenDim);
        return cat([first, token], -1);
    }

    /// <summary>The user side of f's first layer, W_u·ẑ: [..., H] (with the dot path: [W_u·ẑ ; ẑ], [..., H + D]).</summary>
    public Tensor UserPart(Tensor tokens)
    {
        if (!_o.DotPath)
        {
            return _fUser.forward(tokens);
        }
        using var first = _fUser.forward(tokens);
        return cat([first, tokens], -1);
    }

    /// <summary>
    /// f for broadcastable user parts and item parts: Rest(u + p), plus ⟨ẑ, v⁽¹⁾⟩ with the dot path
    /// (the token against the first item token; see <see cref="TrainOptions.DotPath"/>).
    /// </summary>
    public Tensor Pair(Tensor userPart, Tensor itemPart)
    {
        if (!_o.DotPath)
        {
            using var sum = userPart + itemPart;
            return Rest(sum);
        }
        int h = _o.MlpWidth;
        using var first = userPart.narrow(-1, 0, h) + itemPart.narrow(-1, 0, h);
        using var mlp = Rest(first);
        using var product = userPart.narrow(-1, h, _o.TokenDim) * itemPart.narrow(-1, h, _o.TokenDim);
        using var dot = product.sum(-1);
        return mlp + dot;
    }

    /// <summary>The rest of f after the first layer's sum: ReLU → f2 → ReLU → f3 → ReLU → out; the last dim is squeezed.</summary>
    public Tensor Rest(Tensor firstLayerSum)
    {
        using var h1 = nn.functional.relu(firstLayerSum);
        using var h2 = nn.functional.relu(_f2.forward(h1));
        using var h3 = nn.functional.relu(_f3.forward(h2));
        using var o = _fOut.forward(h3);
        return o.squeeze(-1);
    }

    /// <summary>
    /// Every target position's K_u tokens are quantized (and update the codebooks); the pair loss runs on at
    /// most <see cref="TrainOptions.PairPositions"/> of them, sampled uniformly, because f costs
    /// positions × K_u × (1 + N) × width per batch.
    /// </summary>
    public override (Tensor Loss, Tensor? Codes) Loss(Tensor inputs, Tensor targets, Tensor negatives, Tensor? correction)
    {
        var where = TargetPositions(targets);
        var states = _tower.At(inputs, _items.forward(inputs), where);
        long p = where.shape[0];
        var z = _heads.forward(states).view(p * _o.UserTokens, _o.TokenDim);
        var (codes, zq) = Quantize(z, update: training);
        // Straight-through: forward uses ẑ, backward passes the gradient to z.
        var zst = UseQuantized || !training ? z + (zq - z).detach() : z;
        var commit = (z - zq.detach()).pow(2).mean();
        var positives = targets.flatten().index_select(0, where);
        var tokens = zst.view(p, _o.UserTokens, _o.TokenDim);
        if (_o.PairPositions > 0 && p > _o.PairPositions)
        {
            var pick = randperm(p, generator: _pairSampler).narrow(0, 0, _o.PairPositions);
            tokens = tokens.index_select(0, pick);
            positives = positives.index_select(0, pick);
        }
        long s = positives.shape[0];
        var u = UserPart(tokens);
        var items = ItemPart(cat([positives, negatives], 0));
        long width = items.shape[1];
        var pos = Pair(u, items.narrow(0, 0, s).unsqueeze(1)).sum(1L);
        var neg = Pair(u.view(s, _o.UserTokens, 1, width), items.narrow(0, s, negatives.shape[0]).view(1, 1, negatives.shape[0], width)).sum(1L);
        var loss = SampledSoftmax(pos, neg, positives, negatives, correction)
            + (float)_o.Commitment * commit
            + (float)_o.L2 * L2Term(inputs, positives, negatives);
        return (loss, codes.view(p, _o.UserTokens));
    }

    /// <summary>f(ẑ_c, v_i) for codes [C] against item part rows [n, H]: [C, n], in chunks that bound memory.</summary>
    public Tensor ScoreCodes(Tensor codes, Tensor itemPart)
    {
        using var zq = CodeVectors(codes);
        using var u = UserPart(zq);
        return PairScores(u, itemPart);
    }

    /// <summary>Rest(u[c] + p[i]) for all c, i: [C, n], in chunks of codes that bound each intermediate to about 2^24 floats.</summary>
    public Tensor PairScores(Tensor userPart, Tensor itemPart)
    {
        long c = userPart.shape[0], n = itemPart.shape[0];
        // Each intermediate [chunk, n, width] stays near 2^24 floats (64 MiB), because several are alive at once
        // (perf/results/2026-12-02-code-notes).
        long chunk = Math.Max(1, Math.Min(c, (1L << 24) / Math.Max(1, n * (long)_o.MlpWidth)));
        var outputs = new List<Tensor>();
        for (long s = 0; s < c; s += chunk)
        {
            long len = Math.Min(chunk, c - s);
            using var scope = NewDisposeScope();
            outputs.Add(Pair(userPart.narrow(0, s, len).unsqueeze(1), itemPart.unsqueeze(0)).MoveToOuterDisposeScope());
        }
        var result = cat(outputs, 0);
        foreach (var t in outputs)
        {
            t.Dispose();
        }
        return result;
    }

    /// <summary>The quantized token ẑ of each code [C]: the concatenated codewords, [C, D].</summary>
    public Tensor CodeVectors(Tensor codes)
    {
        using var scope = NewDisposeScope();
        var parts = new Tensor[_o.Subspaces];
        var rest = codes;
        for (int m = 0; m < _o.Subspaces; m++)
        {
            var j = rest.remainder(_o.CodebookSize);
            rest = rest.div(_o.CodebookSize, rounding_mode: RoundingMode.floor);
            parts[m] = _codebooks[m].index_select(0, j);
        }
        return cat(parts, 1).MoveToOuterDisposeScope();
    }

    /// <summary>Dense quantized score Σ_k f(ẑ_k, v_i) over the catalogue.</summary>
    public override Tensor ScoreAll(Tensor history)
    {
        using var scope = NewDisposeScope();
        long b = history.shape[0];
        var z = Tokens(history).reshape(b * _o.UserTokens, _o.TokenDim);
        var (codes, _) = Quantize(z, update: false);
        var p = ItemPart(arange(1, _items.weight!.shape[0], dtype: ScalarType.Int64));
        var unique = codes.unique(sorted: true, return_inverse: true);
        var table = ScoreCodes(unique.output, p);
        var perToken = table.index_select(0, unique.inverse_indices!).view(b, _o.UserTokens, -1);
        return perToken.sum(1L).MoveToOuterDisposeScope();
    }

    /// <summary>All-to-all ceiling: Σ_k f(z_k, v_i) with unquantized tokens, [B, n].</summary>
    public Tensor ScoreAllUnquantized(Tensor history, Tensor itemPart)
    {
        using var scope = NewDisposeScope();
        long b = history.shape[0];
        var z = Tokens(history).reshape(b * _o.UserTokens, _o.TokenDim);
        var scores = PairScores(UserPart(z), itemPart).view(b, _o.UserTokens, -1);
        return scores.sum(1L).MoveToOuterDisposeScope();
    }
}

/// <summary>
/// The two-tower baseline: the same query tower and item embedding; score = tower(history) · E[i], or with
/// <see cref="TrainOptions.Normalize"/> the cosine of the two divided by the temperature.
/// </summary>
internal sealed class TwoTowerNet : RecommenderNet
{
    private readonly TrainOptions _o;
    private readonly Embedding _items;
    private readonly QueryTower _tower;

    public TwoTowerNet(int itemCount, TrainOptions o) : base(nameof(TwoTowerNet))
    {
        _o = o;
        _items = NewItemEmbedding(itemCount, o.EmbeddingDim, o.EmbeddingInitStd);
        _tower = QueryTower.Create(o);
        RegisterComponents();
    }

    public override Embedding Items => _items;

    public QueryTower Tower => _tower;

    /// <summary>User vectors [B, d] of histories [B, T] (right-padded, at most L items each); unit length with <see cref="TrainOptions.Normalize"/>.</summary>
    public Tensor User(Tensor history)
    {
        using var embedded = _items.forward(history);
        using var last = _tower.Last(history, embedded);
        return Vectors(last);
    }

    /// <summary>The item vectors [n, d] that serving ranks by inner product (internal id order, no padding row).</summary>
    public Tensor ItemVectors()
    {
        using var rows = _items.weight!.narrow(0, 1, _items.weight.shape[0] - 1);
        return Vectors(rows);
    }

    private Tensor Vectors(Tensor x) => _o.Normalize ? nn.functional.normalize(x, dim: -1) : x.alias();

    public override (Tensor Loss, Tensor? Codes) Loss(Tensor inputs, Tensor targets, Tensor negatives, Tensor? correction)
    {
        var where = TargetPositions(targets);
        var u = Vectors(_tower.At(inputs, _items.forward(inputs), where));
        var positives = targets.flatten().index_select(0, where);
        var pos = (u * Vectors(_items.forward(positives))).sum(1L);
        var neg = u.matmul(Vectors(_items.forward(negatives)).t());
        if (_o.Normalize)
        {
            pos = pos / (float)_o.Temperature;
            neg = neg / (float)_o.Temperature;
        }
        var loss = SampledSoftmax(pos, neg, positives, negatives, correction) + (float)_o.L2 * L2Term(inputs, positives, negatives);
        return (loss, null);
    }

    public override Tensor ScoreAll(Tensor history)
    {
        using var scope = NewDisposeScope();
        return User(history).matmul(ItemVectors().t()).MoveToOuterDisposeScope();
    }
}
