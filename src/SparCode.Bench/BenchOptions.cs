namespace SparCode.Bench;

/// <summary>What one benchmark run compares, and on what.</summary>
public sealed record BenchOptions
{
    /// <summary>Catalogue size of the synthetic models (ignored for a given index / two-tower file).</summary>
    public int Items { get; init; } = 100_000;

    /// <summary>Queries (histories for SparCode, user vectors for the two-tower systems).</summary>
    public int Queries { get; init; } = 1_000;

    /// <summary>Results per query.</summary>
    public int K { get; init; } = 50;

    /// <summary>Interleaving rounds: the queries are cut into this many chunks and every system runs chunk r before any runs chunk r + 1.</summary>
    public int Rounds { get; init; } = 5;

    /// <summary>Queries per system run untimed before the first round.</summary>
    public int Warmup { get; init; } = 20;

    /// <summary>A trained SparCode index; null synthesizes one.</summary>
    public string? IndexPath { get; init; }

    /// <summary>A two-tower embeddings file (see <c>TwoTowerModel</c>); null synthesizes one.</summary>
    public string? TwoTowerPath { get; init; }

    /// <summary>Histories file for SparCode (one history per line, ids separated by commas or spaces); null draws synthetic ones.</summary>
    public string? HistoriesPath { get; init; }

    /// <summary>
    /// Held-out items (one id per line, aligned with the histories and the two-tower users): when given,
    /// each system's HR@k against them (the usual leave-one-out hit rate) is reported too.
    /// </summary>
    public string? HeldOutPath { get; init; }

    /// <summary>Mean posting-list length of the synthetic SparCode index.</summary>
    public int PostingsPerList { get; init; } = 10_000;

    /// <summary>User tokens K_u of the synthetic SparCode index.</summary>
    public int Tokens { get; init; } = 4;

    /// <summary>Item embedding size of the synthetic SparCode index.</summary>
    public int SparCodeDim { get; init; } = 64;

    /// <summary>Embedding size of the synthetic two-tower model.</summary>
    public int TwoTowerDim { get; init; } = 64;

    /// <summary>σ of the log-normal item norm of the synthetic two-tower model (0: all items near unit length).</summary>
    public float NormSpread { get; init; } = 0.1f;

    /// <summary>HNSW expansion_search values; empty skips HNSW.</summary>
    public IReadOnlyList<int> Ef { get; init; } = [16, 32, 64, 128, 256];

    /// <summary>HNSW graph degree M.</summary>
    public int Connectivity { get; init; } = 16;

    /// <summary>HNSW ef_construction.</summary>
    public int ExpansionAdd { get; init; } = 128;

    /// <summary>Queries per pass of the blocked exact scan.</summary>
    public int Block { get; init; } = 8;

    /// <summary>Threads of the "all threads" runs.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Folder for the synthetic index file.</summary>
    public string WorkFolder { get; init; } = Path.Combine("out", "bench-work");

    /// <summary>Seed for every synthetic input.</summary>
    public int Seed { get; init; } = 42;

    /// <summary>Null if usable, else what is wrong.</summary>
    public string? Problem()
    {
        if (Items < 2) return $"--items is {Items}; expected ≥ 2.";
        if (Queries < 1) return $"--queries is {Queries}; expected ≥ 1.";
        if (K < 1 || (IndexPath is null && TwoTowerPath is null && K > Items)) return $"-k is {K}; expected 1..items.";
        if (Rounds < 1 || Rounds > Queries) return $"--rounds is {Rounds}; expected 1..queries.";
        if (Warmup < 0) return $"--warmup is {Warmup}; expected ≥ 0.";
        if (Ef.Any(e => e < 1)) return "Every --ef value must be ≥ 1.";
        if (NormSpread < 0 || !float.IsFinite(NormSpread)) return $"--norm-spread is {NormSpread}; expected ≥ 0.";
        if (Connectivity < 2 || ExpansionAdd < 1) return $"HNSW M = {Connectivity} and ef_construction = {ExpansionAdd}; expected M ≥ 2 and ef_construction ≥ 1.";
        if (Block < 1 || Block > 64) return $"--block is {Block}; expected 1..64.";
        if (Threads < 1) return $"--threads is {Threads}; expected ≥ 1.";
        if (PostingsPerList < 1 || Tokens < 1 || SparCodeDim < 1 || TwoTowerDim < 1) return "Sizes must be ≥ 1.";
        return null;
    }
}
