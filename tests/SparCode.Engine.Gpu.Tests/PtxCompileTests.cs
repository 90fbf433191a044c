using System.Reflection;
using System.Text.RegularExpressions;
using ILGPU;
using ILGPU.Backends.EntryPoints;
using ILGPU.Backends.PTX;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using Xunit.Abstractions;

namespace SparCode.Engine.Gpu.Tests;

/// <summary>
/// Every kernel through ILGPU's PTX backend for sm_90, without a GPU: the CPU accelerator runs the C# methods and
/// never generates PTX, so only this catches a kernel that the CUDA driver cannot load: an <c>.extern</c> (a .NET
/// method with no IL body, such as <see cref="MathF.FusedMultiplyAdd"/>) or a call to a function the module does not define.
/// </summary>
public sealed partial class PtxCompileTests(ITestOutputHelper output)
{
    /// <summary>The public kernels of both kernel classes, generic ones closed over the CUDA fused multiply-add.</summary>
    public static TheoryData<string> Kernels()
    {
        var data = new TheoryData<string>();
        foreach (var method in KernelMethods())
        {
            data.Add($"{method.DeclaringType!.Name}.{method.Name}");
        }
        return data;
    }

    private static IEnumerable<MethodInfo> KernelMethods() =>
        new[] { typeof(SearchKernels), typeof(InteractionKernels) }
            .SelectMany(type => type.GetMethods(BindingFlags.Public | BindingFlags.Static))
            .Where(method => method.ReturnType == typeof(void))
            .Select(method => method.IsGenericMethodDefinition ? method.MakeGenericMethod(typeof(CudaFusedMultiplyAdd)) : method);

    [GeneratedRegex(@"^\s*(?:@%p\d+\s+)?call(?:\.uni)?\s+(?:\([^)]*\),\s*)?(\w+)", RegexOptions.Multiline)]
    private static partial Regex CallTarget();

    [GeneratedRegex(@"^\s*(?:\.visible\s+|\.weak\s+)?\.func\s+(?:\([^)]*\)\s*)?(\w+)", RegexOptions.Multiline)]
    private static partial Regex DefinedFunction();

    [Theory]
    [MemberData(nameof(Kernels))]
    public void The_kernel_compiles_to_self_contained_ptx_for_sm_90(string name)
    {
        var method = KernelMethods().Single(m => $"{m.DeclaringType!.Name}.{m.Name}" == name);
        using var context = Context.Create(builder => builder.Default().EnableAlgorithms());
        using var backend = new PTXBackend(context, CudaArchitecture.SM_90, CudaInstructionSet.ISA_80, null!);
        bool implicitlyGrouped = method.GetParameters()[0].ParameterType is var first
            && (first == typeof(Index1D) || first == typeof(Index2D) || first == typeof(Index3D));
        var entry = implicitlyGrouped ? EntryPointDescription.FromImplicitlyGroupedKernel(method) : EntryPointDescription.FromExplicitlyGroupedKernel(method);
        var ptx = ((PTXCompiledKernel)backend.Compile(entry, KernelSpecialization.Empty)).PTXAssembly;

        var defined = DefinedFunction().Matches(ptx).Select(m => m.Groups[1].Value).ToHashSet();
        var calls = CallTarget().Matches(ptx).Select(m => m.Groups[1].Value).ToList();
        output.WriteLine($"{name}: {ptx.Length} characters of PTX, {ptx.Split('\n').Length} lines, {calls.Count} calls, {Regex.Matches(ptx, @"\bfma\.rn\.f32\b").Count} fma.rn.f32");
        // ILGPU 1.5.3 writes at most `.target sm_80` for an sm_90 backend; the driver JIT-compiles that for Hopper.
        Assert.Matches(@"\.target sm_(8|9)\d\b", ptx);
        Assert.DoesNotContain(".extern", ptx);
        Assert.All(calls, target => Assert.Contains(target, defined));
        Assert.DoesNotContain("FusedMultiplyAdd", ptx);
        if (method.IsGenericMethod)
        {
            // The kernels that multiply-add do so through the one instruction that rounds like MathF.FusedMultiplyAdd.
            Assert.Matches(@"\bfma\.rn\.f32\b", ptx);
        }
    }
}
