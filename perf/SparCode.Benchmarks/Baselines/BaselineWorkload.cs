using SparCode.Baselines;
using SparCode.Benchmarks.Infrastructure;

namespace SparCode.Benchmarks.Baselines;

/// <summary>
/// The two-tower inputs of the baseline benchmarks: a seeded synthetic clustered model (√n clusters, item
/// norms log-normal with σ = 0.1, so inner product is not cosine) and per-query exclusions shaped like
/// user histories. Every vector is a Gaussian draw, so no input is zero.
/// </summary>
public static class BaselineWorkload
{
    /// <summary>Results per query.</summary>
    public const int K = 50;

    /// <summary>Embedding size d (the trained ML-100K model's).</summary>
    public const int Dimension = 64;

    /// <summary>Query vectors, cycled one per invocation.</summary>
    public const int QueryCount = 256;

    /// <summary>Excluded rows per query in the <c>…Excluding</c> benchmarks: about an ML-100K user's mean history (~106 items).</summary>
    public const int ExcludedPerQuery = 106;

    /// <summary>The model for <paramref name="items"/> items and <see cref="QueryCount"/> users.</summary>
    public static TwoTowerModel Model(int items) =>
        SyntheticTwoTower.Create(new SyntheticTwoTowerOptions { ItemCount = items, UserCount = QueryCount, Dimension = Dimension, Seed = 1234 });

    /// <summary>
    /// <see cref="ExcludedPerQuery"/> distinct ascending rows per query, seeded: half uniform over the
    /// catalogue and half from the query's own exact top-200 (a history overlaps what the model likes),
    /// as one array plus <see cref="QueryCount"/> + 1 offsets.
    /// </summary>
    public static (int[] Rows, int[] Offsets) Exclusions(TwoTowerModel model)
    {
        var random = new Random(99);
        var searcher = new ExactMipsSearcher(model.Items, 1);
        var top = new long[200];
        var scores = new float[200];
        var rows = new List<int>();
        var offsets = new int[model.Users.Count + 1];
        for (int q = 0; q < model.Users.Count; q++)
        {
            searcher.Search(model.Users.Row(q), top.Length, top, scores);
            var mine = new SortedSet<int>();
            while (mine.Count < ExcludedPerQuery / 2)
            {
                mine.Add((int)top[random.Next(top.Length)]);
            }
            while (mine.Count < ExcludedPerQuery)
            {
                mine.Add(random.Next(model.Items.Count));
            }
            rows.AddRange(mine);
            offsets[q + 1] = rows.Count;
        }
        return ([.. rows], offsets);
    }

    /// <summary>Writes the model's shape to the log (see <see cref="TestData.ReportSetup"/>).</summary>
    public static void Report(string benchmark, TwoTowerModel model, string details) =>
        TestData.ReportSetup(benchmark, $"{model.Items.Count} items, d = {model.Items.Dimension}, {model.Users.Count} queries, k = {K}; {details}");
}
