namespace SparCode.Data;

/// <summary>
/// Users' time-ordered item sequences over a remapped catalogue, with the leave-one-out split:
/// train on all but the last two items, validate on the second-to-last, test on the last.
/// </summary>
/// <remarks>
/// Internal item <c>i</c> (0-based) has external id <see cref="ItemIds"/>[i]; model embedding rows are
/// <c>i + 1</c> (row 0 is padding). Users with fewer than 3 items train on everything and are not evaluated.
/// </remarks>
public sealed class SequenceDataset
{
    private SequenceDataset(long[] itemIds, long[] userIds, int[][] sequences, string source)
    {
        ItemIds = itemIds;
        UserIds = userIds;
        Sequences = sequences;
        Source = source;
    }

    /// <summary>External id of each internal item.</summary>
    public long[] ItemIds { get; }

    /// <summary>External id of each user (row of <see cref="Sequences"/>).</summary>
    public long[] UserIds { get; }

    /// <summary>Each user's internal item ids in time order.</summary>
    public int[][] Sequences { get; }

    /// <summary>Where the data came from (a path or "synthetic ...").</summary>
    public string Source { get; }

    /// <summary>Catalogue size.</summary>
    public int ItemCount => ItemIds.Length;

    /// <summary>Number of users.</summary>
    public int UserCount => Sequences.Length;

    /// <summary>Total interactions.</summary>
    public long InteractionCount => Sequences.Sum(s => (long)s.Length);

    /// <summary>The training part of user <paramref name="u"/>'s sequence (all but the last two, or all if shorter than 3).</summary>
    public ReadOnlySpan<int> Train(int u) => Sequences[u].Length >= 3 ? Sequences[u].AsSpan(0, Sequences[u].Length - 2) : Sequences[u];

    /// <summary>True if user <paramref name="u"/> has validation and test items.</summary>
    public bool Evaluated(int u) => Sequences[u].Length >= 3;

    /// <summary>Builds a dataset from raw interactions: orders each user's events by time (stable on ties), remaps ids.</summary>
    /// <param name="interactions">The events.</param>
    /// <param name="source">A description of the source.</param>
    /// <param name="minUserItems">Users with fewer events are dropped.</param>
    public static SequenceDataset Build(IReadOnlyList<Interaction> interactions, string source, int minUserItems = 1)
    {
        ArgumentNullException.ThrowIfNull(interactions);
        var byUser = new Dictionary<long, List<(long Time, int Order, long Item)>>();
        for (int e = 0; e < interactions.Count; e++)
        {
            var x = interactions[e];
            if (!byUser.TryGetValue(x.User, out var list))
            {
                byUser[x.User] = list = [];
            }
            list.Add((x.Time, e, x.Item));
        }
        var users = byUser.Keys.Where(u => byUser[u].Count >= minUserItems).Order().ToArray();
        var itemIds = users.SelectMany(u => byUser[u]).Select(x => x.Item).Distinct().Order().ToArray();
        var index = new Dictionary<long, int>(itemIds.Length);
        for (int i = 0; i < itemIds.Length; i++)
        {
            index[itemIds[i]] = i;
        }
        var sequences = new int[users.Length][];
        for (int u = 0; u < users.Length; u++)
        {
            var events = byUser[users[u]];
            events.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.Order.CompareTo(b.Order));
            sequences[u] = [.. events.Select(x => index[x.Item])];
        }
        return new SequenceDataset(itemIds, users, sequences, source);
    }

    /// <summary>Reads a file (see <see cref="InteractionReader"/>) and builds the dataset.</summary>
    public static SequenceDataset Load(string path, InteractionFormat format = InteractionFormat.Auto) =>
        Build(InteractionReader.Read(path, format), Path.GetFullPath(path));

    /// <summary>Wraps sequences that already use internal ids 0..itemCount-1 (external id = internal id + 1).</summary>
    public static SequenceDataset FromSequences(int[][] sequences, int itemCount, string source)
    {
        ArgumentNullException.ThrowIfNull(sequences);
        foreach (var s in sequences)
        {
            foreach (int i in s)
            {
                if ((uint)i >= (uint)itemCount)
                {
                    throw new ArgumentException($"Item {i} is outside 0..{itemCount - 1}.", nameof(sequences));
                }
            }
        }
        return new SequenceDataset([.. Enumerable.Range(1, itemCount).Select(i => (long)i)], [.. Enumerable.Range(1, sequences.Length).Select(u => (long)u)], sequences, source);
    }

    /// <summary>Training interactions per item (popularity over the training parts only).</summary>
    public long[] TrainPopularity()
    {
        var counts = new long[ItemCount];
        for (int u = 0; u < UserCount; u++)
        {
            foreach (int i in Train(u))
            {
                counts[i]++;
            }
        }
        return counts;
    }
}
