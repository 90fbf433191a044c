namespace SparCode.Data;

/// <summary>Sizes and seed of the synthetic interaction data (see <see cref="CrossFeatureGenerator"/>).</summary>
public sealed record CrossFeatureOptions
{
    /// <summary>Users.</summary>
    public int Users { get; init; } = 4000;

    /// <summary>Catalogue size.</summary>
    public int Items { get; init; } = 1000;

    /// <summary>Item genres.</summary>
    public int Genres { get; init; } = 12;

    /// <summary>Item levels (a second attribute).</summary>
    public int Levels { get; init; } = 6;

    /// <summary>(genre, level) pairs each user likes, with distinct genres.</summary>
    public int GenresPerUser { get; init; } = 3;

    /// <summary>Shortest sequence.</summary>
    public int MinLength { get; init; } = 8;

    /// <summary>Longest sequence.</summary>
    public int MaxLength { get; init; } = 24;

    /// <summary>Probability that a step picks a uniformly random item instead of a liked one.</summary>
    public double Noise { get; init; } = 0.05;

    /// <summary>Zipf exponent of item popularity (item i weighs 1/(i+1)^s when picked); 0: uniform.</summary>
    public double PopularitySkew { get; init; }

    /// <summary>Seed; the same options give the same data on every machine.</summary>
    public int Seed { get; init; } = 7;
}

/// <summary>
/// Synthetic sequences in which a cross-feature decides relevance: every item has a genre and a
/// level; a user likes a few (genre, level) pairs, each genre at its own level, and picks items from
/// those cells. Relevance is Σ_j [genre = g_j]·[level = l_j], a sum over Genres × Levels cells (72 by
/// default): an additive genre + level score also ranks the crossed cells (g_1, l_2), (g_2, l_1), ...
/// as high as the liked ones. A model that sees only item ids can learn each item's cell in its
/// embedding, though, so for a dot product the difficulty is only the rank of the user × cell
/// preferences against the embedding size; measured on the demo's data (docs/results.md), a 32-d
/// two-tower model handles it well.
/// </summary>
public static class CrossFeatureGenerator
{
    /// <summary>Generates the dataset (deterministic for given options).</summary>
    /// <exception cref="ArgumentException">A size is out of range.</exception>
    public static SequenceDataset Generate(CrossFeatureOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options;
        if (o.Users < 1 || o.Items < 2 || o.Genres < 1 || o.Levels < 1 || o.GenresPerUser < 1 || o.GenresPerUser > o.Genres
            || o.MinLength < 3 || o.MaxLength < o.MinLength || o.MaxLength > o.Items || o.Noise is < 0 or > 1 || o.PopularitySkew < 0)
        {
            throw new ArgumentException($"Invalid synthetic options: {o}.", nameof(options));
        }
        var rng = new Random(o.Seed);
        var genre = new int[o.Items];
        var level = new int[o.Items];
        for (int i = 0; i < o.Items; i++)
        {
            genre[i] = rng.Next(o.Genres);
            level[i] = rng.Next(o.Levels);
        }
        var weight = Enumerable.Range(0, o.Items).Select(i => Math.Pow(i + 1, -o.PopularitySkew)).ToArray();
        int Pick(List<int> from)
        {
            double total = 0;
            foreach (int i in from)
            {
                total += weight[i];
            }
            double x = rng.NextDouble() * total;
            foreach (int i in from)
            {
                x -= weight[i];
                if (x < 0)
                {
                    return i;
                }
            }
            return from[^1];
        }
        var sequences = new int[o.Users][];
        var liked = new List<int>();
        var used = new HashSet<int>();
        for (int u = 0; u < o.Users; u++)
        {
            var genres = Enumerable.Range(0, o.Genres).OrderBy(_ => rng.Next()).Take(o.GenresPerUser).ToArray();
            var levels = genres.Select(_ => rng.Next(o.Levels)).ToArray();
            liked.Clear();
            for (int i = 0; i < o.Items; i++)
            {
                int j = Array.IndexOf(genres, genre[i]);
                if (j >= 0 && level[i] == levels[j])
                {
                    liked.Add(i);
                }
            }
            int length = rng.Next(o.MinLength, o.MaxLength + 1);
            var sequence = new int[length];
            used.Clear();
            for (int t = 0; t < length; t++)
            {
                int item;
                var open = liked.Where(i => !used.Contains(i)).ToList();
                if (open.Count > 0 && rng.NextDouble() >= o.Noise)
                {
                    item = Pick(open);
                }
                else
                {
                    do
                    {
                        item = rng.Next(o.Items);
                    }
                    while (used.Contains(item));
                }
                used.Add(item);
                sequence[t] = item;
            }
            sequences[u] = sequence;
        }
        return SequenceDataset.FromSequences(sequences, o.Items, $"synthetic cross-feature data {o}");
    }
}
