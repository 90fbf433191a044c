using Spectre.Console;

namespace SparCode.Cli.Rendering;

/// <summary>How the commands show a library's progress lines: one line each, after a grey timestamp.</summary>
internal static class ProgressLog
{
    /// <summary>Prints <paramref name="line"/> after the time of day; pass it as a library's <c>log</c> callback.</summary>
    public static void Line(string line) => AnsiConsole.MarkupLineInterpolated($"[grey]{DateTime.Now:HH:mm:ss}[/] {line}");
}
