using SparCode.Data;

namespace SparCode.Training.Tests;

public sealed class ReaderTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sparcode-reader-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Write(string name, string text)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void DetectsEachFormat()
    {
        Assert.Equal(InteractionFormat.MovieLensTab, InteractionReader.Detect(Write("u.data", "1\t2\t3\t100\n")));
        Assert.Equal(InteractionFormat.MovieLensDat, InteractionReader.Detect(Write("r.dat", "1::2::3::100\n")));
        Assert.Equal(InteractionFormat.Sequence, InteractionReader.Detect(Write("s.txt", "\n1 2 3 4\n")));
        Assert.Equal(InteractionFormat.Csv, InteractionReader.Detect(Write("c.csv", "user_id,item_id,timestamp\n1,2,3\n")));
    }

    [Fact]
    public void OrdersByTimeAndSplitsLeaveOneOut()
    {
        // User 7's events out of time order; ties keep file order.
        string path = Write("u.data", "7\t30\t5\t300\n7\t10\t5\t100\n7\t20\t5\t200\n7\t40\t5\t400\n8\t10\t1\t5\n8\t20\t1\t5\n");
        var data = SequenceDataset.Load(path);
        Assert.Equal([10L, 20, 30, 40], data.ItemIds);
        Assert.Equal([0, 1, 2, 3], data.Sequences[0]);
        Assert.Equal([0, 1], data.Train(0).ToArray());
        Assert.True(data.Evaluated(0));
        Assert.False(data.Evaluated(1));
        Assert.Equal([0, 1], data.Train(1).ToArray());
    }

    [Fact]
    public void CsvUsesHeaderColumnsAndDates()
    {
        string path = Write("c.csv", "time,item,rating,user\n2024-01-02,5,1,9\n2024-01-01,6,1,9\n2024-01-03,7,1,9\n");
        var data = SequenceDataset.Load(path);
        Assert.Equal([6L, 5, 7], data.Sequences[0].Select(i => data.ItemIds[i]).ToArray());
    }

    [Theory]
    [InlineData("u.data", "1\t2\t3\t100\n1\t2\t3\n", InteractionFormat.MovieLensTab, ":2: expected 4 tab-separated fields")]
    [InlineData("u.data", "1\t2\t3\t100\n1\t2\t3\t100\n1\tx\t3\t100\n", InteractionFormat.MovieLensTab, ":3: the item id \"x\" is not an integer.")]
    [InlineData("r.dat", "1::2::3::100\n\n1::2::3\n", InteractionFormat.MovieLensDat, ":3: expected 4 '::'-separated fields")]
    [InlineData("s.txt", "1 2 3\n2\n", InteractionFormat.Sequence, ":2: expected \"user item item ...\"")]
    [InlineData("s.txt", "1 2 3\n2 4 5.5\n", InteractionFormat.Sequence, ":2: the item id \"5.5\" is not an integer.")]
    [InlineData("c.csv", "user,item,time\n1,2,3\n1,2\n", InteractionFormat.Csv, ":3: expected 3 comma-separated fields")]
    [InlineData("c.csv", "user,product,time\n1,2,3\n", InteractionFormat.Csv, ":1: the CSV header has no item column")]
    [InlineData("c.csv", "user,item,time\n1,2,yesterday-ish\n", InteractionFormat.Csv, ":2: the time \"yesterday-ish\" is neither")]
    public void RejectsMalformedRowsWithFileAndLine(string name, string text, InteractionFormat format, string expected)
    {
        string path = Write(name, text);
        var auto = Assert.Throws<InteractionFormatException>(() => InteractionReader.Read(path));
        var explicitFormat = Assert.Throws<InteractionFormatException>(() => InteractionReader.Read(path, format));
        Assert.Contains(path + expected, auto.Message, StringComparison.Ordinal);
        Assert.Equal(auto.Message, explicitFormat.Message);
    }

    [Fact]
    public void UnknownFirstLineAndEmptyFileAreErrors()
    {
        Assert.Contains(":2: cannot tell the format", Assert.Throws<InteractionFormatException>(() => InteractionReader.Read(Write("x.txt", "\nhello world\n"))).Message, StringComparison.Ordinal);
        Assert.Contains(":1: the file has no interactions", Assert.Throws<InteractionFormatException>(() => InteractionReader.Read(Write("e.txt", ""))).Message, StringComparison.Ordinal);
        Assert.Throws<FileNotFoundException>(() => InteractionReader.Read(Path.Combine(_folder, "missing.txt")));
    }

    [Fact]
    public void MetricsFromRanks()
    {
        var m = new RankingMetrics();
        m.Add(0);
        m.Add(15);
        m.Add(-1);
        m.Add(60);
        Assert.Equal(0.25, m.HitRate(10));
        Assert.Equal(0.5, m.HitRate(20));
        Assert.Equal(0.25, m.Ndcg(10), 12);
        Assert.Equal((1 + 1 / Math.Log2(17)) / 4, m.Ndcg(50), 12);
        float[] scores = [0.5f, 2f, 0.5f, 1f, 3f];
        Assert.Equal(2, RankingMetrics.Rank(scores, 3, []));
        Assert.Equal(1, RankingMetrics.Rank(scores, 3, [4, 3]));
        Assert.Equal(3, RankingMetrics.Rank(scores, 2, [4, 4]));
    }

    [Fact]
    public void SyntheticDataIsDeterministic()
    {
        var options = new CrossFeatureOptions { Users = 50, Items = 100, Seed = 3 };
        var a = CrossFeatureGenerator.Generate(options);
        var b = CrossFeatureGenerator.Generate(options);
        Assert.Equal(a.Sequences.SelectMany(s => s), b.Sequences.SelectMany(s => s));
        Assert.All(a.Sequences, s => Assert.Equal(s.Length, s.Distinct().Count()));
    }
}
