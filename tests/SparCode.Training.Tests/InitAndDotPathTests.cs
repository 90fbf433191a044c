using SparCode.IndexBuild;
using SparCode.Data;
using static TorchSharp.torch;

namespace SparCode.Training.Tests;

/// <summary>The initialization that keeps user signal in the tokens, and the optional dot path in f.</summary>
public sealed class InitAndDotPathTests
{
    private static SequenceDataset SmallData() =>
        CrossFeatureGenerator.Generate(new CrossFeatureOptions { Users = 300, Items = 200, Genres = 6, Levels = 4, MinLength = 6, MaxLength = 12, Seed = 3 });

    /// <summary>
    /// Before any training, different histories must give different tokens. With TorchSharp's default Linear
    /// init (uniform ±1/√fan_in plus biases) the user-dependent part of a token was about 1e-4 of its norm at
    /// the demo's sizes, so every user quantized to the same code and the query side never learned.
    /// </summary>
    [Theory]
    [InlineData(TowerKind.Mean)]
    [InlineData(TowerKind.Attention)]
    public void UntrainedTokensCarryTheHistory(TowerKind tower)
    {
        var data = SmallData();
        var o = new TrainOptions { Tower = tower, EmbeddingDim = 32, TokenDim = 32, TowerWidth = 128, UserTokens = 4, CodebookSize = 16, ItemTokens = 2, MlpWidth = 64, Seed = 1, Threads = 1 };
        manual_seed(o.Seed);
        using var model = TrainedModel.Create(o, data.ItemCount);
        model.Net.eval();
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var rows = Enumerable.Range(0, 200).Select(u => (u, data.Train(u).Length)).ToArray();
        var z = model.SparCode.Tokens(Batches.Histories(data.Sequences, rows, o.HistoryLength));
        double spread = z.std(0L).mean().item<float>();
        double norm = z.mean([0L]).norm(1L).mean().item<float>();
        // He init gives about 8e-3 here; the default init gave about 1e-4 (measured on the demo data).
        Assert.True(spread > 2e-3 * norm, $"token std across users {spread:E2} against a mean token norm of {norm:E2}");
        var (codes, _) = model.SparCode.Quantize(z.reshape(-1, o.TokenDim), update: true);
        Assert.True(codes.unique().Item1.shape[0] > 10, "the first codebook seeding put the untrained tokens on 10 codes or fewer");
    }

    /// <summary>With the dot path, f is the MLP plus ⟨ẑ, v⁽¹⁾⟩, and the exported index still serves exactly the exhaustive quantized scores.</summary>
    [Fact]
    public void DotPathModelExportsAndServesExactly()
    {
        var data = SmallData();
        var o = new TrainOptions
        {
            EmbeddingDim = 16, HistoryLength = 10, TowerWidth = 32, UserTokens = 2, TokenDim = 8, Subspaces = 2, CodebookSize = 8,
            ItemTokens = 2, MlpWidth = 16, Negatives = 16, BatchSize = 64, Epochs = 2, Patience = 2, Seed = 4, Threads = 1, LearningRate = 3e-3, DotPath = true,
        };
        var (model, epochs, _) = Trainer.Train(data, o, null);
        using (model)
        {
            var net = model.SparCode;
            using (var scope = NewDisposeScope())
            using (no_grad())
            {
                var codes = arange(0, 8, dtype: ScalarType.Int64) * 7;
                var itemPart = net.ItemPart(arange(1, data.ItemCount + 1, dtype: ScalarType.Int64));
                var zq = net.CodeVectors(codes);
                var userPart = net.UserPart(zq);
                Assert.Equal(o.MlpWidth + o.TokenDim, itemPart.shape[1]);
                var mlp = net.Rest(userPart.narrow(1, 0, o.MlpWidth).unsqueeze(1) + itemPart.narrow(1, 0, o.MlpWidth).unsqueeze(0));
                var dot = zq.matmul(itemPart.narrow(1, o.MlpWidth, o.TokenDim).t());
                var f = net.ScoreCodes(codes, itemPart);
                Assert.True(f.allclose(mlp + dot, rtol: 1e-5, atol: 1e-5));
                Assert.True(dot.abs().max().item<float>() > 1e-3, "the dot path contributes nothing");
            }
            var sparsity = new SparsityOptions { Density = 0.2 };
            var table = CodeTable.Build(model, data, sparsity);
            string path = Path.Combine(Directory.CreateTempSubdirectory("sparcode-dot-").FullName, "dot.sci");
            try
            {
                Exporter.WriteScored(model, data, table, sparsity, path);
                var (_, _, exhaustive) = Evaluator.Exhaustive(model, data, table);
                var (_, served) = Evaluator.Served(path, data, threads: 1);
                Assert.Equal(exhaustive.Codes, served.Codes);
                Assert.Equal(exhaustive.Ids, served.Ids);
                Assert.Equal(exhaustive.Scores, served.Scores);
                Assert.True(served.Scores.Count(s => s > 0) > served.Scores.Length / 2);
            }
            finally
            {
                Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
            }
        }
    }
}
