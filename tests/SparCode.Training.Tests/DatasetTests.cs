using SparCode.Data;

namespace SparCode.Training.Tests;

public class DatasetTests
{
    [DatasetFact("ml-100k/u.data")]
    public void MovieLens100KLoads()
    {
        var data = SequenceDataset.Load(SharedDatasets.Find("ml-100k/u.data")!);
        Assert.Equal(943, data.UserCount);
        Assert.Equal(1682, data.ItemCount);
        Assert.Equal(100_000, data.InteractionCount);
        Assert.All(Enumerable.Range(0, data.UserCount), u => Assert.True(data.Evaluated(u)));
    }

    [DatasetFact("beauty/Beauty.txt")]
    public void BeautyLoadsAsSequences()
    {
        string path = SharedDatasets.Find("beauty/Beauty.txt")!;
        Assert.Equal(InteractionFormat.Sequence, InteractionReader.Detect(path));
        var data = SequenceDataset.Load(path);
        Assert.Equal(22363, data.UserCount);
        Assert.True(data.ItemCount > 10_000);
    }
}
