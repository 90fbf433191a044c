namespace SparCode.Engine;

/// <summary>
/// Where each posting list crosses each accumulation window boundary (windows of
/// <see cref="SparCodeSearcher.DefaultWindow"/> items), so a query finds each list's run in a window
/// by a table read instead of a galloping search through the list.
/// </summary>
/// <remarks>
/// Built once when the index is opened, in one pass over the ids. Saves the K_u lists × n_items / 2^16
/// searches of a query, whose probes miss the cache on a large catalogue (perf/results/2026-12-02-code-notes).
/// </remarks>
internal sealed class ListWindows
{
    /// <summary>Row-major lists × (windows + 1): the absolute index of the first posting of list c whose item is ≥ w · window.</summary>
    private readonly int[] _starts;

    private ListWindows(int[] starts, int windowCount)
    {
        _starts = starts;
        WindowCount = windowCount;
    }

    /// <summary>Windows over the catalogue.</summary>
    internal int WindowCount { get; }

    /// <summary>Tabulates every list's window boundaries.</summary>
    /// <param name="offsets">CSR offsets, one more than the lists.</param>
    /// <param name="items">All postings' item ids, ascending within each list.</param>
    /// <param name="itemCount">Catalogue size.</param>
    internal static ListWindows Build(ReadOnlySpan<long> offsets, ReadOnlySpan<int> items, int itemCount)
    {
        const int window = SparCodeSearcher.DefaultWindow;
        int windows = (int)((itemCount + (long)window - 1) / window);
        int lists = offsets.Length - 1;
        // SparCodeIndex refuses files whose table would not fit an array (or MaxDerivedTableBytes) before
        // this runs; checked so that a caller that skipped it gets OverflowException, never a short table.
        var starts = new int[checked(lists * (windows + 1))];
        for (int c = 0; c < lists; c++)
        {
            var row = starts.AsSpan(c * (windows + 1), windows + 1);
            int p = (int)offsets[c];
            int end = (int)offsets[c + 1];
            for (int w = 0; w <= windows; w++)
            {
                long boundary = (long)w * window;
                while (p < end && items[p] < boundary)
                {
                    p++;
                }
                row[w] = p;
            }
        }
        return new ListWindows(starts, windows);
    }

    /// <summary>The end (exclusive) of list <paramref name="code"/>'s run in window <paramref name="window"/>.</summary>
    internal int RunEnd(int code, int window) => _starts[code * (WindowCount + 1) + window + 1];
}
