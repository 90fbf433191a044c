using System.Diagnostics;
using SparCode.Cli.Rendering;
using SparCode.Format;
using Spectre.Console;

namespace SparCode.Cli.Commands;

/// <summary><c>sparcode verify</c>: full validation; exit code 0 if the index is sound, 1 if not.</summary>
internal sealed class VerifyCommand : GuardedCommand<IndexPathSettings>
{
    /// <inheritdoc/>
    protected override int Run(IndexPathSettings settings, CancellationToken cancellationToken)
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
