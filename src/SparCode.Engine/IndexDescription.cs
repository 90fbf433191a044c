using SparCode.Format;

namespace SparCode.Engine;

/// <summary>
/// What an open index is, copied out of the file when it is opened: safe to keep and read after the
/// index is disposed (it holds no view of the mapping).
/// </summary>
/// <param name="Path">The file the index was opened from.</param>
/// <param name="FormatVersion">The file's format version.</param>
/// <param name="FileLength">The file's size in bytes (all of it is mapped).</param>
/// <param name="Dimensions">The model sizes.</param>
/// <param name="PostingCount">Postings over all lists.</param>
/// <param name="HasAttention">The query tower is the causal self-attention tower (else the masked-mean MLP tower).</param>
/// <param name="HasRefine">The file carries the refine sections (item tokens and the interaction MLP).</param>
/// <param name="HasFallbackOrder">The file stores a fill order (else fill uses ascending item ids).</param>
/// <param name="HasCodeRemap">Unused codes are remapped to used ones.</param>
/// <param name="MetadataJson">The writer's metadata (a JSON object).</param>
public sealed record IndexDescription(
    string Path,
    int FormatVersion,
    long FileLength,
    ModelDimensions Dimensions,
    long PostingCount,
    bool HasAttention,
    bool HasRefine,
    bool HasFallbackOrder,
    bool HasCodeRemap,
    string MetadataJson)
{
    internal static IndexDescription Of(IndexFile file) => new(file.Path, file.Version, file.Length, file.Dimensions, file.PostingCount,
        file.HasAttention, file.HasRefine, file.HasFallbackOrder, file.HasCodeRemap, file.MetadataJson);
}
