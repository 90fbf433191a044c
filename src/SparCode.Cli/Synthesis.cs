using System.Diagnostics;
using SparCode.Cli.Rendering;
using SparCode.Format;
using SparCode.Synthetic;
using Spectre.Console;

namespace SparCode.Cli;

/// <summary>What <see cref="Synthesis.CreateAndWrite"/> produced.</summary>
/// <param name="FileLength">Bytes written.</param>
/// <param name="Postings">Postings across all lists.</param>
/// <param name="Codes">Number of codes (posting lists).</param>
/// <param name="Generate">Time spent generating the contents.</param>
/// <param name="Write">Time spent writing, checksumming and renaming the file.</param>
internal sealed record SynthesisResult(long FileLength, long Postings, int Codes, TimeSpan Generate, TimeSpan Write);

/// <summary>Generates a synthetic index and writes it, with a progress bar for each step.</summary>
internal static class Synthesis
{
    /// <summary>Runs <see cref="SyntheticIndex.Create"/> then <see cref="IndexWriter.Write"/> to <paramref name="path"/>.</summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="IOException">The file cannot be written.</exception>
    public static SynthesisResult CreateAndWrite(SyntheticOptions options, string path)
    {
        string? folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
        }
        if (!AnsiConsole.Profile.Capabilities.Interactive)
        {
            // Logs and pipes: Spectre's fallback progress output is sparse and partial, so print the steps instead.
            AnsiConsole.WriteLine("Generating model and posting lists …");
            var clock = Stopwatch.StartNew();
            var contents = SyntheticIndex.Create(options);
            var generate = clock.Elapsed;
            AnsiConsole.WriteLine("Writing index file …");
            clock.Restart();
            long length = IndexWriter.Write(path, contents);
            return new SynthesisResult(length, contents.PostingItems.LongLength, contents.Dimensions.CodeCount, generate, clock.Elapsed);
        }

        SynthesisResult? result = null;
        AnsiConsole.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .Start(context =>
            {
                var generateTask = context.AddTask("Generating model and posting lists", maxValue: 1);
                generateTask.IsIndeterminate = true;
                var generateProgress = new TaskProgress(generateTask);
                var clock = Stopwatch.StartNew();
                var contents = SyntheticIndex.Create(options, generateProgress);
                var generate = clock.Elapsed;
                generateProgress.Complete();

                var writeTask = context.AddTask("Writing index file", maxValue: 1);
                var writeProgress = new TaskProgress(writeTask);
                clock.Restart();
                long length = IndexWriter.Write(path, contents, writeProgress);
                var write = clock.Elapsed;
                writeProgress.Complete();
                result = new SynthesisResult(length, contents.PostingItems.LongLength, contents.Dimensions.CodeCount, generate, write);
            });
        return result!;
    }
}
