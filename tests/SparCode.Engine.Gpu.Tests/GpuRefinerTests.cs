namespace SparCode.Engine.Gpu.Tests;

[Collection("device")]
public sealed class GpuRefinerTests(DeviceFixture fixture)
{
    private const int TokenDim = 6, ItemDim = 8, TokensPerQuery = 2;

    private static float[] Random(Random random, int count, float scale) =>
        [.. Enumerable.Range(0, count).Select(_ => (random.NextSingle() * 2f - 1f) * scale)];

    /// <summary>A random MLP 14 → 12 → 9 → 1 (first width × 1100 items stays under 16k elements per launch).</summary>
    internal static InteractionMlp Mlp(int seed, bool dotPath = false)
    {
        var random = new Random(seed);
        return new InteractionMlp(TokenDim, ItemDim, Random(random, 12 * TokenDim, 0.5f), Random(random, 12 * ItemDim, 0.5f), Random(random, 12, 0.1f),
            [(Random(random, 9 * 12, 0.3f), Random(random, 9, 0.1f))], Random(random, 9, 0.5f), 0.05f) { DotPath = dotPath };
    }

    /// <summary>Distinct random candidates per query, <paramref name="sizes"/>[q] of them, from <paramref name="itemCount"/> items.</summary>
    private static (int[] Offsets, int[] Candidates) Candidates(Random random, int itemCount, int[] sizes)
    {
        var offsets = new int[sizes.Length + 1];
        var candidates = new List<int>();
        for (int q = 0; q < sizes.Length; q++)
        {
            candidates.AddRange(Enumerable.Range(0, itemCount).OrderBy(_ => random.Next()).Take(sizes[q]));
            offsets[q + 1] = candidates.Count;
        }
        return (offsets, [.. candidates]);
    }

    private static void Close(float expected, float actual, string where) =>
        Assert.True(Math.Abs(actual - expected) <= 1e-4 * Math.Max(1, Math.Abs(expected)), $"{where}: {actual} vs {expected}");

    [Theory]
    [InlineData(new[] { 1 }, 5, 1, false)]                      // 1 candidate in all
    [InlineData(new[] { 20, 0, 13 }, 15, 2, false)]              // 33: an empty query and one with fewer than k
    [InlineData(new[] { 20, 0, 13 }, 15, 4, true)]               // the same with the dot path
    [InlineData(new[] { 1024, 1024, 1024, 1025 }, 10, 3, false)] // 4097 candidates, 8194 pairs over 9 device passes
    public void Refine_equals_the_cpu_reference(int[] sizes, int k, int seed, bool dotPath)
    {
        const int itemCount = 1100;
        var mlp = Mlp(seed, dotPath);
        var random = new Random(seed * 31);
        var itemTokens = Random(random, itemCount * ItemDim, 1f);
        var tokens = Random(random, sizes.Length * TokensPerQuery * TokenDim, 1f);
        var (offsets, candidates) = Candidates(random, itemCount, sizes);
        Assert.Equal(sizes.Sum(), candidates.Length);
        var (ids, scores, counts) = (new int[sizes.Length * k], new float[sizes.Length * k], new int[sizes.Length]);
        var (refIds, refScores, refCounts) = (new int[sizes.Length * k], new float[sizes.Length * k], new int[sizes.Length]);

        using var refiner = new GpuRefiner(fixture.Device, mlp, itemTokens, maxPairs: 1024);
        refiner.Refine(tokens, TokensPerQuery, offsets, candidates, k, ids, scores, counts);
        RefineReference.Refine(mlp, itemTokens, tokens, TokensPerQuery, offsets, candidates, k, refIds, refScores, refCounts);

        Assert.Equal(refCounts, counts);
        Assert.Equal(sizes.Select(s => Math.Min(s, k)), counts);
        Assert.Equal(refIds, ids);
        for (int r = 0; r < ids.Length; r++)
        {
            Close(refScores[r], scores[r], $"result slot {r}");
        }
        Assert.All(Enumerable.Range(0, sizes.Length), q => Assert.All(ids.AsSpan(q * k + counts[q], k - counts[q]).ToArray(), id => Assert.Equal(-1, id)));
    }

    [Fact]
    public void Refined_scores_are_the_token_sum_of_the_reference_mlp()
    {
        var mlp = Mlp(7);
        var random = new Random(8);
        var itemTokens = Random(random, 40 * ItemDim, 1f);
        var tokens = Random(random, TokensPerQuery * TokenDim, 1f);
        int[] candidates = [3, 17, 39, 0];
        var (ids, scores, counts) = (new int[4], new float[4], new int[1]);
        using var refiner = new GpuRefiner(fixture.Device, mlp, itemTokens, maxPairs: 3);
        refiner.Refine(tokens, TokensPerQuery, [0, 4], candidates, 4, ids, scores, counts);
        for (int r = 0; r < 4; r++)
        {
            double expected = 0;
            for (int t = 0; t < TokensPerQuery; t++)
            {
                expected += mlp.ScoreReference(tokens.AsSpan(t * TokenDim, TokenDim), itemTokens.AsSpan(ids[r] * ItemDim, ItemDim));
            }
            Close((float)expected, scores[r], $"rank {r} (item {ids[r]})");
        }
        Assert.Equal(candidates.Order(), ids.Order());
        Assert.True(scores.Zip(scores.Skip(1)).All(p => p.First >= p.Second), string.Join(", ", scores));
    }

    [Fact]
    public void Equal_scores_rank_by_the_smaller_item_id()
    {
        var mlp = Mlp(5);
        var random = new Random(6);
        var itemTokens = Random(random, 30 * ItemDim, 1f);
        // Items 4, 11 and 25 share one token, so every one of their scores is bit-identical.
        foreach (int twin in new[] { 11, 25 })
        {
            itemTokens.AsSpan(4 * ItemDim, ItemDim).CopyTo(itemTokens.AsSpan(twin * ItemDim));
        }
        var tokens = Random(random, TokensPerQuery * TokenDim, 1f);
        int[] candidates = [25, 2, 11, 4, 19];
        var (ids, scores, counts) = (new int[5], new float[5], new int[1]);
        var (refIds, refScores, refCounts) = (new int[5], new float[5], new int[1]);
        using var refiner = new GpuRefiner(fixture.Device, mlp, itemTokens);
        refiner.Refine(tokens, TokensPerQuery, [0, 5], candidates, 5, ids, scores, counts);
        RefineReference.Refine(mlp, itemTokens, tokens, TokensPerQuery, [0, 5], candidates, 5, refIds, refScores, refCounts);
        Assert.Equal(refIds, ids);
        int first = Array.IndexOf(ids, 4);
        Assert.Equal([4, 11, 25], ids[first..(first + 3)]);
        Assert.Equal(scores[first], scores[first + 2]);
    }

    [Fact]
    public void Bad_arguments_name_the_value()
    {
        var mlp = Mlp(1);
        var itemTokens = new float[10 * ItemDim];
        var tokens = new float[TokensPerQuery * TokenDim];
        using var refiner = new GpuRefiner(fixture.Device, mlp, itemTokens);
        var (ids, scores, counts) = (new int[3], new float[3], new int[1]);
        var e = Assert.Throws<ArgumentException>(() => refiner.Refine(tokens, TokensPerQuery, [0, 3], [1, 5, 1], 3, ids, scores, counts));
        Assert.Contains("lists item 1 twice", e.Message);
        e = Assert.Throws<ArgumentException>(() => refiner.Refine(tokens, TokensPerQuery, [0, 2], [1, 10], 3, ids, scores, counts));
        Assert.Contains("is item 10; expected 0..9", e.Message);
        e = Assert.Throws<ArgumentException>(() => refiner.Refine(tokens, 3, [0, 2], [1, 2], 3, ids, scores, counts));
        Assert.Contains("expected 1 queries × 3 tokens × 6", e.Message);
        e = Assert.Throws<ArgumentException>(() => refiner.Refine(tokens, TokensPerQuery, [0, 2, 1], [1, 2], 3, ids, scores, counts));
        Assert.Contains("offsets", e.Message);
        Assert.Throws<ArgumentException>(() => new GpuRefiner(fixture.Device, mlp, new float[ItemDim + 1]));
    }
}
