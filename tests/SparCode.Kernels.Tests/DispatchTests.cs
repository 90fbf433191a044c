using SparCode.Kernels.Cpu;

namespace SparCode.Kernels.Tests;

public class DispatchTests
{
    /// <summary>The DOTNET_Enable* switches CI sets must actually cap the dispatch, or the forced runs test nothing new.</summary>
    [Fact]
    public void Environment_switches_cap_the_dispatched_path()
    {
        static bool Off(string name) => Environment.GetEnvironmentVariable(name) == "0";
        if (Off("DOTNET_EnableHWIntrinsic"))
        {
            Assert.Equal(SimdPath.Scalar, Simd.Best);
        }
        else if (Off("DOTNET_EnableAVX2"))
        {
            Assert.True(Simd.Best <= SimdPath.Vector128, $"Best is {Simd.Best}");
        }
        else if (Off("DOTNET_EnableAVX512"))
        {
            Assert.True(Simd.Best <= SimdPath.Vector256, $"Best is {Simd.Best}");
        }
        else
        {
            Assert.NotEqual(SimdPath.Scalar, Simd.Best);
        }
    }
}
