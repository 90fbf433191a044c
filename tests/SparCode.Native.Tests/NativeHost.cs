using System.Diagnostics;

namespace SparCode.Native.Tests;

/// <summary>
/// The C host program (host.c) linked against artifacts/native/libsparcode.so, compiled once per test run
/// with gcc, and one running instance of it: <see cref="Send"/> writes a command line and returns the answer.
/// </summary>
public sealed class NativeHost : IDisposable
{
    private static readonly Lazy<string> Executable = new(Compile);
    private readonly Process _process;

    public NativeHost()
    {
        _process = Process.Start(new ProcessStartInfo(Executable.Value)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        })!;
    }

    /// <summary>The repository's artifacts/native folder, where src/SparCode.Native/build.sh puts the library.</summary>
    public static string NativeFolder => Path.Combine(RepositoryRoot, "artifacts", "native");

    private static string RepositoryRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SparCode.Engine.sln")))
            {
                dir = dir.Parent;
            }
            return dir?.FullName ?? throw new InvalidOperationException($"No SparCode.Engine.sln above {AppContext.BaseDirectory}.");
        }
    }

    /// <summary>Sends one command and returns the answer line's status and payload.</summary>
    public (int Status, string Payload) Send(string command)
    {
        _process.StandardInput.WriteLine(command);
        _process.StandardInput.Flush();
        string line = ReadLine();
        Assert.StartsWith("S ", line);
        string rest = line[2..];
        int space = rest.IndexOf(' ');
        return space < 0 ? (int.Parse(rest), "") : (int.Parse(rest[..space]), rest[(space + 1)..]);
    }

    /// <summary>Reads a further line of a multi-line answer (a batch's rows).</summary>
    public string ReadLine() => _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException($"The C host exited with code {WaitForExit()}.");

    /// <summary>Sends a command that must succeed and returns its payload.</summary>
    public string Ok(string command)
    {
        var (status, payload) = Send(command);
        Assert.True(status == 0, $"'{command}' returned status {status}: {payload}");
        return payload;
    }

    public void Dispose()
    {
        _process.StandardInput.Close();
        if (!_process.WaitForExit(10_000))
        {
            _process.Kill();
        }
        _process.Dispose();
    }

    private int WaitForExit()
    {
        _process.WaitForExit(10_000);
        return _process.HasExited ? _process.ExitCode : -1;
    }

    private static string Compile()
    {
        string lib = Path.Combine(NativeFolder, "libsparcode.so");
        if (!File.Exists(lib))
        {
            throw new InvalidOperationException($"{lib} is missing: run 'bash src/SparCode.Native/build.sh' first (test.sh does).");
        }
        string source = Path.Combine(RepositoryRoot, "tests", "SparCode.Native.Tests", "host.c");
        string output = Path.Combine(Directory.CreateTempSubdirectory("sparcode-host-").FullName, "sparcode-host");
        var gcc = Process.Start(new ProcessStartInfo("gcc",
            ["-std=c11", "-O2", "-pthread", "-Wall", "-Wextra", "-Werror", "-I", NativeFolder, source, "-L", NativeFolder, "-lsparcode", $"-Wl,-rpath,{NativeFolder}", "-o", output])
        {
            RedirectStandardError = true,
            UseShellExecute = false,
        })!;
        string errors = gcc.StandardError.ReadToEnd();
        gcc.WaitForExit();
        return gcc.ExitCode == 0 ? output : throw new InvalidOperationException($"gcc failed ({gcc.ExitCode}): {errors}");
    }
}
