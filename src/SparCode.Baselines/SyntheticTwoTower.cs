namespace SparCode.Baselines;

/// <summary>Sizes of a synthetic two-tower model.</summary>
public sealed record SyntheticTwoTowerOptions
{
    /// <summary>Items.</summary>
    public int ItemCount { get; init; } = 100_000;

    /// <summary>Users (benchmark queries).</summary>
    public int UserCount { get; init; } = 1_000;

    /// <summary>Embedding size d.</summary>
    public int Dimension { get; init; } = 64;

    /// <summary>Clusters; 0 picks about √n.</summary>
    public int Clusters { get; init; }

    /// <summary>Spread of an item around its cluster centre, relative to the centre's unit length.</summary>
    public float Spread { get; init; } = 0.6f;

    /// <summary>σ of the log-normal item norm (popularity), so that inner product differs from cosine. Kept small
    /// because larger spreads lower HNSW recall under the inner-product metric markedly (perf/results/2026-12-02-code-notes).</summary>
    public float NormSpread { get; init; } = 0.1f;

    /// <summary>Seed.</summary>
    public int Seed { get; init; } = 7;
}

/// <summary>
/// A random two-tower model for when no trained one is given: unit-length cluster centres, items
/// scattered around them with log-normal norms, users near one or two centres. Clustered data is what
/// makes HNSW's recall/latency trade-off realistic (uniform random vectors in 64 dimensions are
/// close to worst case for graph search).
/// </summary>
public static class SyntheticTwoTower
{
    /// <summary>Generates the model; equal options give equal models.</summary>
    /// <exception cref="ArgumentException">A size is out of range.</exception>
    public static TwoTowerModel Create(SyntheticTwoTowerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ItemCount < 1 || options.UserCount < 0 || options.Dimension < 1 || options.Clusters < 0)
        {
            throw new ArgumentException($"Invalid synthetic two-tower options: {options}.", nameof(options));
        }
        int d = options.Dimension;
        int clusters = options.Clusters > 0 ? options.Clusters : Math.Max(1, (int)Math.Sqrt(options.ItemCount));
        var random = new Random(options.Seed);
        var centres = new float[clusters * d];
        for (int c = 0; c < clusters; c++)
        {
            var centre = centres.AsSpan(c * d, d);
            FillGaussian(random, centre, 1f);
            Normalize(centre);
        }
        float noise = options.Spread / MathF.Sqrt(d);
        var items = new float[(long)options.ItemCount * d];
        // Items in parallel chunks with their own seeds, so the result does not depend on scheduling.
        const int chunk = 1 << 14;
        int chunks = (options.ItemCount + chunk - 1) / chunk;
        Parallel.For(0, chunks, part =>
        {
            var local = new Random(unchecked(options.Seed * 31 + part));
            for (int i = part * chunk; i < Math.Min(options.ItemCount, (part + 1) * chunk); i++)
            {
                var row = items.AsSpan(i * d, d);
                var centre = centres.AsSpan(local.Next(clusters) * d, d);
                FillGaussian(local, row, noise);
                float norm = MathF.Exp(options.NormSpread * Gaussian(local));
                for (int j = 0; j < d; j++)
                {
                    row[j] = (row[j] + centre[j]) * norm;
                }
            }
        });
        var users = new float[(long)options.UserCount * d];
        for (int u = 0; u < options.UserCount; u++)
        {
            var row = users.AsSpan(u * d, d);
            FillGaussian(random, row, noise);
            var a = centres.AsSpan(random.Next(clusters) * d, d);
            var b = centres.AsSpan(random.Next(clusters) * d, d);
            float mix = random.NextSingle() < 0.5f ? 1f : 0.7f;
            for (int j = 0; j < d; j++)
            {
                row[j] += mix * a[j] + (1 - mix) * b[j];
            }
        }
        return new TwoTowerModel(new EmbeddingTable(d, items), new EmbeddingTable(d, users));
    }

    private static void FillGaussian(Random random, Span<float> values, float std)
    {
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = std * Gaussian(random);
        }
    }

    private static float Gaussian(Random random) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));

    private static void Normalize(Span<float> values)
    {
        float norm = MathF.Sqrt(System.Numerics.Tensors.TensorPrimitives.SumOfSquares(values));
        if (norm > 0)
        {
            System.Numerics.Tensors.TensorPrimitives.Divide(values, norm, values);
        }
    }
}
