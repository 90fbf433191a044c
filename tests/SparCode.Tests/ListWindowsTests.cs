using SparCode.Engine;

namespace SparCode.Tests;

public class ListWindowsTests
{
    [Fact]
    public void Run_ends_are_the_first_posting_at_or_past_each_window_boundary()
    {
        var random = new Random(23);
        const int items = 3 * SparCodeSearcher.DefaultWindow + 1234;
        // Empty lists, lists in one window, lists spanning all windows, ids on the boundaries.
        var lists = new List<int[]>
        {
            Array.Empty<int>(),
            new[] { 0, 1, 2 },
            new[] { SparCodeSearcher.DefaultWindow - 1, SparCodeSearcher.DefaultWindow, 2 * SparCodeSearcher.DefaultWindow, items - 1 },
        };
        for (int l = 0; l < 20; l++)
        {
            lists.Add([.. Enumerable.Range(0, random.Next(0, 3000)).Select(_ => random.Next(items)).Distinct().Order()]);
        }
        var offsets = new long[lists.Count + 1];
        for (int c = 0; c < lists.Count; c++)
        {
            offsets[c + 1] = offsets[c] + lists[c].Length;
        }
        var table = ListWindows.Build(offsets, lists.SelectMany(l => l).ToArray(), items);
        Assert.Equal(4, table.WindowCount);
        for (int c = 0; c < lists.Count; c++)
        {
            for (int w = 0; w < table.WindowCount; w++)
            {
                long boundary = (long)(w + 1) * SparCodeSearcher.DefaultWindow;
                int expected = (int)offsets[c] + lists[c].Count(id => id < boundary);
                Assert.Equal(expected, table.RunEnd(c, w));
            }
        }
    }
}
