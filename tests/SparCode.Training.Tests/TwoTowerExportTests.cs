using SparCode.Data;

namespace SparCode.Training.Tests;

public sealed class TwoTowerExportTests
{
    [Fact]
    public void ExtractedVectorsReproduceTheTwoTowerExactRow()
    {
        var data = CrossFeatureGenerator.Generate(new CrossFeatureOptions { Users = 300, Items = 200, Genres = 5, Levels = 4, MinLength = 6, MaxLength = 12, PopularitySkew = 1.0, Seed = 13 });
        var options = new TrainOptions { Model = ModelKind.TwoTower, EmbeddingDim = 16, HistoryLength = 10, TowerWidth = 32, Negatives = 32, BatchSize = 64, Epochs = 3, Patience = 3, Seed = 5, Threads = 1, LearningRate = 3e-3 };
        var (model, _, _) = Trainer.Train(data, options, null);
        using (model)
        {
            var input = TwoTowerExport.Extract(model, data);
            var users = Evaluator.TestUsers(data);
            Assert.Equal(16, input.Dimension);
            Assert.Equal(data.ItemIds, input.ItemIds);
            Assert.Equal(data.ItemCount * 16, input.Items.Length);
            Assert.Equal(users.Length * 16, input.Users.Length);
            Assert.Equal(users.Length, input.Histories.Length);
            for (int q = 0; q < users.Length; q++)
            {
                var seq = data.Sequences[users[q]];
                Assert.Equal(data.ItemIds[seq[^1]], input.HeldOut[q]);
                Assert.Equal(seq[..^1].Select(i => data.ItemIds[i]), input.Histories[q]);
            }
            Assert.Contains(input.Users, v => v != 0f);

            // Ranking the held-out item by inner product over the extracted vectors, history excluded, is
            // what eval's "two-tower exact" row does in torch; only float summation order differs.
            var metrics = new RankingMetrics();
            var scores = new float[data.ItemCount];
            for (int q = 0; q < users.Length; q++)
            {
                for (int i = 0; i < data.ItemCount; i++)
                {
                    float sum = 0;
                    for (int j = 0; j < 16; j++)
                    {
                        sum += input.Users[q * 16 + j] * input.Items[i * 16 + j];
                    }
                    scores[i] = sum;
                }
                var seq = data.Sequences[users[q]];
                metrics.Add(RankingMetrics.Rank(scores, seq[^1], seq.AsSpan(0, seq.Length - 1)));
            }
            // Score by score: the extracted vectors give torch's full-catalogue scores.
            using (TorchSharp.torch.no_grad())
            {
                var rows = users.Take(20).Select(u => (u, data.Sequences[u].Length - 1)).ToArray();
                using var torchScores = model.Net.ScoreAll(Batches.Histories(data.Sequences, rows, options.HistoryLength));
                var expected = torchScores.contiguous().data<float>().ToArray();
                for (int q = 0; q < rows.Length; q++)
                {
                    for (int i = 0; i < data.ItemCount; i++)
                    {
                        float dot = 0;
                        for (int j = 0; j < 16; j++)
                        {
                            dot += input.Users[q * 16 + j] * input.Items[i * 16 + j];
                        }
                        Assert.Equal(expected[q * data.ItemCount + i], dot, 1e-4f);
                    }
                }
            }
            var row = Evaluator.Exact("two-tower exact", model, data);
            for (int c = 0; c < 3; c++)
            {
                Assert.InRange(metrics.HitRate(metrics.Cutoffs[c]), row.Hr[c] - 2.0 / users.Length, row.Hr[c] + 2.0 / users.Length);
            }
        }
    }

    [Fact]
    public void SparCodeModelOrWrongDataIsRefused()
    {
        var data = CrossFeatureGenerator.Generate(new CrossFeatureOptions { Users = 50, Items = 40, Genres = 4, Levels = 2, MinLength = 4, MaxLength = 6, Seed = 3 });
        using var sparCode = TrainedModel.Create(new TrainOptions { Model = ModelKind.SparCode, EmbeddingDim = 8, TowerWidth = 8, UserTokens = 2, TokenDim = 4, Subspaces = 2, CodebookSize = 4, ItemTokens = 2, MlpWidth = 8 }, data.ItemCount);
        Assert.Contains("SparCode model", Assert.Throws<ArgumentException>(() => TwoTowerExport.Extract(sparCode, data)).Message);
        using var twoTower = TrainedModel.Create(new TrainOptions { Model = ModelKind.TwoTower, EmbeddingDim = 8, TowerWidth = 8 }, data.ItemCount + 1);
        Assert.Contains("trained on 41 items", Assert.Throws<ArgumentException>(() => TwoTowerExport.Extract(twoTower, data)).Message);
    }
}
