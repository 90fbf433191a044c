using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using SparCode.Baselines;
using SparCode.Engine;
using SparCode.Format;
using SparCode.Kernels.Cpu;
using SparCode.Synthetic;

namespace SparCode.Bench;

/// <summary>
/// Runs the one-process comparison: prepares both models (given files or synthetic), computes each
/// model's exhaustive top-k, then runs every system on the same queries, interleaved round by round
/// (each round's system order rotated) so that background load hits every system alike.
/// </summary>
public static class BenchRunner
{
    /// <summary>Runs one comparison.</summary>
    /// <param name="options">What to compare.</param>
    /// <param name="command">The command line, recorded in the result.</param>
    /// <param name="log">Receives progress lines.</param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    public static BenchResult Run(BenchOptions options, string command, Action<string> log)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Problem() is { } problem)
        {
            throw new ArgumentException(problem, nameof(options));
        }
        var started = DateTime.UtcNow;
        string loadBefore = Load();
        var clock = Stopwatch.StartNew();

        // SparCode: a given index, or a synthetic one written to the work folder and opened like a trained one.
        string indexPath;
        double sparBuild;
        string sparNote, sparSource;
        if (options.IndexPath is not null)
        {
            indexPath = options.IndexPath;
            sparBuild = 0;
            sparNote = "given (trained/exported elsewhere)";
            sparSource = indexPath;
        }
        else
        {
            var synthetic = new SyntheticOptions
            {
                ItemCount = options.Items,
                MeanPostingsPerList = options.PostingsPerList,
                UserTokens = options.Tokens,
                EmbeddingDim = options.SparCodeDim,
                Seed = options.Seed,
            };
            Directory.CreateDirectory(options.WorkFolder);
            indexPath = Path.Combine(options.WorkFolder, $"synthetic-{options.Items}.sci");
            log($"SparCode: generating a synthetic index ({options.Items:N0} items, {options.PostingsPerList:N0} mean postings per list, K_u = {options.Tokens}) …");
            clock.Restart();
            var contents = SyntheticIndex.Create(synthetic);
            IndexWriter.Write(indexPath, contents);
            sparBuild = clock.Elapsed.TotalSeconds;
            sparNote = "synthetic generate + write";
            sparSource = $"synthetic: {options.Items} items, d = {options.SparCodeDim}, K_u = {options.Tokens}, {contents.Dimensions.CodeCount} codes, mean list {options.PostingsPerList}, seed {options.Seed}";
        }
        using var index = SparCodeIndex.Open(indexPath);
        int items = index.Dimensions.ItemCount;
        var histories = options.HistoriesPath is not null
            ? ReadHistories(options.HistoriesPath, options.Queries)
            : SyntheticIndex.Histories(items, options.Queries, index.Dimensions.HistoryLength, options.Seed + 1);
        var searchOptions = new SearchOptions { UnknownItems = UnknownItemPolicy.Skip };

        // Two-tower: a given embeddings file, or a synthetic clustered model of the same catalogue size.
        TwoTowerModel twoTower;
        string towerSource;
        if (options.TwoTowerPath is not null)
        {
            twoTower = TwoTowerModel.Read(options.TwoTowerPath);
            towerSource = options.TwoTowerPath;
        }
        else
        {
            log($"Two-tower: generating a synthetic clustered model ({items:N0} items, d = {options.TwoTowerDim}) …");
            twoTower = SyntheticTwoTower.Create(new SyntheticTwoTowerOptions { ItemCount = items, UserCount = histories.Length, Dimension = options.TwoTowerDim, NormSpread = options.NormSpread, Seed = options.Seed + 2 });
            towerSource = $"synthetic clustered: {items} items, d = {options.TwoTowerDim}, √n clusters, item norm σ = {options.NormSpread}, seed {options.Seed + 2}";
        }
        int queries = Math.Min(histories.Length, twoTower.Users.Count);
        if (queries < options.Rounds)
        {
            throw new ArgumentException($"Only {queries} queries are available (histories: {histories.Length}, two-tower users: {twoTower.Users.Count}); need at least --rounds = {options.Rounds}.");
        }
        histories = histories[..queries];
        long[]? heldOut = null;
        if (options.HeldOutPath is not null)
        {
            heldOut = [.. ReadHistories(options.HeldOutPath, queries).Select(h => h.Length == 1 ? h[0] : throw new FormatException($"{options.HeldOutPath}: expected one held-out id per line."))];
            if (heldOut.Length < queries)
            {
                throw new ArgumentException($"{options.HeldOutPath} has {heldOut.Length} held-out ids; {queries} queries need one each.");
            }
        }
        int k = Math.Min(options.K, Math.Min(items, twoTower.Items.Count));
        // Given histories that belong to the given two-tower users: both models exclude the history, as the evaluation does.
        bool excludeHistory = options.TwoTowerPath is not null && options.HistoriesPath is not null;
        var excluded = excludeHistory ? Exclusions.FromHistories(histories, twoTower.Items.Ids) : Exclusions.None;

        log($"Exhaustive answers: SparCode (dense accumulation over every list of the query's codes) and two-tower (exact scan) for {queries:N0} queries …");
        var sparTruth = SparCodeTruth(index, histories, k, options.Threads);
        var towerTruth = TwoTowerTruth(twoTower, queries, k, options.Block, options.Threads, excluded);

        var systems = new List<BenchSystem>
        {
            new SparCodeSingle(index, histories, searchOptions, k) { IndexBytes = index.Description.FileLength, MemoryBytes = index.Description.FileLength, BuildSeconds = sparBuild, BuildNote = sparNote },
        };
        if (options.Threads > 1)
        {
            systems.Add(new SparCodeParallel(index, histories, searchOptions, k, options.Threads) { IndexBytes = index.Description.FileLength, MemoryBytes = index.Description.FileLength, BuildSeconds = sparBuild, BuildNote = sparNote });
        }
        long matrixBytes = twoTower.Items.Vectors.LongLength * sizeof(float);
        systems.Add(new ExactSingle(twoTower.Items, twoTower.Users, k, excluded) { IndexBytes = matrixBytes, MemoryBytes = matrixBytes, BuildNote = "none (raw matrix)" });
        if (options.Block > 1)
        {
            systems.Add(new ExactBlocked(twoTower.Items, twoTower.Users, k, options.Block, excluded) { IndexBytes = matrixBytes, MemoryBytes = matrixBytes, BuildNote = "none (raw matrix)" });
        }
        HnswIndex? hnsw = null;
        try
        {
            if (options.Ef.Count > 0)
            {
                log($"HNSW: building a USearch graph (M = {options.Connectivity}, ef_construction = {options.ExpansionAdd}, {options.Threads} threads) over {twoTower.Items.Count:N0} vectors …");
                hnsw = HnswIndex.Build(twoTower.Items, new HnswOptions { Connectivity = options.Connectivity, ExpansionAdd = options.ExpansionAdd, BuildThreads = options.Threads });
                log($"HNSW: built in {hnsw.BuildTime.TotalSeconds:F1} s.");
                long serialized = hnsw.SerializedBytes, memory = hnsw.MemoryBytes;
                foreach (int ef in options.Ef)
                {
                    systems.Add(new HnswSystem(hnsw, twoTower.Users, k, ef, excluded)
                    {
                        IndexBytes = serialized,
                        MemoryBytes = memory,
                        BuildSeconds = hnsw.BuildTime.TotalSeconds,
                        BuildNote = $"USearch build (M = {options.Connectivity}, ef_construction = {options.ExpansionAdd}), {options.Threads} threads",
                    });
                }
            }

            log($"Timing {systems.Count} systems × {queries:N0} queries in {options.Rounds} interleaved rounds (load before: {loadBefore}) …");
            foreach (var system in systems)
            {
                system.Prepare();
                system.Run(0, Math.Min(options.Warmup, queries));
            }
            for (int round = 0; round < options.Rounds; round++)
            {
                int from = (int)((long)queries * round / options.Rounds);
                int to = (int)((long)queries * (round + 1) / options.Rounds);
                for (int i = 0; i < systems.Count; i++)
                {
                    var system = systems[(i + round) % systems.Count];
                    system.Prepare();
                    long start = Stopwatch.GetTimestamp();
                    system.Run(from, to);
                    system.WallTicks += Stopwatch.GetTimestamp() - start;
                }
            }
        }
        finally
        {
            hnsw?.Dispose();
        }
        // SparCode's latency includes its query tower; the two-tower systems get their user vectors precomputed.
        var towerMicros = ((SparCodeSingle)systems[0]).TimeEncode().Select(t => t * 1e6 / Stopwatch.Frequency).Order().ToArray();

        var results = systems.Select(s =>
        {
            var truth = s.Model == "SparCode" ? sparTruth : towerTruth;
            var (recall, hitRate) = Quality(s.Ids, truth, queries, k);
            var micros = s.Latency.Select(t => t * 1e6 / Stopwatch.Frequency).Order().ToArray();
            return new SystemResult(s.Name, s.Model, s.Threads, s.Ef, recall, hitRate,
                Percentile(micros, 0.50), Percentile(micros, 0.99), micros.Average(), queries / (s.WallTicks / (double)Stopwatch.Frequency),
                s.MeanPostings, s.IndexBytes, s.MemoryBytes, s.BuildSeconds, s.BuildNote, heldOut is null ? null : HeldOutHits(s.Ids, heldOut, queries, k));
        }).ToList();
        return new BenchResult(Machine(), command, started, loadBefore, Load(), items, queries, k, sparSource, towerSource,
            Process.GetCurrentProcess().PeakWorkingSet64, results, excludeHistory, Percentile(towerMicros, 0.50));
    }

    /// <summary>Truth ids per query (−1 padded) for SparCode: every posting of the query's codes summed into a dense accumulator.</summary>
    /// <remarks>
    /// Lists are added in code order, as the engine does for each item, so the float sums are identical and
    /// recall 1.0 is expected: this checks the engine's windowed, heap-based search at full scale.
    /// </remarks>
    internal static long[] SparCodeTruth(SparCodeIndex index, long[][] histories, int k, int threads)
    {
        int n = index.Dimensions.ItemCount;
        var truth = new long[(long)histories.Length * k];
        int longest = Enumerable.Range(0, index.Dimensions.CodeCount).Max(index.PostingListLength);
        Parallel.For(0, histories.Length, new ParallelOptions { MaxDegreeOfParallelism = threads },
            () => (Accumulator: new float[n], Codes: new int[index.Dimensions.UserTokens], Searcher: index.CreateSearcher(), Selector: new TopKSelector(k), Rows: new int[k], Scores: new float[k],
                ListItems: new int[longest], ListScores: new float[longest]),
            (q, _, s) =>
            {
                s.Searcher.Encode(histories[q], s.Codes, UnknownItemPolicy.Skip);
                foreach (int code in s.Codes)
                {
                    int length = index.CopyPostingList(code, s.ListItems, s.ListScores);
                    for (int i = 0; i < length; i++)
                    {
                        s.Accumulator[s.ListItems[i]] += s.ListScores[i];
                    }
                }
                foreach (long id in histories[q])
                {
                    if (index.TryGetInternalId(id, out int item))
                    {
                        s.Accumulator[item] = 0f;
                    }
                }
                s.Selector.Reset(k);
                for (int item = 0; item < n; item++)
                {
                    if (s.Accumulator[item] > 0f)
                    {
                        s.Selector.Offer(s.Accumulator[item], item);
                    }
                }
                Array.Clear(s.Accumulator);
                int count = s.Selector.DrainSorted(s.Rows, s.Scores);
                var row = truth.AsSpan(q * k, k);
                row.Fill(-1);
                for (int i = 0; i < count; i++)
                {
                    row[i] = index.ExternalId(s.Rows[i]);
                }
                return s;
            },
            _ => { });
        return truth;
    }

    private static long[] TwoTowerTruth(TwoTowerModel model, int queries, int k, int block, int threads, Exclusions excluded)
    {
        var truth = new long[(long)queries * k];
        int d = model.Users.Dimension;
        int blocks = (queries + block - 1) / block;
        Parallel.For(0, blocks, new ParallelOptions { MaxDegreeOfParallelism = threads },
            () => (Searcher: new ExactMipsSearcher(model.Items, block), Scores: new float[block * k]),
            (b, _, s) =>
            {
                int from = b * block, count = Math.Min(block, queries - from);
                var vectors = model.Users.Vectors.AsSpan(from * d, count * d);
                if (!excluded.Any)
                {
                    s.Searcher.SearchBlock(vectors, count, k, truth.AsSpan(from * k, count * k), s.Scores);
                    return s;
                }
                // One query at a time: the truth does not need the blocked scan's speed, only its results.
                for (int q = from; q < from + count; q++)
                {
                    s.Searcher.Search(model.Users.Row(q), k, truth.AsSpan(q * k, k), s.Scores.AsSpan(0, k), excluded.For(q));
                }
                return s;
            },
            _ => { });
        return truth;
    }

    /// <summary>Recall@k (hits over truth size, summed over queries) and the rate at which the truth's top-1 is found.</summary>
    internal static (double Recall, double HitRate) Quality(long[] ids, long[] truth, int queries, int k)
    {
        long hits = 0, total = 0, top1 = 0, withTruth = 0;
        var set = new HashSet<long>();
        for (int q = 0; q < queries; q++)
        {
            set.Clear();
            foreach (long id in ids.AsSpan(q * k, k))
            {
                if (id >= 0)
                {
                    set.Add(id);
                }
            }
            var row = truth.AsSpan(q * k, k);
            foreach (long id in row)
            {
                if (id >= 0)
                {
                    total++;
                    hits += set.Contains(id) ? 1 : 0;
                }
            }
            if (row[0] >= 0)
            {
                withTruth++;
                top1 += set.Contains(row[0]) ? 1 : 0;
            }
        }
        return (total == 0 ? 1 : hits / (double)total, withTruth == 0 ? 1 : top1 / (double)withTruth);
    }

    /// <summary>Fraction of queries whose held-out item is among their k results.</summary>
    internal static double HeldOutHits(long[] ids, long[] heldOut, int queries, int k)
    {
        int hits = 0;
        for (int q = 0; q < queries; q++)
        {
            hits += ids.AsSpan(q * k, k).Contains(heldOut[q]) ? 1 : 0;
        }
        return hits / (double)queries;
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    /// <summary>Reads histories: one per line, ids separated by commas, spaces or tabs; blank lines and lines starting with # are skipped.</summary>
    /// <exception cref="FormatException">A token is not an integer.</exception>
    internal static long[][] ReadHistories(string path, int max)
    {
        var result = new List<long[]>();
        foreach (string line in File.ReadLines(path))
        {
            if (result.Count == max)
            {
                break;
            }
            string trimmed = line.Trim();
            if (trimmed.Length == 0 || trimmed[0] == '#')
            {
                continue;
            }
            result.Add([.. trimmed.Split([',', ' ', '\t'], StringSplitOptions.RemoveEmptyEntries).Select(t => long.Parse(t, CultureInfo.InvariantCulture))]);
        }
        return [.. result];
    }

    private static string Load()
    {
        try
        {
            return File.ReadAllText("/proc/loadavg").Trim();
        }
        catch (IOException)
        {
            return "unknown";
        }
        catch (UnauthorizedAccessException)
        {
            return "unknown";
        }
    }

    private static string Machine()
    {
        string cpu = "unknown CPU";
        try
        {
            cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? cpu;
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        long memory = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        return $"{cpu}, {Environment.ProcessorCount} cores, {memory / (1L << 30)} GiB, SIMD {Simd.Best} (Vector512 {Vector512.IsHardwareAccelerated}), {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}";
    }
}
