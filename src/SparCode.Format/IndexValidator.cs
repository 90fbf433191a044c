using System.Text;
using System.Text.Json;

namespace SparCode.Format;

/// <summary>
/// Structural checks shared by the writer (before a byte is written) and the reader (after the
/// checksum): each failure throws <see cref="CorruptIndexException"/> naming the value and what was expected.
/// </summary>
internal static class IndexValidator
{
    /// <summary>The element type a known section must hold; null for kinds this version does not know (they are skipped).</summary>
    public static ElementType? ElementTypeOf(SectionKind kind) => kind switch
    {
        SectionKind.Metadata => ElementType.Byte,
        SectionKind.Dimensions or SectionKind.PostingOffsets or SectionKind.ItemIds => ElementType.Int64,
        SectionKind.PostingItems or SectionKind.FallbackOrder or SectionKind.CodeRemap or SectionKind.InteractionFlags => ElementType.Int32,
        SectionKind.ItemEmbedding or SectionKind.TowerWeight or SectionKind.TowerBias or SectionKind.HeadWeight or SectionKind.HeadBias
            or SectionKind.Codebooks or SectionKind.PostingScores or SectionKind.ListMaxScores or SectionKind.ItemTokens
            or SectionKind.InteractionWeight or SectionKind.InteractionBias or SectionKind.PositionEmbedding or SectionKind.LayerNormGamma
            or SectionKind.LayerNormBeta or SectionKind.AttentionInWeight or SectionKind.AttentionInBias or SectionKind.AttentionOutWeight
            or SectionKind.AttentionOutBias or SectionKind.FeedForwardWeight or SectionKind.FeedForwardBias => ElementType.Float32,
        SectionKind.AttentionConfig => ElementType.Int64,
        _ => null,
    };

    public static void CheckDimensions(ModelDimensions dims, string path)
    {
        if (dims.Problem() is { } problem)
        {
            throw new CorruptIndexException(CorruptionKind.ShapeMismatch, path, problem);
        }
    }

    /// <summary>Null if an attention tower of <paramref name="blocks"/> blocks, <paramref name="heads"/> heads and feed-forward width <paramref name="width"/> fits <c>d</c>, else what is wrong.</summary>
    public static string? AttentionConfigProblem(long blocks, long heads, long width, int embeddingDim)
    {
        if (blocks < 1 || blocks > IndexLayout.MaxAttentionBlocks) return $"the attention tower has {blocks} blocks; expected 1..{IndexLayout.MaxAttentionBlocks}.";
        if (heads < 1 || heads > embeddingDim || embeddingDim % heads != 0) return $"the attention tower has {heads} heads; expected a divisor of d = {embeddingDim}.";
        if (width < 1 || width > IndexLayout.MaxFeedForwardWidth) return $"the attention tower's feed-forward width is {width}; expected 1..{IndexLayout.MaxFeedForwardWidth}.";
        return null;
    }

    public static void CheckFinite(ReadOnlySpan<float> values, string section, string path)
    {
        for (int i = 0; i < values.Length; i++)
        {
            if (!float.IsFinite(values[i]))
            {
                throw new CorruptIndexException(CorruptionKind.NonFiniteValue, path, $"{section}[{i}] is {values[i]}; expected a finite number.");
            }
        }
    }

    /// <summary>Offsets monotone from 0 to nnz, ids ascending and below n_items, scores finite and ≥ 0, list maxima exact.</summary>
    public static void CheckPostings(ReadOnlySpan<long> offsets, ReadOnlySpan<int> items, ReadOnlySpan<float> scores, ReadOnlySpan<float> listMax, int itemCount, string path)
    {
        int codes = offsets.Length - 1;
        if (offsets[0] != 0 || offsets[codes] != items.Length || items.Length != scores.Length)
        {
            throw new CorruptIndexException(CorruptionKind.OffsetOutOfRange, path,
                $"posting offsets run from {offsets[0]} to {offsets[codes]} over {items.Length} ids and {scores.Length} scores; expected 0 to {items.Length} with equal counts.");
        }
        for (int c = 0; c < codes; c++)
        {
            long start = offsets[c], end = offsets[c + 1];
            if (end < start || end > items.Length)
            {
                throw new CorruptIndexException(CorruptionKind.OffsetOutOfRange, path,
                    $"posting list {c} spans [{start}, {end}); expected a non-decreasing offset within [0, {items.Length}].");
            }
            float max = 0f;
            int previous = -1;
            for (int p = (int)start; p < (int)end; p++)
            {
                int item = items[p];
                if ((uint)item >= (uint)itemCount)
                {
                    throw new CorruptIndexException(CorruptionKind.ItemIdOutOfRange, path, $"posting list {c} holds item id {item}; expected 0..{itemCount - 1}.");
                }
                if (item <= previous)
                {
                    throw new CorruptIndexException(CorruptionKind.PostingsNotAscending, path, $"posting list {c} has item {item} after {previous}; expected strictly ascending ids.");
                }
                previous = item;
                float score = scores[p];
                if (!float.IsFinite(score))
                {
                    throw new CorruptIndexException(CorruptionKind.NonFiniteValue, path, $"posting list {c} score for item {item} is {score}; expected a finite number.");
                }
                if (score < 0f)
                {
                    throw new CorruptIndexException(CorruptionKind.BadScore, path, $"posting list {c} score for item {item} is {score}; expected a score ≥ 0.");
                }
                max = MathF.Max(max, score);
            }
            if (!listMax.IsEmpty && listMax[c].CompareTo(max) != 0)
            {
                throw new CorruptIndexException(CorruptionKind.BadScore, path, $"posting list {c} stores maximum {listMax[c]}; its scores' maximum is {max}.");
            }
        }
    }

    public static float[] ListMaxima(ReadOnlySpan<long> offsets, ReadOnlySpan<float> scores)
    {
        var max = new float[offsets.Length - 1];
        for (int c = 0; c < max.Length; c++)
        {
            foreach (float score in scores[(int)offsets[c]..(int)offsets[c + 1]])
            {
                max[c] = MathF.Max(max[c], score);
            }
        }
        return max;
    }

    public static void CheckFallback(ReadOnlySpan<int> order, int itemCount, string path)
    {
        var seen = new bool[itemCount];
        for (int i = 0; i < order.Length; i++)
        {
            int item = order[i];
            if ((uint)item >= (uint)itemCount || seen[item])
            {
                throw new CorruptIndexException(CorruptionKind.ItemIdOutOfRange, path,
                    $"fallback order entry {i} is item {item}; expected distinct ids in 0..{itemCount - 1}.");
            }
            seen[item] = true;
        }
    }

    /// <summary>Every code maps to a code in range that serves itself (one step, no chains).</summary>
    public static void CheckCodeRemap(ReadOnlySpan<int> remap, string path)
    {
        for (int c = 0; c < remap.Length; c++)
        {
            int target = remap[c];
            if ((uint)target >= (uint)remap.Length || remap[target] != target)
            {
                throw new CorruptIndexException(CorruptionKind.OffsetOutOfRange, path,
                    $"code remap sends code {c} to {target}; expected a code in 0..{remap.Length - 1} that maps to itself.");
            }
        }
    }

    public static void CheckMetadata(ReadOnlySpan<byte> utf8, string path)
    {
        try
        {
            var reader = new Utf8JsonReader(utf8);
            if (!JsonDocument.TryParseValue(ref reader, out var document) || document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new CorruptIndexException(CorruptionKind.BadMetadata, path, "metadata is not a JSON object.");
            }
            document.Dispose();
        }
        catch (JsonException e)
        {
            throw new CorruptIndexException(CorruptionKind.BadMetadata, path, $"metadata is not valid JSON: {e.Message}");
        }
    }

    public static string MetadataText(ReadOnlySpan<byte> utf8) => Encoding.UTF8.GetString(utf8);
}
