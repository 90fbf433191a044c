using SparCode.IndexBuild;
using SparCode.Data;
using static TorchSharp.torch;

namespace SparCode.Training.Tests;

/// <summary>Training over every position of a window: the windows, the towers' causal states, the recipe's options and flat memory.</summary>
public sealed class SequenceTrainingTests
{
    private static SequenceDataset SmallData(int seed = 3) =>
        CrossFeatureGenerator.Generate(new CrossFeatureOptions { Users = 300, Items = 200, Genres = 6, Levels = 4, MinLength = 6, MaxLength = 40, Seed = seed });

    private static TrainOptions Tiny(ModelKind model, TowerKind tower) => new()
    {
        Model = model, Tower = tower, EmbeddingDim = 16, HistoryLength = 8, TowerWidth = 32, Blocks = 2, Heads = 2, UserTokens = 2, TokenDim = 8,
        Subspaces = 2, CodebookSize = 8, ItemTokens = 2, MlpWidth = 16, Negatives = 32, BatchSize = 32, Epochs = 3, Patience = 3, Seed = 7,
        Threads = 1, LearningRate = 3e-3, Dropout = 0.1,
    };

    [Theory]
    [InlineData(8, 0)]
    [InlineData(8, 7)]
    [InlineData(3, 2)]
    public void WindowsCoverEveryPredictionOnce(int length, int context)
    {
        var data = SmallData();
        var windows = Batches.Windows(data, length, context);
        for (int u = 0; u < data.UserCount; u++)
        {
            var mine = windows.Where(w => w.User == u).ToArray();
            var predicted = mine.SelectMany(w => Enumerable.Range(w.FirstTarget, w.End - w.FirstTarget)).Order().ToArray();
            Assert.Equal(Enumerable.Range(0, data.Train(u).Length - 1), predicted);
            Assert.All(mine, w => Assert.True(w.End - w.FirstTarget <= length && w.FirstTarget - w.Start <= context && w.Start >= 0));
            Assert.All(mine, w => Assert.True(w.FirstTarget - w.Start == Math.Min(context, w.FirstTarget)));
        }
        var (inputs, targets) = Batches.Windowed(data.Sequences, windows.Take(5).ToArray());
        using (inputs)
        using (targets)
        {
            var w = windows[0];
            var row = inputs[0].data<long>().ToArray();
            var next = targets[0].data<long>().ToArray();
            for (int a = w.Start; a < w.End; a++)
            {
                Assert.Equal(data.Sequences[w.User][a] + 1L, row[a - w.Start]);
                Assert.Equal(a >= w.FirstTarget ? data.Sequences[w.User][a + 1] + 1L : 0L, next[a - w.Start]);
            }
        }
    }

    /// <summary>
    /// What training optimises is what serving computes: the state at each position of a window equals the
    /// user vector of the history that ends there (the last L items), for both towers. This fails if the
    /// attention is not causal, if positions count differently in the two paths, or if the mean tower's
    /// sliding window is off by one.
    /// </summary>
    [Theory]
    [InlineData(TowerKind.Mean)]
    [InlineData(TowerKind.Attention)]
    public void StatesAtEveryPositionEqualTheServedUserVector(TowerKind tower)
    {
        var data = SmallData();
        var o = Tiny(ModelKind.TwoTower, tower);
        manual_seed(1);
        using var model = TrainedModel.Create(o, data.ItemCount);
        model.Net.eval();
        var net = (TwoTowerNet)model.Net;
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int context = tower == TowerKind.Mean ? o.HistoryLength - 1 : 0;
        var windows = Batches.Windows(data, o.HistoryLength, context).Where(w => w.End - w.Start >= 5).Take(20).ToArray();
        Assert.True(windows.Length == 20);
        var (inputs, _) = Batches.Windowed(data.Sequences, windows);
        var states = net.Tower.States(inputs, net.Items.forward(inputs));
        for (int r = 0; r < windows.Length; r++)
        {
            var w = windows[r];
            for (int a = w.FirstTarget; a < w.End; a++)
            {
                // The served history: the last L items up to a, within the window (the attention tower's window is its context).
                var rows = new[] { (w.User, a + 1) };
                var history = tower == TowerKind.Mean ? Batches.Histories(data.Sequences, rows, o.HistoryLength) : WindowPrefix(data, w, a);
                var served = net.User(history)[0];
                var trained = states[r, a - w.Start];
                float diff = (served - trained).abs().max().item<float>();
                Assert.True(diff < 1e-4f, $"window {r} position {a - w.Start}: state differs from the served user vector by {diff}");
            }
        }
    }

    private static Tensor WindowPrefix(SequenceDataset data, Window w, int a) =>
        tensor(data.Sequences[w.User].AsSpan(w.Start, a + 1 - w.Start).ToArray().Select(i => i + 1L).ToArray(), [1, a + 1 - w.Start]);

    [Theory]
    [InlineData(ModelKind.TwoTower, TowerKind.Attention, false)]
    [InlineData(ModelKind.TwoTower, TowerKind.Mean, true)]
    [InlineData(ModelKind.SparCode, TowerKind.Attention, false)]
    [InlineData(ModelKind.SparCode, TowerKind.Mean, true)]
    public void LossFallsAndNativeMemoryStaysFlat(ModelKind kind, TowerKind tower, bool inBatch)
    {
        var data = SmallData(5);
        var o = Tiny(kind, tower) with { Epochs = 5, Patience = 5, InBatchNegatives = inBatch, Normalize = kind == ModelKind.TwoTower, WeightDecay = 0.01 };
        var (model, epochs, _) = Trainer.Train(data, o, null);
        using (model)
        {
            Assert.Equal(5, epochs.Count);
            Assert.True(epochs[^1].Loss < epochs[0].Loss, $"loss {epochs[0].Loss} → {epochs[^1].Loss}");
            Assert.All(epochs, e => Assert.True(double.IsFinite(e.Loss)));
            // Every batch's tensors are disposed: the live count after epoch 3 (everything allocated once by
            // then, including the best checkpoint's copy, which SparCode first makes after its warm-up epoch)
            // does not grow with more epochs.
            Assert.True(epochs.Skip(3).All(e => e.LiveTensors <= epochs[2].LiveTensors), $"live native tensors by epoch: {string.Join(", ", epochs.Select(e => e.LiveTensors))}");
            Assert.True(epochs[^1].ResidentMiB > 0);
        }
    }

    [Fact]
    public void NormalisedTwoTowerServesUnitItemVectors()
    {
        var data = SmallData();
        var o = Tiny(ModelKind.TwoTower, TowerKind.Mean) with { Normalize = true, Epochs = 1 };
        var (model, _, _) = Trainer.Train(data, o, null);
        using (model)
        {
            var input = TwoTowerExport.Extract(model, data);
            for (int i = 0; i < data.ItemCount; i++)
            {
                double norm = Math.Sqrt(input.Items.AsSpan(i * o.EmbeddingDim, o.EmbeddingDim).ToArray().Sum(x => (double)x * x));
                Assert.InRange(norm, 0.999, 1.001);
            }
        }
    }

    [Fact]
    public void AttentionOptionsAreChecked()
    {
        Assert.Contains("heads must divide", new TrainOptions { Tower = TowerKind.Attention, EmbeddingDim = 64, Heads = 3 }.Problem(), StringComparison.Ordinal);
        Assert.Null(new TrainOptions { Tower = TowerKind.Attention, EmbeddingDim = 64, Heads = 2 }.Problem());
    }

    /// <summary>The torch-side ranking equals <see cref="RankingMetrics.Rank"/> on scores with many ties and repeated history items.</summary>
    [Fact]
    public void TorchRanksEqualTheReferenceRanks()
    {
        var data = SmallData();
        var random = new Random(4);
        var rows = Enumerable.Range(0, data.UserCount).Where(data.Evaluated).Select(u => (u, data.Sequences[u].Length - 1)).Take(64).ToArray();
        int n = data.ItemCount;
        // Scores on a coarse grid, so ties are common.
        var scores = new float[rows.Length * n];
        for (int j = 0; j < scores.Length; j++)
        {
            scores[j] = random.Next(8);
        }
        var expected = new RankingMetrics([1, 5, 10, 50]);
        for (int r = 0; r < rows.Length; r++)
        {
            var seq = data.Sequences[rows[r].u];
            expected.Add(RankingMetrics.Rank(scores.AsSpan(r * n, n), seq[^1], seq.AsSpan(0, seq.Length - 1)));
        }
        var actual = new RankingMetrics([1, 5, 10, 50]);
        using (var t = tensor(scores, [rows.Length, n]))
        {
            Evaluator.AddRanks(actual, data, rows, t);
        }
        foreach (int k in new[] { 1, 5, 10, 50 })
        {
            Assert.Equal(expected.HitRate(k), actual.HitRate(k));
            Assert.Equal(expected.Ndcg(k), actual.Ndcg(k), 12);
        }
        Assert.True(expected.HitRate(50) is > 0 and < 1);
    }

    /// <summary>
    /// Train/serve consistency for the attention tower: the engine's codes for every test user equal the torch
    /// model's, and the served top-50 equals the exhaustive score of the exported lists.
    /// </summary>
    [Fact]
    public void AttentionSparCodeExportsAndServesExactly()
    {
        var data = SmallData(9);
        var o = Tiny(ModelKind.SparCode, TowerKind.Attention) with { Epochs = 3, Patience = 3, BatchSize = 16, Blocks = 1, Heads = 1 };
        var (model, epochs, _) = Trainer.Train(data, o, null);
        string folder = Directory.CreateTempSubdirectory("sparcode-attention-").FullName;
        try
        {
            using (model)
            {
                var sparsity = new SparsityOptions { Density = 0.1 };
                var table = CodeTable.Build(model, data, sparsity);
                string path = Path.Combine(folder, "attention.sci");
                Exporter.WriteScored(model, data, table, sparsity, path);
                var (_, _, exhaustive) = Evaluator.Exhaustive(model, data, table);
                var (_, served) = Evaluator.Served(path, data, threads: 1);
                Assert.True(served.Users.Length > 250);
                Assert.Equal(exhaustive.Codes, served.Codes);
                Assert.Equal(exhaustive.Ids, served.Ids);
                Assert.Equal(exhaustive.Scores, served.Scores);
                // The tower itself, token by token: the engine's attention tower computes torch's function.
                using var index = SparCode.Engine.SparCodeIndex.Open(path);
                var tower = index.Tower;
                Assert.True(tower.HasAttention);
                var users = Evaluator.TestUsers(data).Take(100).ToArray();
                var rows = users.Select(u => (u, data.Sequences[u].Length - 1)).ToArray();
                float[] expected;
                using (no_grad())
                using (var z = model.SparCode.Tokens(Batches.Histories(data.Sequences, rows, o.HistoryLength)).contiguous())
                {
                    expected = z.data<float>().ToArray();
                }
                int width = o.UserTokens * o.TokenDim;
                var tokens = new float[width];
                var a = new float[tower.ScratchLength];
                var b = new float[tower.ScratchLength];
                double worst = 0;
                for (int r = 0; r < rows.Length; r++)
                {
                    tower.Tokens(data.Sequences[rows[r].u].AsSpan(0, rows[r].Item2), tokens, a, b);
                    for (int j = 0; j < width; j++)
                    {
                        worst = Math.Max(worst, Math.Abs(tokens[j] - expected[r * width + j]) / (1 + Math.Abs(expected[r * width + j])));
                    }
                }
                Assert.True(worst < 1e-4, $"engine tokens differ from torch's by up to {worst:E2} (relative)");
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
