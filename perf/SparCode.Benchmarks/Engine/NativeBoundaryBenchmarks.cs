using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using SparCode.Benchmarks.Infrastructure;
using SparCode.Engine;
using SparCode.Synthetic;

namespace SparCode.Benchmarks.Engine;

/// <summary>
/// The cost of the C ABI: the same search through <see cref="SparCodeService.Search"/> (C#, the
/// baseline) and through libsparcode.so's <c>sc_search</c> (a call into NativeAOT code through a
/// function pointer, as a C host makes it), on the same file, history and options; and the bare
/// round trip of a call that does nothing (<c>sc_abi_version</c>).
/// </summary>
/// <remarks>
/// Needs artifacts/native/libsparcode.so (<c>bash src/SparCode.Native/build.sh</c>; test.sh builds it).
/// The library is built for x86-64-v3, so the only job is AVX2: both sides run the 256-bit kernels.
/// The small index (10k items, 10 postings per list) makes the boundary visible; the large one (100k
/// items, 1,000 per list) is a realistic query.
/// </remarks>
[Config(typeof(Avx2MethodBaselineConfig))]
public unsafe class NativeBoundaryBenchmarks
{
    private SparCodeService? _service;
    private nint _library;
    private nint _index;
    private nint _searcher;
    private delegate* unmanaged<nint, long*, int, long*, int, int, long*, float*, int*, int> _search;
    private delegate* unmanaged<int> _abiVersion;
    private long[][] _histories = [];
    private readonly long[] _ids = new long[SearchWorkload.K];
    private readonly float[] _scores = new float[SearchWorkload.K];
    private int _next;

    /// <summary>Catalogue size and mean posting-list length, as "items/postings".</summary>
    [Params("10000/10", "100000/1000")]
    public string Index { get; set; } = "10000/10";

    [GlobalSetup]
    public void Setup()
    {
        var parts = Index.Split('/');
        int items = int.Parse(parts[0]), postings = int.Parse(parts[1]);
        string path = SyntheticIndexCache.GetOrCreate(new SyntheticOptions { ItemCount = items, MeanPostingsPerList = postings, CodebookSize = 64 });
        _service = SparCodeService.Open(path);
        string library = Path.Combine(RepositoryRoot(), "artifacts", "native", "libsparcode.so");
        if (!File.Exists(library))
        {
            throw new InvalidOperationException($"{library} is missing: run 'bash src/SparCode.Native/build.sh' first.");
        }
        _library = NativeLibrary.Load(library);
        var open = (delegate* unmanaged<byte*, nint*, int>)NativeLibrary.GetExport(_library, "sc_open");
        var create = (delegate* unmanaged<nint, void*, nint*, int>)NativeLibrary.GetExport(_library, "sc_searcher_create");
        _search = (delegate* unmanaged<nint, long*, int, long*, int, int, long*, float*, int*, int>)NativeLibrary.GetExport(_library, "sc_search");
        _abiVersion = (delegate* unmanaged<int>)NativeLibrary.GetExport(_library, "sc_abi_version");
        nint index, searcher;
        fixed (byte* utf8 = System.Text.Encoding.UTF8.GetBytes(path + "\0"))
        {
            Check(open(utf8, &index), "sc_open");
        }
        Check(create(index, null, &searcher), "sc_searcher_create");
        (_index, _searcher) = (index, searcher);
        _histories = SearchWorkload.Histories(items);
        for (int q = 0; q < _histories.Length; q++)
        {
            _next = q;
            int count = CSharp();
            long[] expected = [.. _ids];
            _next = q;
            if (CAbi() != count || !expected.AsSpan().SequenceEqual(_ids))
            {
                throw new InvalidOperationException($"The C ABI and the C# engine disagree on history {q}.");
            }
        }
        _next = 0;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_library != 0)
        {
            ((delegate* unmanaged<nint, void>)NativeLibrary.GetExport(_library, "sc_searcher_destroy"))(_searcher);
            ((delegate* unmanaged<nint, void>)NativeLibrary.GetExport(_library, "sc_close"))(_index);
        }
        _service?.Dispose();
    }

    /// <summary>The C# call.</summary>
    [Benchmark(Baseline = true)]
    public int CSharp() => _service!.Search(_histories[_next++ & (SearchWorkload.HistoryCount - 1)], [], SearchWorkload.K, _ids, _scores);

    /// <summary>The same search through <c>sc_search</c>.</summary>
    [Benchmark]
    public int CAbi()
    {
        var history = _histories[_next++ & (SearchWorkload.HistoryCount - 1)];
        int count;
        fixed (long* h = history)
        fixed (long* ids = _ids)
        fixed (float* scores = _scores)
        {
            Check(_search(_searcher, h, history.Length, null, 0, SearchWorkload.K, ids, scores, &count), "sc_search");
        }
        return count;
    }

    /// <summary>A call across the boundary that does no work.</summary>
    [Benchmark]
    public int CAbiEmptyCall() => _abiVersion();

    private static void Check(int status, string function)
    {
        if (status != 0)
        {
            throw new InvalidOperationException($"{function} returned status {status}.");
        }
    }

    private static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "SparCode.Engine.sln")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException($"No SparCode.Engine.sln above {AppContext.BaseDirectory}.");
    }
}
