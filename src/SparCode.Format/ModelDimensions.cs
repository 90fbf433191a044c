namespace SparCode.Format;

/// <summary>The sizes of a SparCode model, stored in the index's <see cref="SectionKind.Dimensions"/> section.</summary>
/// <param name="ItemCount">Catalogue size <c>n_items</c>.</param>
/// <param name="EmbeddingDim">Item embedding size <c>d</c>.</param>
/// <param name="HistoryLength">How many of the most recent history items the query tower reads (<c>L</c>).</param>
/// <param name="UserTokens">User tokens per query (<c>K_u</c>).</param>
/// <param name="Subspaces">Sub-codebooks of the product quantizer (<c>M</c>).</param>
/// <param name="CodebookSize">Codewords per sub-codebook (<c>K_c</c>).</param>
/// <param name="TokenDim">User token size (<c>D</c>), a multiple of <paramref name="Subspaces"/>.</param>
/// <param name="TowerLayers">Number of dense layers in the query-tower MLP (ReLU after all but the last).</param>
public sealed record ModelDimensions(
    int ItemCount,
    int EmbeddingDim,
    int HistoryLength,
    int UserTokens,
    int Subspaces,
    int CodebookSize,
    int TokenDim,
    int TowerLayers)
{
    /// <summary>Number of int64 values the dimensions section holds.</summary>
    internal const int StoredFieldCount = 8;

    /// <summary>Number of codes, <c>K_c^M</c>.</summary>
    public int CodeCount
    {
        get
        {
            long codes = 1;
            for (int m = 0; m < Subspaces; m++)
            {
                codes *= CodebookSize;
            }
            return (int)codes;
        }
    }

    /// <summary>Size of one sub-vector, <c>D / M</c>.</summary>
    public int SubvectorDim => TokenDim / Subspaces;

    /// <summary>Checks that every size is positive and the sizes fit together.</summary>
    /// <returns>Null if valid, else a message naming the bad value and what was expected.</returns>
    public string? Problem()
    {
        if (ItemCount < 1 || ItemCount >= int.MaxValue) return $"ItemCount is {ItemCount}; expected 1..{int.MaxValue - 1}.";
        if (EmbeddingDim < 1 || EmbeddingDim > 1 << 16) return $"EmbeddingDim is {EmbeddingDim}; expected 1..65536.";
        if (HistoryLength < 1 || HistoryLength > 1 << 16) return $"HistoryLength is {HistoryLength}; expected 1..65536.";
        if (UserTokens < 1 || UserTokens > 1024) return $"UserTokens is {UserTokens}; expected 1..1024.";
        if (Subspaces < 1 || Subspaces > 8) return $"Subspaces is {Subspaces}; expected 1..8.";
        if (CodebookSize < 1 || CodebookSize > 1 << 16) return $"CodebookSize is {CodebookSize}; expected 1..65536.";
        if (TokenDim < 1 || TokenDim > 1 << 16 || TokenDim % Subspaces != 0) return $"TokenDim is {TokenDim}; expected 1..65536 and a multiple of Subspaces ({Subspaces}).";
        if (TowerLayers < 0 || TowerLayers > 64) return $"TowerLayers is {TowerLayers}; expected 0..64.";
        if (Math.Pow(CodebookSize, Subspaces) > IndexLayout.MaxCodes) return $"CodebookSize^Subspaces is {CodebookSize}^{Subspaces}; expected at most {IndexLayout.MaxCodes} codes.";
        return null;
    }

    internal long[] ToStored() => [ItemCount, EmbeddingDim, HistoryLength, UserTokens, Subspaces, CodebookSize, TokenDim, TowerLayers];

    internal static ModelDimensions FromStored(ReadOnlySpan<long> v)
    {
        static int Narrow(long value) => value is < int.MinValue or > int.MaxValue ? -1 : (int)value;
        return new ModelDimensions(Narrow(v[0]), Narrow(v[1]), Narrow(v[2]), Narrow(v[3]), Narrow(v[4]), Narrow(v[5]), Narrow(v[6]), Narrow(v[7]));
    }
}
