namespace SparCode.Data;

/// <summary>
/// Interaction data named by one string, the form a model's manifest records: a file that
/// <see cref="InteractionReader"/> reads (format detected or given), or <c>synthetic</c> /
/// <c>synthetic:USERS:ITEMS</c> for the embedded cross-feature generator with the demo's settings
/// (<see cref="SyntheticOptions"/>). A model trained on either reloads the same data from its manifest.
/// </summary>
public static class DataSource
{
    /// <summary>The data keyword for the embedded generator.</summary>
    public const string Synthetic = "synthetic";

    /// <summary>Synthetic users when the spec does not give them.</summary>
    public const int DefaultSyntheticUsers = 3000;

    /// <summary>Synthetic catalogue size when the spec does not give it.</summary>
    public const int DefaultSyntheticItems = 400;

    /// <summary>The demo's synthetic data: the generator's defaults with a mild popularity skew (learning starts sooner).</summary>
    /// <param name="users">Users to generate.</param>
    /// <param name="items">Catalogue size.</param>
    public static CrossFeatureOptions SyntheticOptions(int users, int items) =>
        new() { Users = users, Items = items, MinLength = 6, MaxLength = 14, PopularitySkew = 0.8 };

    /// <summary>The spec that <see cref="Load"/> turns back into <see cref="SyntheticOptions"/>(<paramref name="users"/>, <paramref name="items"/>).</summary>
    /// <param name="users">Users to generate.</param>
    /// <param name="items">Catalogue size.</param>
    public static string SyntheticSpec(int users, int items) => FormattableString.Invariant($"{Synthetic}:{users}:{items}");

    /// <summary>
    /// Loads the data named by <paramref name="spec"/>. A spec starting with <c>synthetic</c> generates
    /// <see cref="SyntheticOptions"/> with the users and items after its first and second colon (defaults
    /// <see cref="DefaultSyntheticUsers"/> and <see cref="DefaultSyntheticItems"/> where missing or not a number);
    /// anything else is a file read by <see cref="SequenceDataset.Load"/>.
    /// </summary>
    /// <param name="spec">A file path, or <c>synthetic[:USERS:ITEMS]</c>.</param>
    /// <param name="format">The file format (<see cref="InteractionFormat.Auto"/>: detected); not used for synthetic data.</param>
    /// <param name="log">Receives one line describing what was loaded (source, format, users, items, interactions).</param>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InteractionFormatException">The file is not in the format given or detected.</exception>
    /// <exception cref="ArgumentException">The synthetic sizes are invalid for the generator.</exception>
    public static SequenceDataset Load(string spec, InteractionFormat format = InteractionFormat.Auto, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.StartsWith(Synthetic, StringComparison.OrdinalIgnoreCase))
        {
            var parts = spec.Split(':');
            int users = parts.Length > 1 && int.TryParse(parts[1], out int u) ? u : DefaultSyntheticUsers;
            int items = parts.Length > 2 && int.TryParse(parts[2], out int i) ? i : DefaultSyntheticItems;
            var generated = CrossFeatureGenerator.Generate(SyntheticOptions(users, items));
            log?.Invoke($"data: {generated.Source}: {Sizes(generated)}");
            return generated;
        }
        var loaded = SequenceDataset.Load(spec, format);
        log?.Invoke($"data: {loaded.Source} ({(format == InteractionFormat.Auto ? InteractionReader.Detect(spec) : format)}): {Sizes(loaded)}");
        return loaded;
    }

    private static string Sizes(SequenceDataset data) =>
        $"{data.UserCount:N0} users, {data.ItemCount:N0} items, {data.InteractionCount:N0} interactions";
}
