using System.ComponentModel;
using SparCode.Cli.Rendering;
using SparCode.IndexBuild;
using SparCode.Kernels.Gpu;
using SparCode.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace SparCode.Cli.Commands;

/// <summary>Options shared by <c>export</c> and <c>eval</c>: the model folder and the sparsity of the index.</summary>
internal class ModelSettings : DataSettings
{
    [CommandOption("--model <DIR>")]
    [Description("Folder of a trained SparCode model (model.json, model.bin).")]
    public string? Model { get; init; }

    [CommandOption("--density <RHO>")]
    [Description("Target density ρ: each code keeps its top ⌈ρ·n_items⌉ items (0: only --max-per-code).")]
    [DefaultValue(0.05)]
    public double Density { get; init; }

    [CommandOption("--max-per-code <N>")]
    [Description("Per-code cap N_max (0: none).")]
    [DefaultValue(0)]
    public int MaxPerCode { get; init; }

    [CommandOption("--index <FILE>")]
    [Description("Index file (default: <model>/index.sci).")]
    public string? Index { get; init; }

    /// <summary>The index path.</summary>
    public string IndexPath => Index ?? Path.Combine(Model!, "index.sci");

    /// <summary>The sparsity options.</summary>
    public SparsityOptions Sparsity => new() { Density = Density, MaxPerCode = MaxPerCode };

    /// <inheritdoc/>
    public override ValidationResult Validate()
    {
        if (string.IsNullOrWhiteSpace(Model)) return ValidationResult.Error("--model is required.");
        if (Density is < 0 or > 1) return ValidationResult.Error($"--density is {Density}; expected 0..1.");
        if (MaxPerCode < 0) return ValidationResult.Error($"--max-per-code is {MaxPerCode}; expected ≥ 0.");
        if (Density == 0 && MaxPerCode == 0) return ValidationResult.Error("give --density > 0 or --max-per-code > 0.");
        return ValidationResult.Success();
    }
}

/// <summary>Options of <c>export</c>: the model settings plus the scorer and the refine sections.</summary>
internal sealed class ExportSettings : ModelSettings
{
    [CommandOption("--scorer <cpu|gpu>")]
    [Description("What scores the (code, item) pairs: cpu (TorchSharp, default) or gpu (the ILGPU interaction scorer: CUDA when present, else ILGPU's CPU accelerator, which is correct but very slow).")]
    [DefaultValue("cpu")]
    public string Scorer { get; init; } = "cpu";

    [CommandOption("--refine-sections")]
    [Description("Also write the item tokens and the interaction MLP (index section kinds 16-19) so the index can be refined with unquantized user tokens.")]
    public bool RefineSections { get; init; }

    /// <summary>True for <c>--scorer gpu</c>.</summary>
    public bool UseGpu => Scorer.Equals("gpu", StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc/>
    public override ValidationResult Validate()
    {
        var result = base.Validate();
        if (!result.Successful) return result;
        return UseGpu || Scorer.Equals("cpu", StringComparison.OrdinalIgnoreCase)
            ? ValidationResult.Success()
            : ValidationResult.Error($"--scorer is '{Scorer}'; expected cpu or gpu.");
    }
}

/// <summary><c>sparcode export</c>: scores every used code against the catalogue (TorchSharp or the GPU scorer) and writes the index.</summary>
internal sealed class ExportCommand : GuardedCommand<ExportSettings>
{
    /// <inheritdoc/>
    protected override int Run(ExportSettings settings, CancellationToken cancellationToken)
    {
        var (model, manifest) = TrainedModel.Load(settings.Model!);
        using (model)
        {
            var data = manifest.LoadData(settings.Data, settings.Format, ProgressLog.Line);
            using var device = settings.UseGpu ? GpuDevice.Create() : null;
            if (device is { IsCuda: false })
            {
                AnsiConsole.MarkupLine("[yellow]note:[/] no CUDA device: scoring on ILGPU's CPU accelerator, which is correct but very slow (minutes for a few thousand items); use --scorer cpu on machines without a GPU.");
            }
            using IPairScorer scorer = device is null ? new TorchPairScorer(model) : Exporter.GpuScorer(model, device);
            var report = Exporter.Write(model, data, settings.Sparsity, scorer, settings.IndexPath, ProgressLog.Line, settings.RefineSections);
            Evaluator.WriteJson(Path.ChangeExtension(settings.IndexPath, ".export.json"), report);
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {report.Path}: {report.Bytes:N0} bytes, {report.CodesUsed:N0}/{report.CodeCount:N0} codes used, density {report.DensityOverUsedCodes:F4}, scorer {report.Scorer}, {report.Seconds:F1} s");
        }
        return 0;
    }
}
