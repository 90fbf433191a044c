using System.Diagnostics;
using SparCode.Format;
using SparCode.Synthetic;

namespace SparCode.Benchmarks.Infrastructure;

/// <summary>
/// Synthetic index files shared by every benchmark process of a run (each job and parameter case is
/// its own process, and a 1M-item index takes a while to build).
/// </summary>
/// <remarks>
/// Files live in <c>$SPARCODE_BENCH_DATA</c>, or <c>sparcode-bench</c> under the temp folder. A file's
/// name holds the options and the module version ids of the generator and format assemblies, so a
/// rebuilt generator or format never reuses a stale file; older files for the same options are
/// deleted when a new one is written. <see cref="IndexWriter.Write"/> writes atomically, so a run that
/// is killed mid-build leaves no half-written file under the real name.
/// </remarks>
public static class SyntheticIndexCache
{
    /// <summary>The folder that holds the cached files.</summary>
    public static string Folder =>
        Environment.GetEnvironmentVariable("SPARCODE_BENCH_DATA") is { Length: > 0 } folder
            ? folder
            : Path.Combine(Path.GetTempPath(), "sparcode-bench");

    private static string PathFor(SyntheticOptions options) => Path.Combine(Folder, $"{Prefix(options)}{BuildStamp()}.sci");

    /// <summary>
    /// The newest cached file for <paramref name="options"/> whatever its build stamp, or null. For the
    /// host process, whose copy of the generator may be a different build from the benchmark
    /// processes' (BenchmarkDotNet rebuilds the project for them).
    /// </summary>
    public static string? FindLatest(SyntheticOptions options) =>
        Directory.Exists(Folder)
            ? Directory.EnumerateFiles(Folder, $"{Prefix(options)}*.sci").MaxBy(File.GetLastWriteTimeUtc)
            : null;

    /// <summary>Returns the path of the index for <paramref name="options"/>, building it first if it is not cached.</summary>
    public static string GetOrCreate(SyntheticOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        string path = PathFor(options);
        if (File.Exists(path) && IsReadable(path))
        {
            return path;
        }
        Directory.CreateDirectory(Folder);
        var stopwatch = Stopwatch.StartNew();
        var contents = SyntheticIndex.Create(options);
        long bytes = IndexWriter.Write(path, contents);
        Console.WriteLine($"// Built {path}: {bytes / (1 << 20)} MiB in {stopwatch.Elapsed.TotalSeconds:F1} s.");
        foreach (string stale in Directory.EnumerateFiles(Folder, $"{Prefix(options)}*.sci"))
        {
            if (stale != path)
            {
                File.Delete(stale);
            }
        }
        return path;
    }

    private static bool IsReadable(string path)
    {
        try
        {
            using var file = IndexFile.Open(path, IndexValidation.SkipChecksum);
            return true;
        }
        catch (Exception e) when (e is CorruptIndexException or IndexVersionException)
        {
            Console.WriteLine($"// Cached {path} is unreadable ({e.Message}); rebuilding it.");
            return false;
        }
    }

    private static string Prefix(SyntheticOptions o) =>
        $"synthetic-n{o.ItemCount}-p{o.MeanPostingsPerList}-kc{o.CodebookSize}-m{o.Subspaces}-ku{o.UserTokens}-s{o.Seed}-";

    private static string BuildStamp()
    {
        var generator = typeof(SyntheticIndex).Assembly.ManifestModule.ModuleVersionId;
        var format = typeof(IndexWriter).Assembly.ManifestModule.ModuleVersionId;
        return $"{generator.ToString("N")[..8]}{format.ToString("N")[..8]}";
    }
}
