using Spectre.Console;

namespace SparCode.Cli;

/// <summary>
/// How every failure of the command line ends (README): one red <c>error:</c> line on standard error and
/// exit code 1. Parser and validation errors, expected failures in a command (a missing, corrupt or
/// unreadable index, an invalid argument) and unexpected exceptions all end here.
/// </summary>
internal static class CliErrors
{
    /// <summary>The exit code of every failure.</summary>
    public const int ExitCode = 1;

    /// <summary>Standard error, without line wrapping so that an error stays on one line.</summary>
    public static IAnsiConsole Error { get; } = CreateErrorConsole();

    /// <summary>Prints <c>error: message</c> in red on standard error and returns <see cref="ExitCode"/>.</summary>
    public static int Fail(string message)
    {
        Error.MarkupLineInterpolated($"[red]error:[/] {OneLine(message)}");
        return ExitCode;
    }

    /// <summary>
    /// A failure nothing anticipated (a bug): still one line, naming the exception type; the stack trace
    /// follows only with <c>SPARCODE_TRACE=1</c>.
    /// </summary>
    public static int Unexpected(Exception e)
    {
        Fail($"internal error ({e.GetType().Name}): {e.Message} (set SPARCODE_TRACE=1 for the stack trace)");
        if (Environment.GetEnvironmentVariable("SPARCODE_TRACE") == "1")
        {
            Error.WriteException(e);
        }
        return ExitCode;
    }

    /// <summary>Rewrites Spectre's <c>option 'name'</c> as <c>option '--name'</c> (<c>'-k'</c> for one letter), as the user types it.</summary>
    public static string DashOptionNames(string message) =>
        System.Text.RegularExpressions.Regex.Replace(message, @"\boption '([A-Za-z][A-Za-z0-9-]*)'",
            m => $"option '{(m.Groups[1].Value.Length == 1 ? "-" : "--")}{m.Groups[1].Value}'");

    /// <summary>Collapses line breaks (ArgumentException appends the parameter name on its own line only on some paths).</summary>
    public static string OneLine(string message) => message.ReplaceLineEndings(" ").Trim();

    private static IAnsiConsole CreateErrorConsole()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        console.Profile.Width = 100_000;
        return console;
    }
}
