using System.Diagnostics;
using SparCode.Cli.Rendering;
using SparCode.Engine;
using SparCode.Format;
using Spectre.Console;

namespace SparCode.Cli.Commands;

/// <summary><c>sparcode inspect</c>: header, model sizes, sections, posting statistics and metadata of an index.</summary>
internal sealed class InspectCommand : GuardedCommand<IndexPathSettings>
{
    /// <inheritdoc/>
    protected override int Run(IndexPathSettings settings, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        using var file = IndexFile.Open(settings.Path, IndexValidation.Full);
        var openTime = clock.Elapsed;
        Print(file, openTime, full: true);
        return 0;
    }

    /// <summary>Prints the report of an index opened with full validation.</summary>
    /// <param name="file">The index.</param>
    /// <param name="openTime">How long the validating open took.</param>
    /// <param name="full">Also print the section table and the metadata.</param>
    public static void Print(IndexFile file, TimeSpan openTime, bool full)
    {
        AnsiConsole.Write(IndexReport.Header(file, file.StoredChecksum, openTime));
        long memory = SparCodeIndex.EstimateOpenMemory(file);
        AnsiConsole.MarkupLineInterpolated(
            $"[bold]memory at open[/]  {Units.Bytes(memory)} of heap besides the mapping (derived tables: at most {Units.Bytes(SparCodeIndex.MaxDerivedTableBytes)})");
        AnsiConsole.WriteLine();
        var stats = PostingStatistics.FromOffsets(file.PostingOffsets.Span);
        AnsiConsole.Write(IndexReport.Model(file));
        AnsiConsole.Write(IndexReport.Postings(stats));
        if (full)
        {
            AnsiConsole.Write(IndexReport.Sections(file));
            AnsiConsole.Write(IndexReport.Metadata(file.MetadataJson));
        }
    }
}
