using System.Diagnostics;
using SparCode.Cli.Rendering;
using SparCode.Engine;
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
            // Through the engine, so everything it builds at open (query tower, window and rank tables, their
            // size limit) is checked too, not only the file's own structure.
            using var index = SparCodeIndex.Open(settings.Path, IndexValidation.Full);
            var file = index.Description;
            var open = clock.Elapsed;
            clock.Restart();
            index.Verify();
            var verify = clock.Elapsed;
            AnsiConsole.MarkupLineInterpolated(
                $"[green]OK[/] {file.Path}: {Units.Bytes(file.FileLength)}, version {file.FormatVersion}, {Units.Count(file.PostingCount)} postings (open with full validation {Units.Duration(open)}, Verify() {Units.Duration(verify)})");
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
