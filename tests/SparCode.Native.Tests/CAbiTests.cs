using System.Buffers.Binary;
using System.Globalization;
using SparCode.Engine;
using SparCode.Format;
using SparCode.Synthetic;

namespace SparCode.Native.Tests;

/// <summary>
/// libsparcode.so through a C program: every answer equals the C# engine's for the same index and
/// query (ids and score bits), and every failure is a status with a message, never a crash.
/// </summary>
public sealed class CAbiTests : IDisposable
{
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("sparcode-native-");

    public void Dispose() => _dir.Delete(recursive: true);

    private static SyntheticOptions Options(int seed, int attentionBlocks = 0) => new()
    {
        ItemCount = 400,
        EmbeddingDim = 16,
        HistoryLength = 6,
        UserTokens = 3,
        Subspaces = 2,
        CodebookSize = 4,
        TokenDim = 8,
        HiddenWidths = [24],
        AttentionBlocks = attentionBlocks,
        FeedForwardWidth = 32,
        MeanPostingsPerList = 30,
        Seed = seed,
    };

    private string Write(string name, SyntheticOptions options)
    {
        string path = Path.Combine(_dir.FullName, name);
        IndexWriter.Write(path, SyntheticIndex.Create(options));
        return path;
    }

    /// <summary>The engine's answer in the host's format: "n id:bits ...".</summary>
    private static string Expected(SparCodeIndex index, long[] history, long[] exclude, int k, SearchOptions options)
    {
        var ids = new long[k];
        var scores = new float[k];
        int n = index.CreateSearcher().Search(history, exclude, k, ids, scores, options);
        return Row(ids, scores, n);
    }

    private static string Row(ReadOnlySpan<long> ids, ReadOnlySpan<float> scores, int n)
    {
        var parts = new List<string> { n.ToString(CultureInfo.InvariantCulture) };
        for (int i = 0; i < n; i++)
        {
            parts.Add($"{ids[i]}:{BitConverter.SingleToUInt32Bits(scores[i]):x8}");
        }
        return string.Join(' ', parts);
    }

    private static string Ids(IEnumerable<long> ids) => string.Join(' ', ids);

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    public void SearchesEqualTheCSharpEngine(int attentionBlocks)
    {
        string path = Write("a.sci", Options(1, attentionBlocks));
        using var index = SparCodeIndex.Open(path);
        using var host = new NativeHost();
        host.Ok($"open {path}");
        var random = new Random(5);
        var histories = SyntheticIndex.Histories(400, 60, 12, seed: 9);
        foreach (var (unknown, exclude, fill) in new[] { (0, 1, 1), (1, 0, 0), (0, 1, 0) })
        {
            host.Ok($"searcher {unknown} {exclude} {fill}");
            var options = new SearchOptions { UnknownItems = (UnknownItemPolicy)unknown, ExcludeHistory = exclude != 0, FillToK = fill != 0 };
            foreach (var history in histories)
            {
                int k = random.Next(1, 60);
                long[] further = [.. Enumerable.Range(0, random.Next(0, 4)).Select(_ => (long)random.Next(400))];
                string command = further.Length > 0 ? $"search {k} {Ids(history)} | {Ids(further)}" : $"search {k} {Ids(history)}";
                Assert.Equal(Expected(index, history, further, k, options), host.Ok(command));
            }
        }
    }

    [Fact]
    public void DefaultOptionsAreTheEngineDefaults()
    {
        string path = Write("a.sci", Options(2));
        using var index = SparCodeIndex.Open(path);
        using var host = new NativeHost();
        host.Ok($"open {path}");
        host.Ok("searcher default");
        long[] history = [3, 17, 250, 3];
        Assert.Equal(Expected(index, history, [], 20, SearchOptions.Default), host.Ok($"search 20 {Ids(history)}"));
    }

    [Fact]
    public void BatchesEqualTheCSharpBatch()
    {
        string path = Write("a.sci", Options(3));
        using var index = SparCodeIndex.Open(path);
        using var host = new NativeHost();
        host.Ok($"open {path}");
        host.Ok("searcher 0 1 0");
        var histories = SyntheticIndex.Histories(400, 40, 10, seed: 11);
        const int k = 25;
        var offsets = new int[histories.Length + 1];
        for (int q = 0; q < histories.Length; q++)
        {
            offsets[q + 1] = offsets[q] + histories[q].Length;
        }
        var ids = new long[histories.Length * k];
        var scores = new float[histories.Length * k];
        var counts = new int[histories.Length];
        index.SearchBatch(histories.SelectMany(h => h).ToArray(), offsets, k, ids, scores, counts, new SearchOptions { FillToK = false });

        Assert.Equal(histories.Length.ToString(CultureInfo.InvariantCulture), host.Ok($"batch {k} 2 {string.Join(" ; ", histories.Select(Ids))}"));
        for (int q = 0; q < histories.Length; q++)
        {
            Assert.Equal("R " + Row(ids.AsSpan(q * k, k), scores.AsSpan(q * k, k), counts[q]), host.ReadLine());
        }
    }

    [Fact]
    public void SwapServesTheNewIndexAndAFailedSwapKeepsTheOld()
    {
        string a = Write("a.sci", Options(4)), b = Write("b.sci", Options(5));
        using var indexA = SparCodeIndex.Open(a);
        using var indexB = SparCodeIndex.Open(b);
        using var host = new NativeHost();
        host.Ok($"open {a}");
        host.Ok("searcher default");
        long[] history = [1, 2, 3, 40];
        string query = $"search 10 {Ids(history)}";
        Assert.Equal(Expected(indexA, history, [], 10, SearchOptions.Default), host.Ok(query));
        Assert.StartsWith("400 16 6 ", host.Ok("info"));

        host.Ok($"swap {b}");
        Assert.Equal(Expected(indexB, history, [], 10, SearchOptions.Default), host.Ok(query));
        Assert.Equal("1", host.Ok("info").Split(' ')[4]);

        var (status, message) = host.Send($"swap {Path.Combine(_dir.FullName, "missing.sci")}");
        Assert.Equal(3, status);
        Assert.Contains("missing.sci", message);
        Assert.Equal(Expected(indexB, history, [], 10, SearchOptions.Default), host.Ok(query));
    }

    [Fact]
    public void SearchesOnFourThreadsDuringSwapsAreAllRight()
    {
        string a = Write("a.sci", Options(4)), b = Write("b.sci", Options(5));
        using var host = new NativeHost();
        host.Ok($"open {a}");
        host.Ok("searcher default");
        var fields = host.Ok($"stress 4 2000 {a} {b}").Split(' ').Select(long.Parse).ToArray();
        Assert.True(fields[0] > 100, $"only {fields[0]} queries ran");
        Assert.True(fields[1] > 10, $"only {fields[1]} swaps ran");
        Assert.Equal(0, fields[2]);
        Assert.Equal(0, fields[3]);
        Assert.True(fields[4] > 0, "A and B give the same answers, so a wrong index would go unseen");
    }

    [Fact]
    public void BadQueriesReturnStatusesWithMessages()
    {
        string path = Write("a.sci", Options(6));
        using var host = new NativeHost();
        host.Ok($"open {path}");
        host.Ok("searcher default");

        Fails(1, host.Send("search 0 1 2"), "k must be in 1..400");
        Fails(1, host.Send("search 401 1 2"), "k must be in 1..400");
        Fails(1, host.Send("search 5"), "history is empty");
        Fails(2, host.Send("search 5 1 987654"), "item id 987654 (position 1)");
        Assert.Contains("SC_UNKNOWN_SKIP", host.Send("search 5 987654").Payload);
        Fails(2, host.Send("batch 5 1 1 2 ; 3 987654"), "Query 1: history item id 987654");
        Fails(1, host.Send("searcher 7 1 1"), "unknown_items is 7");

        host.Ok("searcher 1 1 1");
        Assert.StartsWith("5 ", host.Ok("search 5 1 987654"));
    }

    [Fact]
    public void BadFilesReturnStatusesWithMessages()
    {
        string path = Write("a.sci", Options(7));
        byte[] bytes = File.ReadAllBytes(path);
        string truncated = Path.Combine(_dir.FullName, "truncated.sci");
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        string newer = Path.Combine(_dir.FullName, "newer.sci");
        var copy = (byte[])bytes.Clone();
        BinaryPrimitives.WriteInt32LittleEndian(copy.AsSpan(8), IndexLayout.CurrentVersion + 1);
        File.WriteAllBytes(newer, copy);
        using var host = new NativeHost();

        Fails(3, host.Send($"open {Path.Combine(_dir.FullName, "none.sci")}"), "none.sci");
        Fails(4, host.Send($"open {truncated}"), "Truncated");
        Fails(5, host.Send($"open {newer}"), $"format version {IndexLayout.CurrentVersion + 1}");
        Fails(1, host.Send("info"), "index is NULL");
    }

    [Fact]
    public void AClosedIndexAnswersDisposed()
    {
        string path = Write("a.sci", Options(8));
        using var host = new NativeHost();
        host.Ok($"open {path}");
        host.Ok("searcher default");
        host.Ok("search 5 1 2");
        host.Ok("close");
        Assert.Equal(6, host.Send("search 5 1 2").Status);
        Assert.Equal(6, host.Send("batch 5 1 1 2").Status);
        host.Ok("destroy");
        Fails(1, host.Send("search 5 1 2"), "searcher is NULL");
    }

    [Fact]
    public void TheLibraryReportsItsAbiAndAVectorPath()
    {
        using var host = new NativeHost();
        Assert.Equal("1 1", host.Ok("abi"));
        // build.sh targets x86-64-v3 by default, so the kernels take the 256-bit path (512 with SC_ISA=native on AVX-512).
        Assert.Contains(host.Ok("simd"), new[] { "256", "512" });
    }

    private static void Fails(int status, (int Status, string Payload) answer, string expected)
    {
        Assert.Equal(status, answer.Status);
        Assert.Contains(expected, answer.Payload, StringComparison.Ordinal);
    }
}
