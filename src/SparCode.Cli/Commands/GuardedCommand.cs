using SparCode.Format;
using Spectre.Console;
using Spectre.Console.Cli;

namespace SparCode.Cli.Commands;

/// <summary>
/// A command whose expected failures (a missing, corrupt or unreadable index, an invalid argument) end in
/// one red line on standard error and exit code 1, with no stack trace. Anything else is a bug and keeps
/// Spectre's full report.
/// </summary>
/// <typeparam name="TSettings">The command's settings.</typeparam>
internal abstract class GuardedCommand<TSettings> : Command<TSettings>
    where TSettings : CommandSettings
{
    /// <summary>Standard error, without line wrapping so that an error stays on one line.</summary>
    protected static IAnsiConsole Error { get; } = CreateErrorConsole();

    /// <inheritdoc/>
    public sealed override int Execute(CommandContext context, TSettings settings, CancellationToken cancellationToken)
    {
        try
        {
            return Run(settings, cancellationToken);
        }
        catch (CorruptIndexException e)
        {
            return Fail(e.Message);
        }
        catch (IndexVersionException e)
        {
            return Fail(e.Message);
        }
        catch (FileNotFoundException e)
        {
            return Fail(e.Message);
        }
        catch (ArgumentException e)
        {
            return Fail(e.Message);
        }
        catch (IOException e)
        {
            return Fail(e.Message);
        }
        catch (UnauthorizedAccessException e)
        {
            return Fail(e.Message);
        }
        catch (OperationCanceledException)
        {
            return Fail("cancelled.");
        }
    }

    /// <summary>Runs the command.</summary>
    /// <returns>The exit code.</returns>
    protected abstract int Run(TSettings settings, CancellationToken cancellationToken);

    /// <summary>Prints <c>error: message</c> in red on standard error and returns exit code 1.</summary>
    protected static int Fail(string message)
    {
        Error.MarkupLineInterpolated($"[red]error:[/] {OneLine(message)}");
        return 1;
    }

    /// <summary>Collapses line breaks (ArgumentException appends the parameter name on its own line only on some paths).</summary>
    protected static string OneLine(string message) => message.ReplaceLineEndings(" ");

    private static IAnsiConsole CreateErrorConsole()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        console.Profile.Width = 100_000;
        return console;
    }
}
