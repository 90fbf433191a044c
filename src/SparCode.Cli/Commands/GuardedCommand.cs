using SparCode.Format;
using Spectre.Console;
using Spectre.Console.Cli;

namespace SparCode.Cli.Commands;

/// <summary>
/// A command whose expected failures (a missing, corrupt or unreadable index, an invalid argument) end in
/// one red line on standard error and exit code 1, with no stack trace. Anything else is a bug, reported by
/// <see cref="CliErrors.Unexpected"/> (also one line and exit code 1).
/// </summary>
/// <typeparam name="TSettings">The command's settings.</typeparam>
internal abstract class GuardedCommand<TSettings> : Command<TSettings>
    where TSettings : CommandSettings
{
    /// <summary>Standard error, without line wrapping so that an error stays on one line.</summary>
    protected static IAnsiConsole Error => CliErrors.Error;

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
    protected static int Fail(string message) => CliErrors.Fail(message);

    /// <summary>Collapses line breaks (ArgumentException appends the parameter name on its own line only on some paths).</summary>
    protected static string OneLine(string message) => CliErrors.OneLine(message);
}
