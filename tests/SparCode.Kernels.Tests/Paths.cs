using SparCode.Kernels.Cpu;

namespace SparCode.Kernels.Tests;

/// <summary>The SIMD paths this process can run: every path up to <see cref="Simd.Best"/>.</summary>
public static class Paths
{
    public static TheoryData<SimdPath> Available()
    {
        var data = new TheoryData<SimdPath>();
        foreach (var path in Enum.GetValues<SimdPath>().Where(p => p <= Simd.Best))
        {
            data.Add(path);
        }
        return data;
    }

    public static float[] RandomFloats(Random random, int count, float scale = 1f)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++)
        {
            values[i] = (random.NextSingle() * 2f - 1f) * scale;
        }
        return values;
    }
}
