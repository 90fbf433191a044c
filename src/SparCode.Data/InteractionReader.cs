using System.Globalization;

namespace SparCode.Data;

/// <summary>Interaction file formats the reader understands.</summary>
public enum InteractionFormat
{
    /// <summary>Detect from the first non-empty line.</summary>
    Auto,

    /// <summary>MovieLens <c>u.data</c>: <c>user \t item \t rating \t timestamp</c>.</summary>
    MovieLensTab,

    /// <summary>MovieLens <c>ratings.dat</c>: <c>user::item::rating::timestamp</c>.</summary>
    MovieLensDat,

    /// <summary>One user per line: <c>user item item ...</c>, items in time order.</summary>
    Sequence,

    /// <summary>CSV with a header naming the user, item and time columns.</summary>
    Csv,
}

/// <summary>One interaction: external user and item ids and a time (or position) used for ordering.</summary>
/// <param name="User">External user id.</param>
/// <param name="Item">External item id.</param>
/// <param name="Time">Timestamp, or the position within a sequence line.</param>
public readonly record struct Interaction(long User, long Item, long Time);

/// <summary>A malformed interaction file; the message names the file and the 1-based line.</summary>
public sealed class InteractionFormatException : FormatException
{
    /// <summary>Creates the exception.</summary>
    public InteractionFormatException(string path, int line, string problem)
        : base($"{path}:{line}: {problem}")
    {
        Path = path;
        Line = line;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The 1-based line number.</summary>
    public int Line { get; }
}

/// <summary>Reads interaction files (MovieLens tab or <c>::</c>, sequence lines, CSV with a header).</summary>
public static class InteractionReader
{
    private static readonly string[] UserNames = ["user", "user_id", "userid", "uid", "customer_id"];
    private static readonly string[] ItemNames = ["item", "item_id", "itemid", "iid", "movie_id", "movieid", "product_id", "asin"];
    private static readonly string[] TimeNames = ["time", "timestamp", "ts", "datetime", "date", "unix_time"];

    /// <summary>Guesses the format from the first non-empty line.</summary>
    /// <exception cref="InteractionFormatException">The file has no non-empty line or an unrecognised first line.</exception>
    public static InteractionFormat Detect(string path)
    {
        int number = 0;
        foreach (string raw in File.ReadLines(path))
        {
            number++;
            string line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }
            if (line.Contains("::", StringComparison.Ordinal))
            {
                return InteractionFormat.MovieLensDat;
            }
            if (line.Contains(',', StringComparison.Ordinal))
            {
                return InteractionFormat.Csv;
            }
            if (line.Contains('\t', StringComparison.Ordinal) && line.Split('\t').Length == 4)
            {
                return InteractionFormat.MovieLensTab;
            }
            var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (fields.All(f => long.TryParse(f, NumberStyles.Integer, CultureInfo.InvariantCulture, out _)))
            {
                return InteractionFormat.Sequence;
            }
            throw new InteractionFormatException(path, number, $"cannot tell the format from \"{Shorten(line)}\"; expected u.data (4 tab-separated fields), ratings.dat (::), a CSV header, or \"user item item ...\". Pass the format explicitly.");
        }
        throw new InteractionFormatException(path, Math.Max(number, 1), "the file has no interactions.");
    }

    /// <summary>Reads every interaction of <paramref name="path"/>.</summary>
    /// <param name="path">The file.</param>
    /// <param name="format">Its format, or <see cref="InteractionFormat.Auto"/>.</param>
    /// <exception cref="FileNotFoundException">No such file.</exception>
    /// <exception cref="InteractionFormatException">A malformed line (the message names file and line).</exception>
    public static List<Interaction> Read(string path, InteractionFormat format = InteractionFormat.Auto)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No interaction file at '{path}'.", path);
        }
        if (format == InteractionFormat.Auto)
        {
            format = Detect(path);
        }
        var result = new List<Interaction>();
        int number = 0;
        int[]? columns = null;
        int width = 0;
        foreach (string raw in File.ReadLines(path))
        {
            number++;
            string line = raw.Trim();
            if (line.Length == 0)
            {
                continue;
            }
            switch (format)
            {
                case InteractionFormat.MovieLensTab:
                    Fixed(path, number, line.Split('\t'), "tab-separated", result);
                    break;
                case InteractionFormat.MovieLensDat:
                    Fixed(path, number, line.Split("::"), "'::'-separated", result);
                    break;
                case InteractionFormat.Sequence:
                    var fields = line.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
                    if (fields.Length < 2)
                    {
                        throw new InteractionFormatException(path, number, $"expected \"user item item ...\" with at least one item; got \"{Shorten(line)}\".");
                    }
                    long user = Integer(path, number, fields[0], "user id");
                    for (int i = 1; i < fields.Length; i++)
                    {
                        result.Add(new Interaction(user, Integer(path, number, fields[i], "item id"), i));
                    }
                    break;
                case InteractionFormat.Csv:
                    var cells = line.Split(',');
                    if (columns is null)
                    {
                        columns = Header(path, number, cells);
                        width = cells.Length;
                        break;
                    }
                    if (cells.Length != width)
                    {
                        throw new InteractionFormatException(path, number, $"expected {width} comma-separated fields as in the header; got {cells.Length}.");
                    }
                    result.Add(new Interaction(
                        Integer(path, number, cells[columns[0]], "user id"),
                        Integer(path, number, cells[columns[1]], "item id"),
                        Time(path, number, cells[columns[2]])));
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(format), format, "Unknown format.");
            }
        }
        if (result.Count == 0)
        {
            throw new InteractionFormatException(path, Math.Max(number, 1), "the file has no interactions.");
        }
        return result;
    }

    private static void Fixed(string path, int number, string[] fields, string kind, List<Interaction> result)
    {
        if (fields.Length != 4)
        {
            throw new InteractionFormatException(path, number, $"expected 4 {kind} fields (user, item, rating, timestamp); got {fields.Length}.");
        }
        result.Add(new Interaction(Integer(path, number, fields[0], "user id"), Integer(path, number, fields[1], "item id"), Integer(path, number, fields[3], "timestamp")));
    }

    private static int[] Header(string path, int number, string[] cells)
    {
        int Find(string[] names, string what)
        {
            for (int c = 0; c < cells.Length; c++)
            {
                if (names.Contains(cells[c].Trim().Trim('"').ToLowerInvariant()))
                {
                    return c;
                }
            }
            throw new InteractionFormatException(path, number, $"the CSV header has no {what} column (one of {string.Join(", ", names)}); got \"{string.Join(",", cells)}\".");
        }
        return [Find(UserNames, "user"), Find(ItemNames, "item"), Find(TimeNames, "time")];
    }

    private static long Integer(string path, int number, string text, string what)
    {
        if (!long.TryParse(text.Trim().Trim('"'), NumberStyles.Integer, CultureInfo.InvariantCulture, out long value))
        {
            throw new InteractionFormatException(path, number, $"the {what} \"{Shorten(text)}\" is not an integer.");
        }
        return value;
    }

    private static long Time(string path, int number, string text)
    {
        string t = text.Trim().Trim('"');
        if (long.TryParse(t, NumberStyles.Integer, CultureInfo.InvariantCulture, out long value))
        {
            return value;
        }
        if (double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out double seconds) && double.IsFinite(seconds))
        {
            return (long)(seconds * 1000);
        }
        if (DateTimeOffset.TryParse(t, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
        {
            return date.ToUnixTimeMilliseconds();
        }
        throw new InteractionFormatException(path, number, $"the time \"{Shorten(t)}\" is neither a number nor a date.");
    }

    private static string Shorten(string text) => text.Length <= 60 ? text : text[..57] + "...";
}
