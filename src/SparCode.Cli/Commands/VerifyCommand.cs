using System.ComponentModel;
using System.Diagnostics;
using SparCode.Cli.Rendering;
using SparCode.Format;
using Spectre.Console;
using Spectre.Console.Cli;

namespace SparCode.Cli.Commands;

/// <summary><c>sparcode verify</c>: full validation; exit code 0 if the index is sound, 1 if not.</summary>
internal sealed class VerifyCommand : GuardedCommand<VerifyCommand.Settings>
{
    /// <summary>Options of <c>verify</c>.</summary>
    internal sealed class Settings : CommandSettings
    {
        /// <summary>The index file.</summary>
        [CommandArgument(0, "<PATH>")]
        [Description("Index file to verify.")]
        public string Path { get; init; } = "";
    }

    /// <inheritdoc/>
    protected override int Run(Settings settings, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        try
        {
            using var file = IndexFile.Open(settings.Path, IndexValidation.Full);
            var open = clock.Elapsed;
            clock.Restart();
            file.Verify();
            var verify = clock.Elapsed;
            AnsiConsole.MarkupLineInterpolated(
                $"[green]OK[/] {file.Path}: {Units.Bytes(file.Length)}, version {file.Version}, {Units.Count(file.PostingCount)} postings (open with full validation {Units.Duration(open)}, Verify() {Units.Duration(verify)})");
            return 0;
        }
        catch (CorruptIndexException e)
        {
            Error.MarkupLineInterpolated($"[red]CORRUPT[/] [bold]{e.Kind}[/]: {OneLine(e.Message)}");
            return 1;
        }
        catch (IndexVersionException e)
        {
            Error.MarkupLineInterpolated($"[red]UNREADABLE VERSION[/] [bold]{e.FileVersion}[/] ({(e.IsTooNew ? "too new" : "too old")}): {OneLine(e.Message)}");
            return 1;
        }
    }
}
