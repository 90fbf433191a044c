namespace SparCode.Bench;

/// <summary>One system's numbers in one run.</summary>
/// <param name="Name">System name, e.g. "HNSW ef=64".</param>
/// <param name="Model">Which model it serves: "SparCode" or "two-tower".</param>
/// <param name="Threads">Query threads.</param>
/// <param name="Ef">HNSW expansion_search, if HNSW.</param>
/// <param name="RecallAtK">|results ∩ exhaustive top-k| / |exhaustive top-k|, summed over queries, against the same model's exhaustive answer.</param>
/// <param name="HitRateAtK">Fraction of queries whose exhaustive top-1 item is among the k results.</param>
/// <param name="P50Micros">Median per-query latency (µs). For a blocked scan: the block's time, which every query in it waits for.</param>
/// <param name="P99Micros">99th percentile per-query latency (µs).</param>
/// <param name="MeanMicros">Mean per-query latency (µs).</param>
/// <param name="Qps">Queries per second: queries / summed wall time of the timed chunks.</param>
/// <param name="MeanPostings">SparCode: mean postings read per query.</param>
/// <param name="IndexBytes">Size of the index as stored (SparCode file, HNSW serialized, raw matrix for exact).</param>
/// <param name="MemoryBytes">Memory the index needs to serve (mapped file, USearch's own count, matrix).</param>
/// <param name="BuildSeconds">Time to build the index (see <paramref name="BuildNote"/>).</param>
/// <param name="BuildNote">What the build time covers.</param>
/// <param name="HeldOutHitRate">Fraction of queries whose held-out item is among the k results, when held-out items were given.</param>
public sealed record SystemResult(
    string Name, string Model, int Threads, int? Ef,
    double RecallAtK, double HitRateAtK,
    double P50Micros, double P99Micros, double MeanMicros, double Qps,
    double? MeanPostings, long IndexBytes, long MemoryBytes, double BuildSeconds, string BuildNote, double? HeldOutHitRate = null);

/// <summary>A whole run: the setting and every system's numbers.</summary>
/// <param name="Machine">CPU, cores, SIMD, runtime.</param>
/// <param name="Command">The command line that produced it.</param>
/// <param name="StartedUtc">Start time.</param>
/// <param name="LoadBefore">/proc/loadavg at the start (other jobs share the cores).</param>
/// <param name="LoadAfter">/proc/loadavg at the end.</param>
/// <param name="Items">Catalogue size.</param>
/// <param name="Queries">Queries per system.</param>
/// <param name="K">Results per query.</param>
/// <param name="SparCodeSource">"synthetic …" or the index path.</param>
/// <param name="TwoTowerSource">"synthetic …" or the embeddings path.</param>
/// <param name="PeakWorkingSetBytes">The process's peak working set at the end of the run.</param>
/// <param name="Systems">Per-system numbers.</param>
/// <param name="TwoTowerExcludesHistory">Whether the two-tower systems (and their exhaustive answer) skipped each
/// query's history items, as SparCode does; true when trained histories were given for the two-tower users.</param>
/// <param name="SparCodeTowerP50Micros">Median time of SparCode's query tower alone (history → K_u codes), timed once per
/// query after the rounds; part of every SparCode latency, while the two-tower systems are given their user vectors.</param>
public sealed record BenchResult(
    string Machine, string Command, DateTime StartedUtc, string LoadBefore, string LoadAfter,
    int Items, int Queries, int K, string SparCodeSource, string TwoTowerSource, long PeakWorkingSetBytes,
    IReadOnlyList<SystemResult> Systems, bool TwoTowerExcludesHistory = false, double? SparCodeTowerP50Micros = null);
