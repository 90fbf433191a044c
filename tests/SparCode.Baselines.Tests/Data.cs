using System.Runtime.Intrinsics;
using SparCode.Kernels.Cpu;

namespace SparCode.Baselines.Tests;

internal static class Data
{
    /// <summary>Every path this machine can run, scalar first.</summary>
    public static IEnumerable<SimdPath> Paths()
    {
        yield return SimdPath.Scalar;
        if (Vector128.IsHardwareAccelerated) yield return SimdPath.Vector128;
        if (Vector256.IsHardwareAccelerated) yield return SimdPath.Vector256;
        if (Vector512.IsHardwareAccelerated) yield return SimdPath.Vector512;
    }

    public static TheoryData<SimdPath> PathData()
    {
        var data = new TheoryData<SimdPath>();
        foreach (var path in Paths()) data.Add(path);
        return data;
    }

    /// <summary>Multiples of 1/4 in [-2, 2]: products and sums of up to thousands of them are exact in float32, so every summation order agrees bit for bit, and ties are common.</summary>
    public static float[] Exact(Random random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = random.Next(-8, 9) / 4f;
        return values;
    }

    public static float[] Gaussian(Random random, int count)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)(Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble()));
        return values;
    }

    /// <summary>Reference top-k: scalar dot products, sorted by score descending then row ascending.</summary>
    public static (long[] Ids, float[] Scores) TopK(EmbeddingTable items, ReadOnlySpan<float> query, int k)
    {
        var scored = new List<(float Score, int Row)>(items.Count);
        for (int r = 0; r < items.Count; r++)
        {
            float sum = 0;
            var row = items.Row(r);
            for (int j = 0; j < row.Length; j++) sum += row[j] * query[j];
            scored.Add((sum, r));
        }
        var top = scored.OrderByDescending(s => s.Score).ThenBy(s => s.Row).Take(k).ToArray();
        return ([.. top.Select(t => items.Ids[t.Row])], [.. top.Select(t => t.Score)]);
    }
}
