using System.Runtime.InteropServices;

namespace SparCode.Baselines;

/// <summary>
/// The few functions of USearch's C library (<c>libusearch_c</c>, shipped in the Cloud.Unum.USearch
/// 2.26.6 package) that the managed wrapper does not expose: reserve with a thread count, changing
/// expansion_search after the build, and filtered search. Arrays are passed as pinned refs, so no unsafe code is needed.
/// </summary>
internal static partial class UsearchNative
{
    private const string Library = "libusearch_c";

    /// <summary><c>usearch_metric_kind_t</c>.</summary>
    internal enum MetricKind : uint
    {
        InnerProduct = 2,
    }

    /// <summary><c>usearch_scalar_kind_t</c>.</summary>
    internal enum ScalarKind : uint
    {
        Float32 = 1,
    }

    /// <summary><c>usearch_init_options_t</c> as of 2.26 (the layout the managed wrapper also uses).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct InitOptions
    {
        public MetricKind MetricKind;
        public IntPtr Metric;
        public ScalarKind Quantization;
        public nuint Dimensions;
        public nuint Connectivity;
        public nuint ExpansionAdd;
        public nuint ExpansionSearch;
        public byte Multi;
    }

    [DllImport(Library, EntryPoint = "usearch_init")]
    internal static extern IntPtr Init(ref InitOptions options, out IntPtr error);

    [DllImport(Library, EntryPoint = "usearch_free")]
    internal static extern void Free(IntPtr index, out IntPtr error);

    [DllImport(Library, EntryPoint = "usearch_reserve")]
    internal static extern void Reserve(IntPtr index, nuint capacity, out IntPtr error);

    [DllImport(Library, EntryPoint = "usearch_change_threads_add")]
    internal static extern void ChangeThreadsAdd(IntPtr index, nuint threads, out IntPtr error);

    [DllImport(Library, EntryPoint = "usearch_change_threads_search")]
    internal static extern void ChangeThreadsSearch(IntPtr index, nuint threads, out IntPtr error);

    [DllImport(Library, EntryPoint = "usearch_change_expansion_search")]
    internal static extern void ChangeExpansionSearch(IntPtr index, nuint expansion, out IntPtr error);

    [DllImport(Library, EntryPoint = "usearch_add")]
    internal static extern void Add(IntPtr index, ulong key, ref float vector, ScalarKind kind, out IntPtr error);

    [DllImport(Library, EntryPoint = "usearch_search")]
    internal static extern nuint Search(IntPtr index, ref float query, ScalarKind kind, nuint count, ref ulong keys, ref float distances, out IntPtr error);

    /// <summary>The predicate of <c>usearch_filtered_search</c>: non-zero keeps <paramref name="key"/>.</summary>
    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    internal delegate int Filter(ulong key, IntPtr state);

    /// <summary><c>usearch_filtered_search</c>: the predicate is applied to candidates during the graph search, so ef keeps its meaning.</summary>
    [DllImport(Library, EntryPoint = "usearch_filtered_search")]
    internal static extern nuint FilteredSearch(IntPtr index, ref float query, ScalarKind kind, nuint count, IntPtr filter, IntPtr state, ref ulong keys, ref float distances, out IntPtr error);

    [DllImport(Library, EntryPoint = "usearch_size")]
    internal static extern nuint Size(IntPtr index, out IntPtr error);

    [DllImport(Library, EntryPoint = "usearch_memory_usage")]
    internal static extern nuint MemoryUsage(IntPtr index, out IntPtr error);

    [DllImport(Library, EntryPoint = "usearch_serialized_length")]
    internal static extern nuint SerializedLength(IntPtr index, out IntPtr error);

    [DllImport(Library, EntryPoint = "usearch_expansion_search")]
    internal static extern nuint ExpansionSearch(IntPtr index, out IntPtr error);

    /// <summary>Throws <see cref="HnswException"/> when the C library reported an error.</summary>
    internal static void Check(IntPtr error, string operation)
    {
        if (error != IntPtr.Zero)
        {
            throw new HnswException($"USearch {operation} failed: {Marshal.PtrToStringUTF8(error)}");
        }
    }
}
