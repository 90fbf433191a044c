namespace SparCode.Baselines.Tests;

public sealed class TwoTowerFileTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("sparcode-tt-").FullName;

    [Fact]
    public void RoundTripsAndIsDeterministic()
    {
        var options = new SyntheticTwoTowerOptions { ItemCount = 500, UserCount = 7, Dimension = 12, Seed = 3 };
        var model = SyntheticTwoTower.Create(options);
        Assert.Equal(model.Items.Vectors, SyntheticTwoTower.Create(options).Items.Vectors);
        string path = Path.Combine(_folder, "m.tt");
        model.Write(path);
        var read = TwoTowerModel.Read(path);
        Assert.Equal(model.Items.Vectors, read.Items.Vectors);
        Assert.Equal(model.Items.Ids, read.Items.Ids);
        Assert.Equal(model.Users.Vectors, read.Users.Vectors);
        Assert.Equal(12, read.Users.Dimension);
        Assert.False(File.Exists(path + ".tmp"));
    }

    [Fact]
    public void BadMagicAndTruncationAreReported()
    {
        string path = Path.Combine(_folder, "bad.tt");
        SyntheticTwoTower.Create(new SyntheticTwoTowerOptions { ItemCount = 10, UserCount = 1, Dimension = 4 }).Write(path);
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^4]);
        Assert.Contains("the file has", Assert.Throws<InvalidDataException>(() => TwoTowerModel.Read(path)).Message);
        bytes[0] ^= 0xFF;
        File.WriteAllBytes(path, bytes);
        Assert.Contains("bad magic", Assert.Throws<InvalidDataException>(() => TwoTowerModel.Read(path)).Message);
    }

    public void Dispose() => Directory.Delete(_folder, recursive: true);
}
