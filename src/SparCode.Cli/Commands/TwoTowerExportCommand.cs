using System.ComponentModel;
using System.Globalization;
using SparCode.Baselines;
using SparCode.Cli.Rendering;
using SparCode.Training;
using Spectre.Console;
using Spectre.Console.Cli;

namespace SparCode.Cli.Commands;

/// <summary>
/// <c>sparcode export-two-tower</c>: writes a trained two-tower model's item table and its test users'
/// query vectors (the file <c>bench --two-tower</c> reads), plus the test histories and held-out items
/// (<c>bench --histories</c> and <c>--held-out</c>), on the test split <c>eval</c> uses.
/// </summary>
internal sealed class TwoTowerExportCommand : GuardedCommand<TwoTowerExportCommand.Settings>
{
    /// <summary>File names written into the output folder.</summary>
    internal const string ModelFile = "two-tower.bin", HistoriesFile = "histories.txt", HeldOutFile = "held-out.txt";

    /// <summary>Options of <c>export-two-tower</c>.</summary>
    internal sealed class Settings : DataSettings
    {
        /// <summary>Model folder.</summary>
        [CommandOption("--model <DIR>")]
        [Description("Folder of a trained two-tower model (model.json, model.bin).")]
        public string? Model { get; init; }

        /// <summary>Output folder.</summary>
        [CommandOption("-o|--out <DIR>")]
        [Description("Folder for two-tower.bin, histories.txt and held-out.txt (default: <model>/bench).")]
        public string? Out { get; init; }

        /// <inheritdoc/>
        public override ValidationResult Validate() =>
            string.IsNullOrWhiteSpace(Model) ? ValidationResult.Error("--model is required.") : ValidationResult.Success();
    }

    /// <inheritdoc/>
    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        var (model, manifest) = TrainedModel.Load(settings.Model!);
        using (model)
        {
            var data = manifest.LoadData(settings.Data, settings.Format, ProgressLog.Line);
            var input = TwoTowerExport.Extract(model, data);
            string folder = settings.Out ?? Path.Combine(settings.Model!, "bench");
            Directory.CreateDirectory(folder);
            var tower = new TwoTowerModel(new EmbeddingTable(input.Dimension, input.Items, input.ItemIds), new EmbeddingTable(input.Dimension, input.Users));
            tower.Write(Path.Combine(folder, ModelFile));
            File.WriteAllLines(Path.Combine(folder, HistoriesFile), input.Histories.Select(h => string.Join(' ', h.Select(id => id.ToString(CultureInfo.InvariantCulture)))));
            File.WriteAllLines(Path.Combine(folder, HeldOutFile), input.HeldOut.Select(id => id.ToString(CultureInfo.InvariantCulture)));
            AnsiConsole.MarkupLineInterpolated($"[green]wrote[/] {folder}/{{{ModelFile}, {HistoriesFile}, {HeldOutFile}}}: {input.ItemIds.Length:N0} items, {input.HeldOut.Length:N0} test users, d = {input.Dimension}");
        }
        return 0;
    }
}
