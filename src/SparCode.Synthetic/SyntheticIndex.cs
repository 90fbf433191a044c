using System.Text.Json;
using SparCode.Engine;
using SparCode.Format;

namespace SparCode.Synthetic;

/// <summary>
/// Builds random but realistic indexes: Gaussian (He-scaled) tower weights (MLP or attention tower), codebooks seeded from the
/// tower's own tokens so that codes are well used, log-normal list lengths, popularity-skewed items
/// with positive, exponentially distributed scores.
/// </summary>
public static class SyntheticIndex
{
    /// <summary>Generates index contents; equal options give equal contents (apart from the creation time in the metadata).</summary>
    /// <param name="options">Sizes and seed.</param>
    /// <param name="progress">Receives the fraction of posting lists built, 0..1.</param>
    /// <exception cref="ArgumentException">The options or the model sizes are invalid.</exception>
    public static IndexContents Create(SyntheticOptions options, IProgress<double>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        var dims = options.Dimensions();
        if ((options.Problem() ?? dims.Problem()) is { } problem)
        {
            throw new ArgumentException($"Invalid synthetic options: {problem}", nameof(options));
        }
        var random = new Random(options.Seed);
        var embedding = Gaussian(random, (options.ItemCount + 1L) * dims.EmbeddingDim, 1f);
        Array.Clear(embedding, 0, dims.EmbeddingDim);
        var tower = new List<DenseLayer>();
        int width = dims.EmbeddingDim;
        var attention = options.AttentionBlocks > 0 ? Attention(random, options) : null;
        foreach (int outputs in attention is null ? options.HiddenWidths.Append(dims.EmbeddingDim) : [])
        {
            tower.Add(Layer(random, outputs, width));
            width = outputs;
        }
        var heads = Layer(random, dims.UserTokens * dims.TokenDim, width);
        var codebooks = SeedCodebooks(random, dims, embedding, tower, attention, heads);

        var permutation = Enumerable.Range(0, options.ItemCount).ToArray();
        random.Shuffle(permutation);
        var (offsets, items, scores) = Postings(options, dims.CodeCount, permutation, progress);
        var metadata = JsonSerializer.Serialize(new
        {
            generator = "SparCode.Synthetic",
            created = DateTime.UtcNow.ToString("O"),
            dataset = "synthetic",
            options = new
            {
                options.ItemCount, options.EmbeddingDim, options.HistoryLength, options.UserTokens, options.Subspaces, options.CodebookSize,
                options.TokenDim, options.HiddenWidths, options.AttentionBlocks, options.AttentionHeads, options.FeedForwardWidth, options.MeanPostingsPerList, options.LengthSpread, options.ItemSkew, options.Seed,
            },
        });
        return new IndexContents
        {
            Dimensions = dims,
            ItemEmbedding = embedding,
            Tower = tower,
            Attention = attention,
            Heads = heads,
            Codebooks = codebooks,
            PostingOffsets = offsets,
            PostingItems = items,
            PostingScores = scores,
            ItemIds = Enumerable.Range(0, options.ItemCount).Select(i => (long)i).ToArray(),
            FallbackOrder = options.WithFallbackOrder ? permutation : null,
            MetadataJson = metadata,
        };
    }

    /// <summary>Random histories of external ids 0..n−1 with popularity skew, lengths 1..<paramref name="maxLength"/>.</summary>
    /// <param name="itemCount">Catalogue size.</param>
    /// <param name="count">Number of histories.</param>
    /// <param name="maxLength">Longest history.</param>
    /// <param name="seed">Seed.</param>
    public static long[][] Histories(int itemCount, int count, int maxLength, int seed)
    {
        var random = new Random(seed);
        var result = new long[count][];
        for (int q = 0; q < count; q++)
        {
            result[q] = new long[random.Next(1, maxLength + 1)];
            for (int i = 0; i < result[q].Length; i++)
            {
                result[q][i] = SkewedRank(random, itemCount, 1.5);
            }
        }
        return result;
    }

    private static DenseLayer Layer(Random random, int outputs, int inputs) =>
        new(outputs, inputs, Gaussian(random, (long)outputs * inputs, MathF.Sqrt(2f / inputs)), Gaussian(random, outputs, 0.01f));

    /// <summary>
    /// A random attention tower: q/k/v and output projections N(0, 1/d) (Xavier-like, so scores stay O(1)), the
    /// feed-forward He-scaled (N(0, 2/fan-in)), position embeddings N(0, 1/4), layer-norm gains 1 ± 0.1 and
    /// shifts ± 0.1 (non-trivial, so tests see them), biases 0.01. The layer norms keep every block's input O(1).
    /// </summary>
    private static AttentionTower Attention(Random random, SyntheticOptions options)
    {
        int d = options.EmbeddingDim, f = options.FeedForwardWidth;
        float[] Gain() => [.. Gaussian(random, d, 0.1f).Select(g => 1f + g)];
        DenseLayer Dense(int outputs, int inputs, float std) => new(outputs, inputs, Gaussian(random, (long)outputs * inputs, std), Gaussian(random, outputs, 0.01f));
        var blocks = new AttentionBlock[options.AttentionBlocks];
        for (int b = 0; b < blocks.Length; b++)
        {
            blocks[b] = new AttentionBlock(Gain(), Gaussian(random, d, 0.1f), Dense(3 * d, d, MathF.Sqrt(1f / d)), Dense(d, d, MathF.Sqrt(1f / d)),
                Gain(), Gaussian(random, d, 0.1f), Dense(f, d, MathF.Sqrt(2f / d)), Dense(d, f, MathF.Sqrt(2f / f)));
        }
        return new AttentionTower(options.AttentionHeads, Gaussian(random, (long)options.HistoryLength * d, 0.5f), blocks, Gain(), Gaussian(random, d, 0.1f));
    }

    /// <summary>Codebook rows are sub-vectors of tokens from random histories, so queries spread over many codes.</summary>
    private static float[] SeedCodebooks(Random random, ModelDimensions dims, float[] embedding, List<DenseLayer> tower, AttentionTower? attention, DenseLayer heads)
    {
        int sub = dims.SubvectorDim;
        var codebooks = new float[dims.Subspaces * dims.CodebookSize * sub];
        var headView = new DenseView(heads.Outputs, heads.Weights, heads.Bias);
        var queryTower = attention is null
            ? new QueryTower(dims, embedding, [.. tower.Select(l => new DenseView(l.Outputs, l.Weights, l.Bias))], headView, codebooks)
            : new QueryTower(dims, embedding, attention, headView, codebooks);
        var scratchA = new float[queryTower.ScratchLength];
        var scratchB = new float[queryTower.ScratchLength];
        var tokens = new float[dims.UserTokens * dims.TokenDim];
        var history = new int[dims.HistoryLength];
        for (int row = 0; row < dims.CodebookSize; row++)
        {
            int length = random.Next(1, dims.HistoryLength + 1);
            for (int i = 0; i < length; i++)
            {
                history[i] = (int)SkewedRank(random, dims.ItemCount, 1.5);
            }
            queryTower.Tokens(history.AsSpan(0, length), tokens, scratchA, scratchB);
            for (int m = 0; m < dims.Subspaces; m++)
            {
                int k = random.Next(dims.UserTokens);
                tokens.AsSpan(k * dims.TokenDim + m * sub, sub).CopyTo(codebooks.AsSpan((m * dims.CodebookSize + row) * sub, sub));
            }
        }
        return codebooks;
    }

    private static (long[] Offsets, int[] Items, float[] Scores) Postings(SyntheticOptions options, int codes, int[] permutation, IProgress<double>? progress)
    {
        int n = options.ItemCount;
        var lengths = new int[codes];
        var lengthRandom = new Random(options.Seed ^ 0x5EED);
        double mu = Math.Log(Math.Max(options.MeanPostingsPerList, 1e-9)) - options.LengthSpread * options.LengthSpread / 2;
        for (int c = 0; c < codes; c++)
        {
            double normal = Math.Sqrt(-2 * Math.Log(1 - lengthRandom.NextDouble())) * Math.Cos(2 * Math.PI * lengthRandom.NextDouble());
            double length = options.MeanPostingsPerList == 0 ? 0 : Math.Exp(mu + options.LengthSpread * normal);
            lengths[c] = (int)Math.Min(Math.Round(length), n);
        }
        var offsets = new long[codes + 1];
        for (int c = 0; c < codes; c++)
        {
            offsets[c + 1] = offsets[c] + lengths[c];
        }
        if (offsets[codes] > int.MaxValue)
        {
            throw new ArgumentException($"The options ask for {offsets[codes]} postings; at most {int.MaxValue} fit in one index.", nameof(options));
        }
        var items = new int[offsets[codes]];
        var scores = new float[offsets[codes]];
        int done = 0;
        Parallel.For(0, codes, () => new bool[n], (c, _, seen) =>
        {
            // A fixed mix (not HashCode, which is randomised per process) keeps the output reproducible.
            var random = new Random(unchecked((options.Seed * -1640531535) + c));
            var list = items.AsSpan((int)offsets[c], lengths[c]);
            int filled = 0;
            // Popularity-skewed draws first; if the list is long relative to n, finish with uniform draws.
            for (int tries = 0; filled < list.Length && tries < 4 * list.Length + 64; tries++)
            {
                int item = permutation[SkewedRank(random, n, options.ItemSkew)];
                if (!seen[item])
                {
                    seen[item] = true;
                    list[filled++] = item;
                }
            }
            for (int item = random.Next(n); filled < list.Length; item = item + 1 == n ? 0 : item + 1)
            {
                if (!seen[item])
                {
                    seen[item] = true;
                    list[filled++] = item;
                }
            }
            foreach (int item in list)
            {
                seen[item] = false;
            }
            list.Sort();
            // Scores: exponential, scaled per code, always positive.
            float scale = (float)(0.5 + random.NextDouble());
            foreach (ref float score in scores.AsSpan((int)offsets[c], lengths[c]))
            {
                score = scale * (0.001f - MathF.Log(1f - random.NextSingle()));
            }
            if (progress is not null && Interlocked.Increment(ref done) % 256 == 0)
            {
                progress.Report((double)done / codes);
            }
            return seen;
        }, _ => { });
        return (offsets, items, scores);
    }

    private static long SkewedRank(Random random, int n, double skew) => Math.Min(n - 1, (long)(n * Math.Pow(random.NextDouble(), skew)));

    private static float[] Gaussian(Random random, long count, float std)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++)
        {
            double u = 1 - random.NextDouble();
            values[i] = (float)(std * Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * random.NextDouble()));
        }
        return values;
    }
}
