using System.Globalization;

namespace SparCode.Cli;

/// <summary>Parses comma-separated item id lists such as <c>1,2,3</c>.</summary>
internal static class IdList
{
    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says which entry is wrong.</summary>
    public static bool TryParse(string? text, out long[] ids, out string? error)
    {
        ids = [];
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            error = "the list is empty; expected comma-separated item ids such as 1,2,3.";
            return false;
        }
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var result = new long[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!long.TryParse(parts[i], NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out result[i]))
            {
                error = $"entry {i + 1} ('{parts[i]}') is not an integer item id; expected comma-separated ids such as 1,2,3.";
                return false;
            }
        }
        ids = result;
        return true;
    }

    /// <summary>Parses a list that <see cref="TryParse"/> already accepted in validation (empty if null).</summary>
    public static long[] Parse(string? text) => text is null ? [] : TryParse(text, out var ids, out _) ? ids : [];
}
