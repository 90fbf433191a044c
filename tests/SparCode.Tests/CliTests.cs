using System.Diagnostics;
using SparCode.Format;

namespace SparCode.Tests;

/// <summary>
/// The <c>sparcode</c> command line as a new user meets it (issue 13): every failure is one red
/// <c>error:</c> line on standard error and exit code 1, unknown options are errors, messages name CLI options.
/// Runs the CLI that the build put next to this repository's <c>src/SparCode.Cli</c> (test.sh builds it).
/// </summary>
public sealed class CliTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly IndexContents _contents = SmallIndexes.Contents();
    private readonly string _index;

    public CliTests() => _index = SmallIndexes.Write(_dir, _contents);

    public void Dispose() => _dir.Dispose();

    private static string CliAssembly()
    {
        // tests/SparCode.Tests/bin/<Configuration>/<framework>/ → src/SparCode.Cli/bin/<Configuration>/<framework>/sparcode.dll
        var output = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        string framework = output.Name;
        string configuration = output.Parent!.Name;
        string root = output.Parent!.Parent!.Parent!.Parent!.Parent!.FullName;
        string dll = Path.Combine(root, "src", "SparCode.Cli", "bin", configuration, framework, "sparcode.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build src/SparCode.Cli first (test.sh builds every project).");
        return dll;
    }

    private static (int Exit, string Out, string Err) Run(string? stdin, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        info.ArgumentList.Add(CliAssembly());
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            process.StandardInput.Write(stdin);
        }
        process.StandardInput.Close();
        process.WaitForExit();
        return (process.ExitCode, output.Result, error.Result);
    }

    private static void AssertOneErrorLine((int Exit, string Out, string Err) result, string messagePart)
    {
        Assert.Equal(1, result.Exit);
        Assert.Equal("", result.Out.Trim());
        var lines = result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error:", lines[0].Trim());
        Assert.Contains(messagePart, lines[0]);
    }

    [Fact]
    public void Mistyped_options_are_errors()
    {
        AssertOneErrorLine(Run(null, "query", _index, "--history", "1,2", "--topk", "5"), "topk");
        AssertOneErrorLine(Run(null, "train", "--data", "synthetic", "--epoch", "5"), "epoch");
    }

    [Fact]
    public void Parser_and_validation_errors_go_to_standard_error_with_exit_code_1()
    {
        AssertOneErrorLine(Run(null, "query", _index), "--history");
        AssertOneErrorLine(Run(null, "query", _index, "--history", "1,x"), "--history");
        AssertOneErrorLine(Run(null, "query", _index, "--history", "1", "-k", "many"), "many");
        AssertOneErrorLine(Run(null, "no-such-command"), "no-such-command");
        AssertOneErrorLine(Run(null, "verify", _dir.File("missing.sci")), "missing.sci");
    }

    [Fact]
    public void An_unknown_history_id_names_the_cli_option()
    {
        var result = Run(null, "query", _index, "--history", "987654321");
        AssertOneErrorLine(result, "--skip-unknown");
        Assert.DoesNotContain("SearchOptions", result.Err);
    }

    [Fact]
    public void History_from_a_file_or_standard_input()
    {
        var history = Enumerable.Range(0, 5000).Select(i => _contents.ItemIds[i % _contents.ItemIds.Length]).ToArray();
        string file = _dir.File("history.txt");
        File.WriteAllText(file, string.Join('\n', history));
        var fromFile = Run(null, "query", _index, "--history", "@" + file, "-k", "5");
        Assert.True(fromFile.Exit == 0, fromFile.Err);
        var fromStdin = Run(string.Join(", ", history), "query", _index, "--history", "-", "-k", "5");
        Assert.True(fromStdin.Exit == 0, fromStdin.Err);
        string Table(string output) => output[output.IndexOf("rank", StringComparison.Ordinal)..];
        Assert.Equal(Table(fromFile.Out), Table(fromStdin.Out));
        AssertOneErrorLine(Run(null, "query", _index, "--history", "@" + _dir.File("none.txt")), "none.txt");
    }

    [Fact]
    public void Query_times_itself_only_with_timing()
    {
        string history = string.Join(',', _contents.ItemIds.Take(3));
        var plain = Run(null, "query", _index, "--history", history, "-k", "5");
        Assert.True(plain.Exit == 0, plain.Err);
        Assert.Equal("", plain.Err);
        Assert.Contains("codes", plain.Out);
        Assert.Contains("postings touched", plain.Out);
        Assert.Contains("rank", plain.Out);
        Assert.DoesNotContain("latency", plain.Out);

        var timed = Run(null, "query", _index, "--history", history, "-k", "5", "--timing");
        Assert.True(timed.Exit == 0, timed.Err);
        Assert.Contains("latency", timed.Out);
        Assert.Contains("median of 21 runs after a 0.3 s warm-up", timed.Out);
        // Timing adds its line and changes nothing else (the grid pads its cells to its widest one, which the latency may be).
        string[] Rest(string output) => [.. output.Split('\n').Where(line => !line.Contains("latency", StringComparison.Ordinal)).Select(line => line.TrimEnd())];
        Assert.Equal(Rest(plain.Out), Rest(timed.Out));
    }
}
