using System.Text.Json;
using SparCode.Data;
using SparCode.IndexBuild;

namespace SparCode.Training.Tests;

/// <summary>
/// The pipelines behind the command line, called as a library (no CLI): train into a folder, reload the model and
/// its data from the manifest, evaluate from the folder.
/// </summary>
public sealed class LibraryPipelineTests : IDisposable
{
    private static readonly TrainOptions Tiny = new()
    {
        EmbeddingDim = 16, HistoryLength = 10, TowerWidth = 32, UserTokens = 2, TokenDim = 8, Subspaces = 2, CodebookSize = 8,
        ItemTokens = 2, MlpWidth = 32, Negatives = 16, BatchSize = 32, Epochs = 1, QuantizerWarmupEpochs = 0, Seed = 5, Threads = 1,
    };

    private readonly string _dir = Directory.CreateTempSubdirectory("sparcode-library-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static void AssertSameData(SequenceDataset expected, SequenceDataset actual)
    {
        Assert.Equal(expected.Source, actual.Source);
        Assert.Equal(expected.ItemIds, actual.ItemIds);
        Assert.Equal(expected.UserIds, actual.UserIds);
        Assert.Equal(expected.Sequences, actual.Sequences);
    }

    [Fact]
    public void A_saved_model_reloads_its_synthetic_data_and_evaluates_from_its_folder()
    {
        string spec = DataSource.SyntheticSpec(200, 120);
        string folder = Path.Combine(_dir, "model");
        var lines = new List<string>();
        var log = TrainingLog.Train(spec, InteractionFormat.Auto, Tiny, folder, lines.Add);
        Assert.StartsWith("data: synthetic", lines[0], StringComparison.Ordinal);
        Assert.Single(log.Epochs);

        using (var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(folder, TrainingLog.FileName))))
        {
            Assert.Equal(spec, json.RootElement.GetProperty("manifest").GetProperty("data").GetString());
            Assert.Equal(1, json.RootElement.GetProperty("epochs").GetArrayLength());
        }

        var (model, manifest) = TrainedModel.Load(folder);
        model.Dispose();
        Assert.Equal(spec, manifest.Data);
        var reloaded = manifest.LoadData();
        AssertSameData(CrossFeatureGenerator.Generate(DataSource.SyntheticOptions(200, 120)), reloaded);
        Assert.Equal(manifest.ItemCount, reloaded.ItemCount);

        var (report, metrics) = Evaluation.Run(new EvaluationOptions { Model = folder, Sparsity = new SparsityOptions { Density = 0.2 }, CeilingUsers = 50 });
        Assert.Equal(Path.Combine(folder, Evaluation.MetricsFile), metrics);
        Assert.True(File.Exists(Path.Combine(folder, EvaluationOptions.DefaultIndexFile)));
        Assert.NotNull(report.Export);
        Assert.Equal(4, report.Rows.Count);
        Assert.Equal(Evaluator.TestUsers(reloaded).Length, report.Users);
        using (var json = JsonDocument.Parse(File.ReadAllText(metrics)))
        {
            Assert.Equal(4, json.RootElement.GetProperty("rows").GetArrayLength());
        }

        // The index exists now, so a second run serves it without exporting, and writes <index>.metrics.json for a named index.
        string index = Path.Combine(folder, EvaluationOptions.DefaultIndexFile);
        var (again, againPath) = Evaluation.Run(new EvaluationOptions { Model = folder, Index = index, Sparsity = new SparsityOptions { Density = 0.2 }, CeilingUsers = 50 });
        Assert.Null(again.Export);
        Assert.Equal(Path.ChangeExtension(index, ".metrics.json"), againPath);
        Assert.Equal(report.Rows[0].Hr, again.Rows[0].Hr);
    }

    [Fact]
    public void A_saved_model_reloads_its_file_data_or_a_given_source()
    {
        string file = Path.Combine(_dir, "sequences.txt");
        var generated = CrossFeatureGenerator.Generate(new CrossFeatureOptions { Users = 120, Items = 60, MinLength = 4, MaxLength = 10, Seed = 9 });
        File.WriteAllLines(file, generated.Sequences.Select((s, u) => $"{u + 1} {string.Join(' ', s.Select(i => i + 100))}"));
        string folder = Path.Combine(_dir, "model");
        TrainingLog.Train(file, InteractionFormat.Auto, Tiny, folder);

        var (model, manifest) = TrainedModel.Load(folder);
        model.Dispose();
        var lines = new List<string>();
        var expected = SequenceDataset.Load(file);
        AssertSameData(expected, manifest.LoadData(log: lines.Add));
        Assert.Equal($"data: {Path.GetFullPath(file)} (Sequence): {expected.UserCount:N0} users, {expected.ItemCount:N0} items, {expected.InteractionCount:N0} interactions", Assert.Single(lines));

        // Another source given: it is loaded instead of the manifest's.
        AssertSameData(DataSource.Load("synthetic:150:40"), manifest.LoadData("synthetic:150:40"));
    }
}
