
namespace SparCode.Format.Tests;

/// <summary>What a killed write leaves behind is cleaned up by the next write of the same name, and nothing else is touched.</summary>
public sealed class AtomicWriteTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string Create(string path, DateTime writeTimeUtc)
    {
        File.WriteAllBytes(path, new byte[100]);
        File.SetLastWriteTimeUtc(path, writeTimeUtc);
        return path;
    }

    [Fact]
    public void Stale_temporary_files_of_the_same_name_are_removed_on_the_next_write()
    {
        string path = _dir.File("index.sci");
        var past = DateTime.UtcNow.AddMinutes(-10);
        string stale = Create($"{path}.tmp-4194000-{Guid.NewGuid():N}", past);
        string staleOwn = Create($"{path}.tmp-{Environment.ProcessId}-{Guid.NewGuid():N}", past);
        // Newer than this write: another writer may still be at work on it.
        string recent = Create($"{path}.tmp-4194001-{Guid.NewGuid():N}", DateTime.UtcNow.AddMinutes(10));
        string otherName = Create($"{_dir.File("other.sci")}.tmp-4194000-{Guid.NewGuid():N}", past);
        string lookalike = Create($"{path}.tmp-notes", past);
        string badGuid = Create($"{path}.tmp-4194000-not-a-guid", past);
        string prefix = Create($"{_dir.File("x-index.sci")}.tmp-4194000-{Guid.NewGuid():N}", past);

        IndexWriter.Write(path, SmallIndexes.Contents());

        Assert.False(File.Exists(stale));
        Assert.False(File.Exists(staleOwn));
        Assert.True(File.Exists(recent));
        Assert.True(File.Exists(otherName));
        Assert.True(File.Exists(lookalike));
        Assert.True(File.Exists(badGuid));
        Assert.True(File.Exists(prefix));
        using var file = IndexFile.Open(path);
    }
}
