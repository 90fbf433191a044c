namespace SparCode.Engine.Gpu.Tests;

[Collection("device")]
public sealed class GpuInteractionScorerTests(DeviceFixture fixture)
{
    private static float[] Random(Random random, int count, float scale) =>
        [.. Enumerable.Range(0, count).Select(_ => (random.NextSingle() * 2f - 1f) * scale)];

    private static InteractionMlp Mlp(int seed, int tokenDim, int itemDim, int[] widths)
    {
        var random = new Random(seed);
        var hidden = new List<(float[], float[])>();
        for (int l = 1; l < widths.Length; l++)
        {
            hidden.Add((Random(random, widths[l] * widths[l - 1], 1f / MathF.Sqrt(widths[l - 1])), Random(random, widths[l], 0.1f)));
        }
        return new InteractionMlp(tokenDim, itemDim, Random(random, widths[0] * tokenDim, 0.5f), Random(random, widths[0] * itemDim, 0.5f),
            Random(random, widths[0], 0.1f), hidden, Random(random, widths[^1], 0.5f), 0.05f);
    }

    private static void Close(float expected, float actual, string where) =>
        Assert.True(Math.Abs(actual - expected) <= 1e-4 * Math.Max(1, Math.Abs(expected)), $"{where}: {actual} vs {expected}");

    [Theory]
    [InlineData(1, 1, 8, 12, new[] { 16, 8 })]
    [InlineData(33, 7, 5, 9, new[] { 17, 33, 4 })]
    [InlineData(3, 130, 6, 6, new[] { 20 })]
    public void Score_all_equals_the_reference_mlp(int tokenCount, int itemCount, int tokenDim, int itemDim, int[] widths) =>
        AssertScoreAllEqualsReference(fixture.Device, tokenCount, itemCount, tokenDim, itemDim, widths, maxPairs: 2 * itemCount + 1);

    [Fact]
    public void A_token_row_wider_than_one_pass_is_scored_in_item_chunks() =>
        AssertScoreAllEqualsReference(fixture.Device, tokenCount: 3, itemCount: 1000, tokenDim: 4, itemDim: 6, [8, 5], maxPairs: 300, dotPath: true);

    /// <summary>
    /// ScoreAll equals the reference MLP on every (token, item), every token row is delivered once, and with
    /// <paramref name="dotPath"/> the dot path is on.
    /// </summary>
    internal static void AssertScoreAllEqualsReference(GpuDevice device, int tokenCount, int itemCount, int tokenDim, int itemDim, int[] widths,
        int maxPairs, bool dotPath = false)
    {
        var mlp = Mlp(tokenCount, tokenDim, itemDim, widths) with { DotPath = dotPath };
        var random = new Random(9);
        var tokens = Random(random, tokenCount * tokenDim, 1f);
        var items = Random(random, itemCount * itemDim, 1f);
        using var scorer = new GpuInteractionScorer(device, mlp, maxPairs);
        var seen = new bool[tokenCount];
        scorer.ScoreAll(tokens, items, (first, count, scores) =>
        {
            for (int t = 0; t < count; t++)
            {
                seen[first + t] = true;
                for (int i = 0; i < itemCount; i++)
                {
                    float expected = mlp.ScoreReference(tokens.AsSpan((first + t) * tokenDim, tokenDim), items.AsSpan(i * itemDim, itemDim));
                    Close(expected, scores[t * itemCount + i], $"token {first + t} item {i}");
                }
            }
        });
        Assert.All(seen, Assert.True);
    }

    [Fact]
    public void One_pass_of_more_rows_than_grid_y_holds_scores_like_the_reference()
    {
        // CUDA (and ILGPU's CPU accelerator) cap grid Y at 65,535 groups; with this accelerator's GEMM tile that is
        // the row count below, so a GEMM with row tiles on Y would throw. One token against every item makes one
        // pass of that many pairs, and the item-side first layer a GEMM of as many rows. Width 2 keeps it fast.
        var device = fixture.Device;
        int tile = Math.Min(InteractionKernels.MaxTile, (int)Math.Sqrt(device.Accelerator.MaxNumThreadsPerGroup));
        int itemCount = 65_535 * tile + 1_000;
        Assert.True(itemCount > 262_000, $"tile {tile}");
        var mlp = Mlp(2, tokenDim: 1, itemDim: 1, [2]);
        var random = new Random(3);
        var token = Random(random, 1, 1f);
        var items = Random(random, itemCount, 1f);
        using var scorer = new GpuInteractionScorer(device, mlp, maxPairs: itemCount);
        int blocks = 0;
        scorer.ScoreAll(token, items, (first, count, scores) =>
        {
            blocks++;
            Assert.Equal((0, 1, itemCount), (first, count, scores.Length));
            for (int i = 0; i < itemCount; i += 997)
            {
                Close(mlp.ScoreReference(token, items.AsSpan(i, 1)), scores[i], $"item {i}");
            }
            Close(mlp.ScoreReference(token, items.AsSpan(itemCount - 1, 1)), scores[itemCount - 1], "last item");
        });
        Assert.Equal(1, blocks);
    }

    [Fact]
    public void Score_pairs_equals_the_reference_mlp_across_passes()
    {
        const int tokenDim = 6, itemDim = 10;
        var mlp = Mlp(4, tokenDim, itemDim, [12, 12, 12]);
        var random = new Random(10);
        var tokens = Random(random, 8 * tokenDim, 1f);
        var items = Random(random, 40 * itemDim, 1f);
        var a = Enumerable.Range(0, 4097).Select(_ => random.Next(8)).ToArray();
        var b = Enumerable.Range(0, 4097).Select(_ => random.Next(40)).ToArray();
        var scores = new float[a.Length];
        using var scorer = new GpuInteractionScorer(fixture.Device, mlp, maxPairs: 1000);
        scorer.ScorePairs(tokens, items, a, b, scores);
        for (int p = 0; p < a.Length; p++)
        {
            Close(mlp.ScoreReference(tokens.AsSpan(a[p] * tokenDim, tokenDim), items.AsSpan(b[p] * itemDim, itemDim)), scores[p], $"pair {p}");
        }
    }

    [Fact]
    public void The_dot_path_adds_the_token_against_the_first_item_token()
    {
        const int tokenDim = 5, itemDim = 11;
        var plain = Mlp(6, tokenDim, itemDim, [9, 7]);
        var dot = plain with { DotPath = true };
        var random = new Random(12);
        var tokens = Random(random, 7 * tokenDim, 1f);
        var items = Random(random, 13 * itemDim, 1f);
        using var scorer = new GpuInteractionScorer(fixture.Device, dot, maxPairs: 20);
        scorer.ScoreAll(tokens, items, (first, count, scores) =>
        {
            for (int t = 0; t < count; t++)
            {
                for (int i = 0; i < 13; i++)
                {
                    var z = tokens.AsSpan((first + t) * tokenDim, tokenDim);
                    var v = items.AsSpan(i * itemDim, itemDim);
                    float inner = 0f;
                    for (int j = 0; j < tokenDim; j++)
                    {
                        inner += z[j] * v[j];
                    }
                    Close(dot.ScoreReference(z, v), scores[t * 13 + i], $"token {first + t} item {i}");
                    Close(plain.ScoreReference(z, v) + inner, scores[t * 13 + i], $"token {first + t} item {i}, plain + ⟨z, v⟩");
                }
            }
        });
        int[] a = [0, 6, 3, 3], b = [12, 0, 5, 5];
        var pairScores = new float[4];
        scorer.ScorePairs(tokens, items, a, b, pairScores);
        for (int p = 0; p < 4; p++)
        {
            Close(dot.ScoreReference(tokens.AsSpan(a[p] * tokenDim, tokenDim), items.AsSpan(b[p] * itemDim, itemDim)), pairScores[p], $"pair {p}");
        }
        Assert.Contains("ItemDim ≥ TokenDim", Assert.Throws<ArgumentException>(() => new GpuInteractionScorer(fixture.Device, Mlp(1, 6, 4, [8]) with { DotPath = true })).Message);
    }

    [Fact]
    public void Bad_shapes_are_rejected()
    {
        var mlp = Mlp(1, 4, 4, [8]);
        Assert.Throws<ArgumentException>(() => new GpuInteractionScorer(fixture.Device, mlp with { Output = new float[3] }));
        using var scorer = new GpuInteractionScorer(fixture.Device, mlp);
        var e = Assert.Throws<ArgumentException>(() => scorer.ScorePairs(new float[8], new float[8], [0, 2], [0, 0], new float[2]));
        Assert.Contains("Pair 1 is (2, 0)", e.Message);
    }
}
