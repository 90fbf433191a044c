using System.Buffers.Binary;
using System.IO.Hashing;
using SparCode.Engine;
using SparCode.Format;

namespace SparCode.Fuzz;

/// <summary>
/// One fuzz execution. The contract under test: opening any bytes either succeeds or throws
/// <see cref="CorruptIndexException"/> or <see cref="IndexVersionException"/>; an index that opens serves
/// valid queries (any history of its own ids, k in 1..50, fill on and off) without throwing, and its
/// answers keep the documented invariants. Anything else escapes as an exception, which SharpFuzz reports
/// to AFL++ as a crash; a process that dies (an access violation) or runs past AFL++'s timeout is one too.
/// </summary>
internal sealed class FuzzTarget(string directory)
{
    private const int Queries = 4;
    private const int MaxK = 50;

    /// <summary>Longest history a query passes (the tower reads at most L of them; a fuzzed L may be 65,536).</summary>
    private const int MaxHistory = 40;

    private readonly string _path = Path.Combine(directory, $"sparcode-fuzz-{Environment.ProcessId}.index");

    /// <summary>
    /// Opens <paramref name="input"/> as it is (fully validated, so the framing and checksum checks are fuzzed),
    /// then, if that differs, a copy with the header's and footer's lengths and the checksum rewritten to fit:
    /// almost every mutation breaks the checksum and many change the size, and the copy carries them past the
    /// framing into the structure checks and the searches.
    /// </summary>
    /// <returns>What happened, for <c>--replay</c>: "as is: served" or the refusal, and the same for the repaired copy if one was made.</returns>
    public string Run(byte[] input)
    {
        string outcome = $"as is: {Open(input)}";
        return WithFraming(input) is { } repaired ? $"{outcome}; with framing repaired: {Open(repaired)}" : outcome;
    }

    /// <summary>A copy with consistent length fields and checksum, or null if the input is too short or already consistent.</summary>
    private static byte[]? WithFraming(byte[] input)
    {
        if (input.Length < IndexLayout.HeaderSize + IndexLayout.FooterSize)
        {
            return null;
        }
        var bytes = (byte[])input.Clone();
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(16), bytes.Length);
        BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(bytes.Length - 16), bytes.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(bytes.Length - 8), XxHash3.HashToUInt64(bytes.AsSpan(0, bytes.Length - 8)));
        return bytes.AsSpan().SequenceEqual(input) ? null : bytes;
    }

    private string Open(byte[] bytes)
    {
        File.WriteAllBytes(_path, bytes);
        try
        {
            using var index = SparCodeIndex.Open(_path);
            ReadViews(index);
            Search(index, bytes);
            return "served";
        }
        catch (CorruptIndexException e)
        {
            return $"refused ({e.Kind})";
        }
        catch (IndexVersionException e)
        {
            return $"refused (version {e.FileVersion})";
        }
        finally
        {
            File.Delete(_path);
        }
    }

    /// <summary>Reads every view the reader hands out that the searches do not use (refine sections, remap, posting lists).</summary>
    private static void ReadViews(SparCodeIndex index)
    {
        var file = index.File;
        float sum = 0;
        static float Edges(ReadOnlySpan<float> values) => values.IsEmpty ? 0 : values[0] + values[^1];
        _ = SparCodeIndex.EstimateOpenMemory(file) + file.Sections.Count + file.MetadataJson.Length + (long)file.StoredChecksum;
        if (file.HasRefine)
        {
            sum += Edges(file.ItemTokens.Span) + (file.InteractionDotPath ? 1 : 0) + file.ItemTokenDim;
            for (int l = 0; l < file.InteractionLayers; l++)
            {
                sum += Edges(file.InteractionWeight(l).Span) + Edges(file.InteractionBias(l).Span) + file.InteractionOutputs(l);
            }
        }
        var remap = file.CodeRemap.Span;
        int codes = index.Dimensions.CodeCount;
        foreach (int code in (ReadOnlySpan<int>)[0, codes / 2, codes - 1])
        {
            int served = remap.IsEmpty ? code : remap[code];
            int length = index.PostingListLength(served);
            var (items, scores) = (new int[length], new float[length]);
            if (index.CopyPostingList(served, items, scores) != length)
            {
                throw new FuzzContractException($"posting list {served} changed length between two reads.");
            }
            sum += Edges(scores);
        }
        if (float.IsNaN(sum))
        {
            // Every value read is finite or a sum of finite values; NaN means a view read outside its section.
            throw new FuzzContractException("a validated view holds NaN.");
        }
    }

    /// <summary>A few queries drawn from the file's own ids, seeded by the input so that every run of it is the same.</summary>
    private static void Search(SparCodeIndex index, byte[] bytes)
    {
        var random = new Random(unchecked((int)XxHash32.HashToUInt32(bytes)));
        var dims = index.Dimensions;
        var known = index.File.ExternalItemIds.ToArray();
        long unknown = UnknownId(index.File.ItemIds);
        int maxK = Math.Min(MaxK, dims.ItemCount);
        var searcher = index.CreateSearcher();
        var ids = new long[maxK];
        var scores = new float[maxK];
        var codes = new int[dims.UserTokens];
        for (int q = 0; q < Queries; q++)
        {
            bool skipUnknown = q == 3;
            var history = new long[random.Next(1, Math.Min(dims.HistoryLength + 2, MaxHistory) + 1)];
            for (int i = 0; i < history.Length; i++)
            {
                history[i] = known[random.Next(known.Length)];
            }
            if (skipUnknown)
            {
                history[random.Next(history.Length)] = unknown;
                history[^1] = known[random.Next(known.Length)];
            }
            long[] exclude = q % 2 == 1 ? [known[random.Next(known.Length)], unknown] : [];
            int k = random.Next(1, maxK + 1);
            var options = new SearchOptions
            {
                FillToK = q % 2 == 0,
                ExcludeHistory = q != 2,
                UnknownItems = skipUnknown ? UnknownItemPolicy.Skip : UnknownItemPolicy.Error,
            };
            int n = searcher.Search(history, exclude, k, ids, scores, options);
            CheckResults(index, history, exclude, k, options, ids.AsSpan(0, n), scores.AsSpan(0, n));
            var searched = searcher.LastCodes.ToArray();
            searcher.Encode(history, codes, options.UnknownItems);
            if (!searched.AsSpan().SequenceEqual(codes))
            {
                throw new FuzzContractException($"Search computed codes [{string.Join(", ", searched)}], Encode [{string.Join(", ", codes)}] for the same history.");
            }
            foreach (int code in codes)
            {
                if ((uint)code >= (uint)dims.CodeCount)
                {
                    throw new FuzzContractException($"code {code} is outside 0..{dims.CodeCount - 1}.");
                }
            }
            if (q == 0)
            {
                CheckBatch(index, history, k, options, ids.AsSpan(0, n), scores.AsSpan(0, n));
            }
        }
    }

    /// <summary>An id the index does not know.</summary>
    private static long UnknownId(ItemIdMap map)
    {
        long id = long.MaxValue;
        while (map.TryGetInternal(id, out _))
        {
            id--;
        }
        return id;
    }

    /// <summary>At most k distinct known ids, none excluded, scores non-increasing and never NaN, exactly the count fill promises.</summary>
    private static void CheckResults(SparCodeIndex index, long[] history, long[] exclude, int k, SearchOptions options, ReadOnlySpan<long> ids, ReadOnlySpan<float> scores)
    {
        var map = index.File.ItemIds;
        var excluded = new HashSet<long>(exclude.Where(id => map.TryGetInternal(id, out _)));
        if (options.ExcludeHistory)
        {
            excluded.UnionWith(history.Where(id => map.TryGetInternal(id, out _)));
        }
        int available = index.Dimensions.ItemCount - excluded.Count;
        if (ids.Length > k || (options.FillToK && ids.Length != Math.Min(k, available)))
        {
            throw new FuzzContractException($"k = {k}, fill {options.FillToK}, {available} items not excluded: the search returned {ids.Length}.");
        }
        var seen = new HashSet<long>();
        for (int i = 0; i < ids.Length; i++)
        {
            if (!map.TryGetInternal(ids[i], out _) || !seen.Add(ids[i]) || excluded.Contains(ids[i]))
            {
                throw new FuzzContractException($"result {i} is id {ids[i]}: unknown, repeated or excluded.");
            }
            if (float.IsNaN(scores[i]) || scores[i] < 0 || (i > 0 && scores[i] > scores[i - 1]))
            {
                throw new FuzzContractException($"result {i} scores {scores[i]} after {(i > 0 ? scores[i - 1] : float.NaN)}; expected non-negative, non-increasing scores.");
            }
        }
    }

    /// <summary>The same query as row 0 of a one-thread batch gives the same answer to the bit.</summary>
    private static void CheckBatch(SparCodeIndex index, long[] history, int k, SearchOptions options, ReadOnlySpan<long> ids, ReadOnlySpan<float> scores)
    {
        var batchIds = new long[2 * k];
        var batchScores = new float[2 * k];
        var counts = new int[2];
        index.SearchBatch(history.Concat(history).ToArray(), new[] { 0, history.Length, 2 * history.Length }, k, batchIds, batchScores, counts, options, maxDegreeOfParallelism: 1);
        for (int row = 0; row < 2; row++)
        {
            if (!batchIds.AsSpan(row * k, counts[row]).SequenceEqual(ids) || !batchScores.AsSpan(row * k, counts[row]).SequenceEqual(scores))
            {
                throw new FuzzContractException($"batch row {row} differs from the single search of the same history.");
            }
        }
    }
}

/// <summary>An index that opened broke a documented invariant of its answers.</summary>
internal sealed class FuzzContractException(string message) : Exception(message);
