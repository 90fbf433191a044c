namespace SparCode.Format;

/// <summary>What is wrong with a corrupt index file.</summary>
public enum CorruptionKind
{
    /// <summary>The file is shorter than its header says, or too short to hold a header and footer.</summary>
    Truncated,

    /// <summary>The file does not start with the SparCode magic, or its footer magic is wrong.</summary>
    BadMagic,

    /// <summary>A length field is beyond what the format allows (section count, trailing bytes, sizes).</summary>
    SizeLimitExceeded,

    /// <summary>The checksum over the file's bytes does not match the footer.</summary>
    ChecksumMismatch,

    /// <summary>A section lies outside the file, overlaps another, or its size does not match its shape.</summary>
    SectionOutOfRange,

    /// <summary>A required section is missing or appears twice.</summary>
    MissingSection,

    /// <summary>A section's shape disagrees with the model dimensions, or the dimensions are invalid.</summary>
    ShapeMismatch,

    /// <summary>Posting-list offsets are not monotone or do not span the posting arrays.</summary>
    OffsetOutOfRange,

    /// <summary>An item id is outside <c>[0, n_items)</c> or repeats where ids must be distinct.</summary>
    ItemIdOutOfRange,

    /// <summary>A posting list's item ids are not strictly ascending.</summary>
    PostingsNotAscending,

    /// <summary>A weight or score is NaN or infinite.</summary>
    NonFiniteValue,

    /// <summary>A posting score is negative, or a stored list maximum disagrees with its list.</summary>
    BadScore,

    /// <summary>The metadata block is not a UTF-8 JSON object.</summary>
    BadMetadata,
}

/// <summary>The index file is damaged or was not written by a SparCode writer.</summary>
public sealed class CorruptIndexException : IOException
{
    /// <summary>Creates the exception.</summary>
    public CorruptIndexException(CorruptionKind kind, string path, string detail)
        : base($"Corrupt SparCode index '{path}' ({kind}): {detail}")
    {
        Kind = kind;
        Path = path;
    }

    /// <summary>What is wrong.</summary>
    public CorruptionKind Kind { get; }

    /// <summary>The file.</summary>
    public string Path { get; }
}

/// <summary>The index file's format version is one this library cannot read.</summary>
public sealed class IndexVersionException : IOException
{
    /// <summary>Creates the exception.</summary>
    public IndexVersionException(string path, int fileVersion)
        : base(fileVersion > IndexLayout.CurrentVersion
            ? $"SparCode index '{path}' has format version {fileVersion}, newer than this library reads ({IndexLayout.OldestReadableVersion}..{IndexLayout.CurrentVersion}). Upgrade SparCode.Engine."
            : $"SparCode index '{path}' has format version {fileVersion}, older than this library reads ({IndexLayout.OldestReadableVersion}..{IndexLayout.CurrentVersion}). Re-export the model.")
    {
        Path = path;
        FileVersion = fileVersion;
    }

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>The version the file declares.</summary>
    public int FileVersion { get; }

    /// <summary>True if the file is newer than this library, false if older.</summary>
    public bool IsTooNew => FileVersion > IndexLayout.CurrentVersion;
}
