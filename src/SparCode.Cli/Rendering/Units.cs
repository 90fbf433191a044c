using System.Diagnostics;
using System.Globalization;

namespace SparCode.Cli.Rendering;

/// <summary>Number, size and time formatting shared by the commands (invariant culture).</summary>
internal static class Units
{
    /// <summary>An integer with thousands separators: 1,234,567.</summary>
    public static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    /// <summary>A fixed-point number with thousands separators: 2,540.9.</summary>
    public static string Number(double value, int decimals = 1) => value.ToString("N" + decimals.ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);

    /// <summary>A byte count in binary units: 512 B, 3.2 KiB, 127.4 MiB.</summary>
    public static string Bytes(long bytes) => SparCode.Bench.BenchReport.Bytes(bytes);

    /// <summary>A duration: 812 µs, 45.3 ms, 2.41 s.</summary>
    public static string Duration(TimeSpan time) => time.TotalMilliseconds switch
    {
        < 1 => $"{Number(time.TotalMicroseconds, 0)} µs",
        < 1000 => $"{Number(time.TotalMilliseconds)} ms",
        _ => $"{Number(time.TotalSeconds, 2)} s",
    };

    /// <summary>Microseconds from a <see cref="Stopwatch"/> timestamp difference.</summary>
    public static double Microseconds(long ticks) => ticks * 1e6 / Stopwatch.Frequency;

    /// <summary>Comma-separated values, shortened with "…" after <paramref name="max"/> of them.</summary>
    public static string List<T>(ReadOnlySpan<T> values, int max = 12)
    {
        var parts = new List<string>(Math.Min(values.Length, max) + 1);
        for (int i = 0; i < values.Length && i < max; i++)
        {
            parts.Add(string.Format(CultureInfo.InvariantCulture, "{0}", values[i]));
        }
        if (values.Length > max)
        {
            parts.Add($"… ({values.Length} in all)");
        }
        return string.Join(", ", parts);
    }
}
