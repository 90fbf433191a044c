using System.Globalization;

namespace SparCode.Cli;

/// <summary>
/// Parses item id lists: <c>1,2,3</c> on the command line, <c>@FILE</c> for a file, or <c>-</c> for standard
/// input (ids separated by commas and/or whitespace), so a history longer than one argument allows
/// (128 KiB) still fits.
/// </summary>
internal static class IdList
{
    private static readonly char[] Separators = [',', ' ', '\t', '\r', '\n'];
    private static readonly Lazy<string> StandardInput = new(() => Console.In.ReadToEnd());

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says which entry is wrong.</summary>
    public static bool TryParse(string? text, out long[] ids, out string? error)
    {
        ids = [];
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "the list is empty; expected comma-separated item ids such as 1,2,3, @FILE or - (standard input).";
            return false;
        }
        string source = "";
        if (text is "-" or "@-")
        {
            text = StandardInput.Value;
            source = " (standard input)";
        }
        else if (text.StartsWith('@'))
        {
            string path = text[1..];
            try
            {
                text = File.ReadAllText(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                error = $"cannot read '{path}': {e.Message}";
                return false;
            }
            source = $" (in {path})";
        }
        var parts = text.Split(Separators, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length == 0)
        {
            error = $"the list{source} is empty; expected item ids such as 1,2,3.";
            return false;
        }
        var result = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out result[i]))
            {
                error = $"entry {i + 1}{source} ('{parts[i]}') is not an integer item id; expected comma-separated ids such as 1,2,3.";
                return false;
            }
        }
        ids = result;
        return true;
    }

    /// <summary>Parses a list that <see cref="TryParse"/> already accepted in validation (empty if null).</summary>
    public static long[] Parse(string? text) => text is null ? [] : TryParse(text, out var ids, out _) ? ids : [];
}
