using SparCode.Kernels.Cpu;

namespace SparCode.Benchmarks.Infrastructure;

/// <summary>Seeded random inputs shaped like the index's: ascending posting lists with positive scores.</summary>
public static class TestData
{
    /// <summary>
    /// Posting lists of the given lengths over items <c>[0, universe)</c>: ids strictly ascending and
    /// uniformly spread (so consecutive postings land on different cache lines, as in a real list at
    /// 10k postings per 1M items), scores positive and exponentially distributed like the synthetic
    /// generator's. Lists are drawn independently, so they overlap by chance.
    /// </summary>
    public static (int[][] Ids, float[][] Scores) PostingLists(int universe, int[] lengths, int seed)
    {
        var random = new Random(seed);
        var seen = new bool[universe];
        var ids = new int[lengths.Length][];
        var scores = new float[lengths.Length][];
        for (int l = 0; l < lengths.Length; l++)
        {
            var list = new int[Math.Min(lengths[l], universe)];
            for (int filled = 0; filled < list.Length;)
            {
                int id = random.Next(universe);
                if (!seen[id])
                {
                    seen[id] = true;
                    list[filled++] = id;
                }
            }
            foreach (int id in list)
            {
                seen[id] = false;
            }
            Array.Sort(list);
            ids[l] = list;
            float scale = (float)(0.5 + random.NextDouble());
            scores[l] = [.. list.Select(_ => scale * (0.001f - MathF.Log(1f - random.NextSingle())))];
        }
        return (ids, scores);
    }

    /// <summary><paramref name="count"/> standard-normal floats.</summary>
    public static float[] Gaussian(Random random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        }
        return values;
    }

    /// <summary>
    /// Writes which vector path this (benchmark) process dispatches to, so the log shows that each job's
    /// <c>DOTNET_Enable*</c> switch took effect. BenchmarkDotNet copies the child's output into its log.
    /// </summary>
    public static void ReportSetup(string benchmark, string details) =>
        Console.WriteLine($"// {benchmark}: Simd.Best = {Simd.Best}; {details}");
}
