using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SparCode.Training;

/// <summary>
/// The shared query tower: masked mean of the history's item embeddings, then an MLP
/// <c>d → w → w → w → d</c> with ReLU and dropout after each hidden layer (none after the last).
/// </summary>
internal sealed class HistoryTower : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly Linear _l0;
    private readonly Linear _l1;
    private readonly Linear _l2;
    private readonly Linear _l3;
    private readonly Dropout _dropout;

    public HistoryTower(int d, int width, double dropout) : base(nameof(HistoryTower))
    {
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

    /// <summary>history: [B, L] embedding rows (0 = padding); embedded: [B, L, d].</summary>
    public override Tensor forward(Tensor history, Tensor embedded)
    {
        // An explicit, disposed Scalar: an implicitly converted one can be finalized while libtorch still
        // reads it (a training run once failed here with "Unknown scalar type"; TorchSharp PR 1434).
        using var padding = (TorchSharp.Scalar)0L;
        using var mask = history.ne(padding).unsqueeze(-1).to_type(ScalarType.Float32);
        using var sum = (embedded * mask).sum(1L);
        using var count = mask.sum(1L).clamp_min(1f);
        var x = sum / count;
        foreach (var layer in new[] { _l0, _l1, _l2 })
        {
            x = _dropout.forward(nn.functional.relu(layer.forward(x)));
        }
        return _l3.forward(x);
    }
}

/// <summary>
/// Weight initialization (ours). TorchSharp's default Linear init (uniform ±1/√fan_in) shrinks the
/// standard deviation of a ReLU layer's output about 2.4× per layer and adds biases of about the same
/// size as the signal, so after the 4-layer tower and the token heads the user-dependent part of a token
/// was about 10⁻⁴ of its norm: every user got the same token and the same code (measured on the demo
/// data: token std across users 1e-4 against a mean norm of 1.2, query-side gradients 10⁻³–10⁻⁴).
/// He-normal weights (std gain/√fan_in) with zero biases keep the scale through the layers.
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

    /// <summary>Training loss of a batch: history rows [B, L], positive rows [B], shared negative rows [N].</summary>
    public abstract (Tensor Loss, Tensor? Codes) Loss(Tensor history, Tensor positives, Tensor negatives);

    /// <summary>Full-catalogue scores [B, n] for histories [B, L] (eval mode, no grad): the model's validation score.</summary>
    public abstract Tensor ScoreAll(Tensor history);
}

/// <summary>
/// SparCode (docs/sparcode-method.md): query tower → K_u token heads → product VQ (EMA, dead-code
/// re-seeding, straight-through) → all-to-all MLP f over [ẑ_k ; v_i], with v_i the K_i item heads.
/// The first layer of f is split as <c>W_u·ẑ + W_v·v</c> (the first-layer decomposition), so the
/// user part is computed once per token and the item part once per item, in training and export.
/// </summary>
internal sealed class SparCodeNet : RecommenderNet
{
    private readonly TrainOptions _o;
    private readonly Embedding _items;
    private readonly HistoryTower _tower;
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

    public SparCodeNet(int itemCount, TrainOptions o) : base(nameof(SparCodeNet))
    {
        _o = o;
        int sub = o.TokenDim / o.Subspaces;
        _items = NewItemEmbedding(itemCount, o.EmbeddingDim, o.EmbeddingInitStd);
        _tower = new HistoryTower(o.EmbeddingDim, o.TowerWidth, o.Dropout);
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
        RegisterComponents();
        register_buffer("codebooks", _codebooks);
        register_buffer("ema_count", _emaCount);
        register_buffer("ema_sum", _emaSum);
        register_buffer("initialized", _initialized);
    }

    public override Embedding Items => _items;

    public HistoryTower Tower => _tower;

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

    /// <summary>Unquantized user tokens [B, K_u, D].</summary>
    public Tensor Tokens(Tensor history)
    {
        using var embedded = _items.forward(history);
        using var x = _tower.forward(history, embedded);
        return _heads.forward(x).view(history.shape[0], _o.UserTokens, _o.TokenDim);
    }

    /// <summary>Quantizes tokens [N, D]: codes [N] (Σ_m j_m·K_c^m) and ẑ [N, D]; updates the codebooks by EMA when asked.</summary>
    public (Tensor Codes, Tensor Quantized) Quantize(Tensor z, bool update)
    {
        int sub = _o.TokenDim / _o.Subspaces;
        using var scope = NewDisposeScope();
        if (update && _initialized.item<float>() == 0f)
        {
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

    public override (Tensor Loss, Tensor? Codes) Loss(Tensor history, Tensor positives, Tensor negatives)
    {
        long b = history.shape[0];
        var z = Tokens(history).reshape(b * _o.UserTokens, _o.TokenDim);
        var (codes, zq) = Quantize(z, update: training);
        // Straight-through: forward uses ẑ, backward passes the gradient to z.
        var zst = UseQuantized || !training ? z + (zq - z).detach() : z;
        var commit = (z - zq.detach()).pow(2).mean();
        var u = UserPart(zst);
        var p = ItemPart(cat([positives, negatives], 0));
        long width = p.shape[1];
        var pos = Pair(u.view(b, _o.UserTokens, width), p.narrow(0, 0, b).unsqueeze(1)).sum(1L);
        var neg = Pair(u.view(b, _o.UserTokens, 1, width), p.narrow(0, b, negatives.shape[0]).view(1, 1, negatives.shape[0], width)).sum(1L);
        var logits = cat([pos.unsqueeze(1), neg.masked_fill(negatives.unsqueeze(0).eq(positives.unsqueeze(1)), float.NegativeInfinity)], 1);
        var loss = nn.functional.cross_entropy(logits, zeros(b, dtype: ScalarType.Int64))
            + (float)_o.Commitment * commit
            + (float)_o.L2 * L2Term(history, positives, negatives, b);
        return (loss, codes.view(b, _o.UserTokens));
    }

    private Tensor L2Term(Tensor history, Tensor positives, Tensor negatives, long b)
    {
        var rows = cat([history.flatten(), positives, negatives], 0).unique().Item1;
        return _items.forward(rows).pow(2).sum() / b;
    }

    /// <summary>f(ẑ_c, v_i) for codes [C] against item part rows [n, H]: [C, n], in chunks that bound memory.</summary>
    public Tensor ScoreCodes(Tensor codes, Tensor itemPart)
    {
        using var zq = CodeVectors(codes);
        using var u = UserPart(zq);
        return PairScores(u, itemPart);
    }

    /// <summary>Rest(u[c] + p[i]) for all c, i: [C, n].</summary>
    public Tensor PairScores(Tensor userPart, Tensor itemPart)
    {
        long c = userPart.shape[0], n = itemPart.shape[0];
        long chunk = Math.Max(1, Math.Min(c, (1L << 24) / Math.Max(1, n * _o.MlpWidth / 16)));
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

/// <summary>The two-tower baseline: the same query tower and item embedding; score = tower(history) · E[i].</summary>
internal sealed class TwoTowerNet : RecommenderNet
{
    private readonly TrainOptions _o;
    private readonly Embedding _items;
    private readonly HistoryTower _tower;

    public TwoTowerNet(int itemCount, TrainOptions o) : base(nameof(TwoTowerNet))
    {
        _o = o;
        _items = NewItemEmbedding(itemCount, o.EmbeddingDim, o.EmbeddingInitStd);
        _tower = new HistoryTower(o.EmbeddingDim, o.TowerWidth, o.Dropout);
        RegisterComponents();
    }

    public override Embedding Items => _items;

    public Tensor User(Tensor history)
    {
        using var embedded = _items.forward(history);
        return _tower.forward(history, embedded);
    }

    public override (Tensor Loss, Tensor? Codes) Loss(Tensor history, Tensor positives, Tensor negatives)
    {
        long b = history.shape[0];
        var u = User(history);
        var pos = (u * _items.forward(positives)).sum(1L);
        var neg = u.matmul(_items.forward(negatives).t());
        var logits = cat([pos.unsqueeze(1), neg.masked_fill(negatives.unsqueeze(0).eq(positives.unsqueeze(1)), float.NegativeInfinity)], 1);
        var rows = cat([history.flatten(), positives, negatives], 0).unique().Item1;
        var loss = nn.functional.cross_entropy(logits, zeros(b, dtype: ScalarType.Int64)) + (float)_o.L2 * _items.forward(rows).pow(2).sum() / b;
        return (loss, null);
    }

    public override Tensor ScoreAll(Tensor history)
    {
        using var scope = NewDisposeScope();
        var u = User(history);
        var e = _items.weight!.narrow(0, 1, _items.weight.shape[0] - 1);
        return u.matmul(e.t()).MoveToOuterDisposeScope();
    }
}
