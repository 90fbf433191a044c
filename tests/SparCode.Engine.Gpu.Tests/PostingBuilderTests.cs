namespace SparCode.Engine.Gpu.Tests;

[Collection("device")]
public sealed class PostingBuilderTests(DeviceFixture fixture)
{
    private static float[] Random(Random random, int count, float scale) =>
        [.. Enumerable.Range(0, count).Select(_ => (random.NextSingle() * 2f - 1f) * scale)];

    [Theory]
    [InlineData(1, 1, 1)]       // one code, one item: keep everything
    [InlineData(33, 97, 10)]    // odd sizes, several codes per pass
    [InlineData(5, 130, 130)]   // keep = n: τ just below the smallest, every item kept
    public void Device_postings_equal_the_reference_rule(int codes, int items, int keep)
    {
        const int tokenDim = 6, itemDim = 10;
        var random = new Random(codes * 7 + items);
        var mlp = new InteractionMlp(tokenDim, itemDim, Random(random, 16 * tokenDim, 0.5f), Random(random, 16 * itemDim, 0.5f), Random(random, 16, 0.1f),
            [(Random(random, 12 * 16, 0.3f), Random(random, 12, 0.1f))], Random(random, 12, 0.5f), 0.05f);
        var codeTokens = Random(random, codes * tokenDim, 1f);
        var itemTokens = Random(random, items * itemDim, 1f);
        using var scorer = new GpuPairScorer(fixture.Device, mlp, itemTokens, maxPairs: 3 * items);
        using var plain = new ReferencePairScorer(mlp, itemTokens);
        var device = PostingBuilder.Build(scorer, codeTokens, keep);
        var reference = PostingBuilder.Build(plain, codeTokens, keep);
        for (int c = 0; c < codes; c++)
        {
            Assert.Equal(reference.Items[c], device.Items[c]);
            Assert.Equal(Math.Min(keep, items), device.Items[c].Length);
            Assert.True(Math.Abs(reference.Thresholds[c] - device.Thresholds[c]) <= 1e-4 * Math.Max(1, Math.Abs(reference.Thresholds[c])), $"τ of code {c}");
            for (int p = 0; p < device.Scores[c].Length; p++)
            {
                Assert.True(device.Scores[c][p] > 0);
                Assert.True(Math.Abs(reference.Scores[c][p] - device.Scores[c][p]) <= 1e-4 * Math.Max(1, Math.Abs(reference.Thresholds[c])), $"code {c} posting {p}");
            }
        }
    }

    [Fact]
    public void Threshold_counts_ties_like_topk()
    {
        float[] f = [3, 1, 3, 2, 3, 0];
        Assert.Equal(3f, PostingBuilder.Threshold(f, 2));   // top 3 are 3, 3, 3: τ = 3, nothing is strictly above
        Assert.Empty(PostingBuilder.KeepAbove(f, 3f).Items);
        Assert.Equal(2f, PostingBuilder.Threshold(f, 3));
        Assert.Equal([0, 2, 4], PostingBuilder.KeepAbove(f, 2f).Items);
        Assert.Equal(MathF.BitDecrement(0f), PostingBuilder.Threshold(f, 6));
        Assert.Equal(6, PostingBuilder.KeepAbove(f, PostingBuilder.Threshold(f, 6)).Items.Length);
    }

    [Fact]
    public void Fallback_order_is_popularity_descending_ties_by_item()
    {
        Assert.Equal([1, 3, 0, 2, 4], PostingBuilder.FallbackOrder([2L, 5, 1, 5, 0]));
    }

    [Fact]
    public void Concatenate_gives_unused_codes_empty_lists_and_checks_the_used_codes()
    {
        var postings = new CodePostings([[4, 7], [1]], [[0.5f, 0.25f], [2f]], [0f, 1f]);
        var (offsets, items, scores) = PostingBuilder.Concatenate(5, [1, 3], postings);
        Assert.Equal([0L, 0, 2, 2, 3, 3], offsets);
        Assert.Equal([4, 7, 1], items);
        Assert.Equal([0.5f, 0.25f, 2f], scores);
        Assert.Contains("must ascend", Assert.Throws<ArgumentException>(() => PostingBuilder.Concatenate(5, [3, 1], postings)).Message);
        Assert.Contains("0..4", Assert.Throws<ArgumentException>(() => PostingBuilder.Concatenate(5, [1, 5], postings)).Message);
        Assert.Contains("one row per used code", Assert.Throws<ArgumentException>(() => PostingBuilder.Concatenate(5, [1], postings)).Message);
    }
}
