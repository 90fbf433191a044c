using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using SparCode.Engine;
using SparCode.Kernels.Cpu;

namespace SparCode.Native;

/// <summary>
/// The exported functions of libsparcode.so, one per declaration in include/sparcode.h. Each catches
/// every exception and returns a status: an exception must never unwind into a native caller.
/// </summary>
internal static unsafe class NativeApi
{
    private const int AbiVersion = 1;

    /// <summary>What an <c>sc_searcher*</c> points to: the index handle's service and the options it searches with.</summary>
    private sealed class Searcher(SparCodeService service, SearchOptions options)
    {
        public SparCodeService Service { get; } = service;

        public SearchOptions Options { get; } = options;
    }

    /// <summary>The options struct of the header (<c>sc_search_options</c>); the layout is part of the ABI.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct NativeSearchOptions
    {
        public int UnknownItems;
        public int ExcludeHistory;
        public int FillToK;
    }

    /// <summary>The description struct of the header (<c>sc_index_info</c>); the layout is part of the ABI.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private struct NativeIndexInfo
    {
        public long ItemCount;
        public long CodeCount;
        public int HistoryLength;
        public int FormatVersion;
        public long Generation;
        public long OpenMemoryBytes;
    }

    [UnmanagedCallersOnly(EntryPoint = "sc_abi_version")]
    private static int GetAbiVersion() => AbiVersion;

    [UnmanagedCallersOnly(EntryPoint = "sc_simd_bits")]
    private static int SimdBits() => Simd.Best switch
    {
        SimdPath.Vector512 => 512,
        SimdPath.Vector256 => 256,
        SimdPath.Vector128 => 128,
        _ => 0,
    };

    [UnmanagedCallersOnly(EntryPoint = "sc_last_error")]
    private static byte* LastError() => NativeErrors.LastMessage;

    [UnmanagedCallersOnly(EntryPoint = "sc_open")]
    private static NativeStatus Open(byte* path, nint* result)
    {
        try
        {
            Require(result != null, "out");
            *result = 0;
            var service = SparCodeService.Open(PathArgument(path));
            *result = GCHandle.ToIntPtr(GCHandle.Alloc(service));
            return NativeStatus.Ok;
        }
        catch (Exception e)
        {
            return NativeErrors.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "sc_close")]
    private static void Close(nint index)
    {
        if (index == 0)
        {
            return;
        }
        var handle = GCHandle.FromIntPtr(index);
        try
        {
            ((SparCodeService)handle.Target!).Dispose();
        }
        catch (Exception e)
        {
            NativeErrors.Fail(e);
        }
        finally
        {
            handle.Free();
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "sc_swap")]
    private static NativeStatus Swap(nint index, byte* path)
    {
        try
        {
            ServiceOf(index).Swap(PathArgument(path));
            return NativeStatus.Ok;
        }
        catch (Exception e)
        {
            return NativeErrors.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "sc_index_info_get")]
    private static NativeStatus IndexInfo(nint index, NativeIndexInfo* result)
    {
        try
        {
            Require(result != null, "out");
            var service = ServiceOf(index);
            using var lease = service.Lease();
            var dimensions = lease.Index.Dimensions;
            *result = new NativeIndexInfo
            {
                ItemCount = dimensions.ItemCount,
                CodeCount = dimensions.CodeCount,
                HistoryLength = dimensions.HistoryLength,
                FormatVersion = lease.Index.Description.FormatVersion,
                Generation = service.Generation,
                OpenMemoryBytes = lease.Index.OpenMemoryBytes,
            };
            return NativeStatus.Ok;
        }
        catch (Exception e)
        {
            return NativeErrors.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "sc_searcher_create")]
    private static NativeStatus CreateSearcher(nint index, NativeSearchOptions* options, nint* result)
    {
        try
        {
            Require(result != null, "out");
            *result = 0;
            var service = ServiceOf(index);
            var searchOptions = options == null ? SearchOptions.Default : new SearchOptions
            {
                UnknownItems = options->UnknownItems switch
                {
                    0 => UnknownItemPolicy.Error,
                    1 => UnknownItemPolicy.Skip,
                    int other => throw new ArgumentOutOfRangeException(nameof(options), other, $"unknown_items is {other}; expected SC_UNKNOWN_ERROR (0) or SC_UNKNOWN_SKIP (1)."),
                },
                ExcludeHistory = options->ExcludeHistory != 0,
                FillToK = options->FillToK != 0,
            };
            *result = GCHandle.ToIntPtr(GCHandle.Alloc(new Searcher(service, searchOptions)));
            return NativeStatus.Ok;
        }
        catch (Exception e)
        {
            return NativeErrors.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "sc_searcher_destroy")]
    private static void DestroySearcher(nint searcher)
    {
        if (searcher != 0)
        {
            GCHandle.FromIntPtr(searcher).Free();
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "sc_search")]
    private static NativeStatus Search(nint searcher, long* history, int historyLength, long* exclude, int excludeLength,
        int k, long* ids, float* scores, int* count)
    {
        try
        {
            var s = SearcherOf(searcher);
            Require(count != null, "count");
            *count = 0;
            *count = s.Service.Search(Input(history, historyLength, "history"), Input(exclude, excludeLength, "exclude"), k,
                Output(ids, k, "ids"), Output(scores, k, "scores"), s.Options);
            return NativeStatus.Ok;
        }
        catch (Exception e)
        {
            return NativeErrors.Fail(e);
        }
    }

    [UnmanagedCallersOnly(EntryPoint = "sc_search_batch")]
    private static NativeStatus SearchBatch(nint searcher, long* histories, int* offsets, int queries,
        int k, long* ids, float* scores, int* counts, int maxThreads)
    {
        try
        {
            var s = SearcherOf(searcher);
            Require(queries >= 0, "queries", $"queries is {queries}; expected 0 or more.");
            Require(offsets != null, "offsets");
            int total = offsets[queries];
            Require(total >= 0, "offsets", $"offsets[{queries}] is {total}; expected the total history length, 0 or more.");
            long cells = (long)queries * Math.Max(k, 0);
            Require(cells <= int.MaxValue, "k", $"queries × k is {cells}; expected at most {int.MaxValue}.");
            s.Service.SearchBatch(
                Memory(histories, total, "histories"),
                Memory(offsets, queries + 1, "offsets"),
                k,
                Memory(ids, (int)cells, "ids"),
                Memory(scores, (int)cells, "scores"),
                Memory(counts, queries, "counts"),
                s.Options,
                maxThreads);
            return NativeStatus.Ok;
        }
        catch (Exception e)
        {
            return NativeErrors.Fail(e);
        }
    }

    private static SparCodeService ServiceOf(nint index)
    {
        Require(index != 0, "index");
        return (SparCodeService)GCHandle.FromIntPtr(index).Target!;
    }

    private static Searcher SearcherOf(nint searcher)
    {
        Require(searcher != 0, "searcher");
        return (Searcher)GCHandle.FromIntPtr(searcher).Target!;
    }

    private static string PathArgument(byte* path)
    {
        Require(path != null, "path");
        return Marshal.PtrToStringUTF8((nint)path)!;
    }

    private static ReadOnlySpan<long> Input(long* values, int length, string name)
    {
        Require(length >= 0, name, $"{name}_length is {length}; expected 0 or more.");
        Require(values != null || length == 0, name);
        return new ReadOnlySpan<long>(values, length);
    }

    private static Span<T> Output<T>(T* values, int k, string name)
        where T : unmanaged
    {
        Require(values != null, name);
        return new Span<T>(values, Math.Max(k, 0));
    }

    private static Memory<T> Memory<T>(T* values, int length, string name)
        where T : unmanaged
    {
        Require(values != null || length == 0, name);
        return new PointerMemory<T>(values, length).Memory;
    }

    private static void Require([DoesNotReturnIf(false)] bool condition, string name, string? message = null)
    {
        if (!condition)
        {
            throw new ArgumentException(message ?? $"{name} is NULL; expected a valid pointer.", name);
        }
    }
}
