using SparCode.IndexBuild;
using SparCode.Data;
using SparCode.Engine;

namespace SparCode.Training.Tests;

/// <summary>Trains tiny models once per class (seconds) and checks training, export and serving.</summary>
public sealed class TinyModels : IDisposable
{
    public TinyModels()
    {
        Data = CrossFeatureGenerator.Generate(new CrossFeatureOptions { Users = 400, Items = 300, Genres = 6, Levels = 4, MinLength = 6, MaxLength = 12, PopularitySkew = 1.0, Seed = 11 });
        var options = new TrainOptions
        {
            EmbeddingDim = 16, HistoryLength = 10, TowerWidth = 32, UserTokens = 2, TokenDim = 8, Subspaces = 2, CodebookSize = 8,
            ItemTokens = 2, MlpWidth = 32, Negatives = 32, BatchSize = 16, Epochs = 4, Patience = 4, Seed = 5, Threads = 1, LearningRate = 3e-3,
        };
        (SparCode, SparCodeEpochs, _) = Trainer.Train(Data, options, null);
        Sparsity = new SparsityOptions { Density = 0.1 };
        Table = CodeTable.Build(SparCode, Data, Sparsity);
        IndexPath = Path.Combine(Directory.CreateTempSubdirectory("sparcode-train-").FullName, "tiny.sci");
        Report = Exporter.WriteScored(SparCode, Data, Table, Sparsity, IndexPath);
    }

    public SequenceDataset Data { get; }
    public TrainedModel SparCode { get; }
    public IReadOnlyList<EpochRecord> SparCodeEpochs { get; }
    public SparsityOptions Sparsity { get; }
    public CodeTable Table { get; }
    public string IndexPath { get; }
    public ExportReport Report { get; }

    public void Dispose()
    {
        SparCode.Dispose();
        Directory.Delete(Path.GetDirectoryName(IndexPath)!, recursive: true);
    }
}

public sealed class TrainingTests(TinyModels tiny) : IClassFixture<TinyModels>
{
    [Fact]
    public void LossFalls()
    {
        var epochs = tiny.SparCodeEpochs;
        Assert.True(epochs.Count >= 2);
        Assert.True(epochs[^1].Loss < epochs[0].Loss * 0.95, $"loss {epochs[0].Loss} → {epochs[^1].Loss}");
    }

    [Fact]
    public void EveryCodebookUsesMoreThanOneCodeword()
    {
        Assert.All(tiny.SparCodeEpochs[^1].CodebookUsage, used => Assert.True(used > 1, $"usage {string.Join("/", tiny.SparCodeEpochs[^1].CodebookUsage)}"));
        Assert.True(tiny.Table.UsedCodes.Length > 1);
    }

    [Fact]
    public void ServedIndexReturnsExactlyTheExhaustiveQuantizedScores()
    {
        var (_, _, exhaustive) = Evaluator.Exhaustive(tiny.SparCode, tiny.Data, tiny.Table);
        var (_, served) = Evaluator.Served(tiny.IndexPath, tiny.Data, threads: 1);
        Assert.Equal(exhaustive.Users, served.Users);
        Assert.True(served.Users.Length > 300);
        Assert.Equal(exhaustive.Codes, served.Codes);
        Assert.Equal(exhaustive.Ids, served.Ids);
        Assert.Equal(exhaustive.Scores, served.Scores);
        // Not vacuous: most users have positive scores from the lists, not only the fill.
        Assert.True(served.Scores.Count(s => s > 0) > served.Scores.Length / 2);
    }

    [Fact]
    public void ExportKeepsAtMostTheTargetPerCodeAndRemapsUnusedCodes()
    {
        using var index = SparCodeIndex.Open(tiny.IndexPath);
        int keep = tiny.Sparsity.Keep(tiny.Data.ItemCount);
        Assert.Equal(30, keep);
        Assert.Equal(tiny.Report.CodesUsed, tiny.Table.UsedCodes.Length);
        for (int code = 0; code < index.Dimensions.CodeCount; code++)
        {
            int length = index.PostingListLength(code);
            var (items, scores) = (new int[length], new float[length]);
            index.CopyPostingList(code, items, scores);
            bool used = tiny.Table.UsedCodes.Contains(code);
            Assert.True(used ? items.Length is > 0 and <= 30 : items.Length == 0);
            Assert.All(scores, s => Assert.True(s > 0));
            Assert.Contains(tiny.Table.Remap[code], tiny.Table.UsedCodes);
        }
        Assert.Contains("\"unusedRule\"", index.Description.MetadataJson, StringComparison.Ordinal);
    }

    [Fact]
    public void SavedModelReloadsWithTheSameScores()
    {
        string folder = Directory.CreateTempSubdirectory("sparcode-model-").FullName;
        try
        {
            tiny.SparCode.Save(folder, new ModelManifest(tiny.SparCode.Options, tiny.Data.ItemCount, "synthetic", InteractionFormat.Auto, 1, 0));
            var (loaded, _) = TrainedModel.Load(folder);
            using (loaded)
            {
                var a = Evaluator.Exact("a", tiny.SparCode, tiny.Data);
                var b = Evaluator.Exact("b", loaded, tiny.Data);
                Assert.Equal(a.Hr, b.Hr);
                Assert.Equal(a.Ndcg, b.Ndcg);
            }
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
