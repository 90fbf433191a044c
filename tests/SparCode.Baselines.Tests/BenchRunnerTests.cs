using SparCode.Bench;

namespace SparCode.Baselines.Tests;

public sealed class BenchRunnerTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sparcode-bench-").FullName;

    [Fact]
    public void SmallEndToEndRunScoresEverySystemAndWritesReports()
    {
        var options = new BenchOptions
        {
            Items = 3000,
            Queries = 24,
            Rounds = 3,
            Warmup = 2,
            PostingsPerList = 300,
            Ef = [50, 200],
            Threads = 2,
            Block = 4,
            WorkFolder = _folder,
        };
        var result = BenchRunner.Run(options, "test", _ => { });
        Assert.Equal(["SparCode CPU", "SparCode CPU ×2 threads", "Two-tower exact", "Two-tower exact, 4 queries/pass", "Two-tower HNSW ef=50", "Two-tower HNSW ef=200"],
            result.Systems.Select(s => s.Name));
        // The engine is exact over its posting lists, and the scans are exhaustive: their answers must equal the references.
        foreach (var exact in result.Systems.Where(s => s.Ef is null))
        {
            Assert.Equal(1.0, exact.RecallAtK);
            Assert.Equal(1.0, exact.HitRateAtK);
        }
        Assert.All(result.Systems.Where(s => s.Ef is not null), s => Assert.InRange(s.RecallAtK, 0.5, 1.0));
        Assert.All(result.Systems, s => Assert.True(s.P50Micros > 0 && s.P99Micros >= s.P50Micros && s.Qps > 0 && s.IndexBytes > 0));
        Assert.True(result.Systems[0].MeanPostings > 0);
        Assert.True(result.SparCodeTowerP50Micros > 0);
        Assert.Contains("SparCode's latency includes its query tower", BenchReport.Markdown(result));

        string png = Path.Combine(_folder, "q.png");
        BenchReport.QualityPlot(result, png);
        Assert.True(new FileInfo(png).Length > 1000);
        Assert.False(result.TwoTowerExcludesHistory);
        Assert.Throws<ArgumentException>(() => BenchReport.QualityPlot(result, png, heldOut: true));
        Assert.Contains("| Two-tower HNSW ef=200 | 1 |", BenchReport.Markdown(result));
        Assert.Contains("\"RecallAtK\"", BenchReport.Json([result]));
        Assert.Equal(BenchReport.Markdown(result), BenchReport.Markdown(BenchReport.ReadJson(BenchReport.Json([result]))[0]));
        Assert.Contains("| 3,000 | SparCode CPU |", BenchReport.ScalingMarkdown([result, result]));
    }

    [Fact]
    public void GivenFilesAreUsedAsATrainedModelWouldBe()
    {
        // The path a trained model takes: an index file, a two-tower embeddings file, histories and held-out items.
        string index = Path.Combine(_folder, "given.sci");
        SparCode.Format.IndexWriter.Write(index, SparCode.Synthetic.SyntheticIndex.Create(new SparCode.Synthetic.SyntheticOptions { ItemCount = 800, MeanPostingsPerList = 100, Seed = 5 }));
        string tower = Path.Combine(_folder, "given.tt");
        SyntheticTwoTower.Create(new SyntheticTwoTowerOptions { ItemCount = 800, UserCount = 12, Dimension = 16 }).Write(tower);
        string histories = Path.Combine(_folder, "histories.txt");
        File.WriteAllLines(histories, Enumerable.Range(0, 12).Select(q => $"{q},{q + 100},{q + 200}"));
        string heldOut = Path.Combine(_folder, "held-out.txt");
        File.WriteAllLines(heldOut, Enumerable.Range(0, 12).Select(q => $"{q + 300}"));
        var result = BenchRunner.Run(new BenchOptions
        {
            IndexPath = index,
            TwoTowerPath = tower,
            HistoriesPath = histories,
            HeldOutPath = heldOut,
            Queries = 100,
            Rounds = 2,
            Ef = [400],
            Threads = 1,
            K = 10,
        }, "test", _ => { });
        Assert.Equal(12, result.Queries);
        Assert.Equal(800, result.Items);
        Assert.Equal(index, result.SparCodeSource);
        Assert.True(result.TwoTowerExcludesHistory);
        Assert.Equal(["SparCode CPU", "Two-tower exact", "Two-tower exact, 8 queries/pass", "Two-tower HNSW ef=400"], result.Systems.Select(s => s.Name));
        // Exact scans with the history skipped must equal the exhaustive answer with the history skipped.
        Assert.All(result.Systems.Where(s => s.Ef is null), s => Assert.Equal(1.0, s.RecallAtK));
        Assert.InRange(result.Systems[^1].RecallAtK, 0.9, 1.0);
        Assert.Contains("Every system excludes the query's history items", BenchReport.Markdown(result));
        string png = Path.Combine(_folder, "heldout.png");
        BenchReport.QualityPlot(result, png, heldOut: true);
        Assert.True(new FileInfo(png).Length > 1000);
        Assert.All(result.Systems, s => Assert.InRange(s.HeldOutHitRate!.Value, 0.0, 1.0));
        Assert.Contains("HR@10 held-out", BenchReport.Markdown(result));
    }

    [Fact]
    public void HistoriesBecomeDistinctAscendingRowsOfKnownIds()
    {
        var excluded = Exclusions.FromHistories([[30, 10, 30, 99], [], [20]], [10, 20, 30]);
        Assert.True(excluded.Any);
        Assert.Equal([0, 2], excluded.For(0).ToArray());
        Assert.Empty(excluded.For(1).ToArray());
        Assert.Equal([1], excluded.For(2).ToArray());
        Assert.False(Exclusions.None.Any);
        Assert.Empty(Exclusions.None.For(5).ToArray());
    }

    [Fact]
    public void HeldOutHitsCountQueriesWhoseItemWasReturned()
    {
        long[] ids = [1, 2, 3, 4, 5, 6];
        Assert.Equal(0.5, BenchRunner.HeldOutHits(ids, [2, 9], 2, 3), 9);
    }

    [Fact]
    public void QualityCountsHitsAgainstTruthAndIgnoresPadding()
    {
        long[] truth = [1, 2, 3, 4, 5, -1];
        long[] ids = [3, 9, 1, 5, -1, -1];
        var (recall, hitRate) = BenchRunner.Quality(ids, truth, 2, 3);
        Assert.Equal(3 / 5.0, recall, 9);
        Assert.Equal(0.5, hitRate, 9);
    }

    [Fact]
    public void HistoriesFileIsParsed()
    {
        string path = Path.Combine(_folder, "h.txt");
        File.WriteAllText(path, "# user histories\n1,2,3\n\n4 5\t6\n7\n");
        var histories = BenchRunner.ReadHistories(path, 2);
        Assert.Equal(2, histories.Length);
        Assert.Equal([4L, 5, 6], histories[1]);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
