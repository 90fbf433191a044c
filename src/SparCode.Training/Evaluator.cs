using System.Diagnostics;
using System.Text.Json;
using SparCode.Data;
using SparCode.Engine;
using SparCode.Format;
using SparCode.IndexBuild;
using static TorchSharp.torch;

namespace SparCode.Training;

/// <summary>One evaluation row: HR@K and NDCG@K for K = 10, 20, 50 on the test split.</summary>
/// <param name="Name">What was ranked.</param>
/// <param name="Users">Test users ranked.</param>
/// <param name="Hr">HR@10, HR@20, HR@50.</param>
/// <param name="Ndcg">NDCG@10, NDCG@20, NDCG@50.</param>
/// <param name="Seconds">Wall time.</param>
/// <param name="Note">Extra facts (fallback users, code agreement...).</param>
public sealed record EvaluationRow(string Name, int Users, double[] Hr, double[] Ndcg, double Seconds, string Note = "")
{
    internal static EvaluationRow From(string name, RankingMetrics m, double seconds, string note = "") =>
        new(name, m.Users, [.. m.Cutoffs.Select(m.HitRate)], [.. m.Cutoffs.Select(m.Ndcg)], seconds, note);
}

/// <summary>Full-ranking evaluation (history excluded) of trained models and exported indexes.</summary>
public static class Evaluator
{
    private const int MaxK = 50;

    /// <summary>
    /// HR@10, HR@50 and NDCG@10 of the model's own score on the validation items of <paramref name="users"/>
    /// (full ranking, training items excluded). SparCode scores the union of the users' codes once.
    /// </summary>
    internal static RankingMetrics Validation(TrainedModel model, SequenceDataset data, IReadOnlyList<int> users)
    {
        var metrics = new RankingMetrics([10, 50]);
        var rows = users.Select(u => (u, data.Sequences[u].Length - 2)).ToArray();
        using var noGrad = no_grad();
        if (model.Net is SparCodeNet net)
        {
            SparCodeValidation(net, model.Options, data, rows, metrics);
            return metrics;
        }
        foreach (var chunk in rows.Chunk(256))
        {
            using var pause = GcPause.Start();
            using var scope = NewDisposeScope();
            AddRanks(metrics, data, chunk, model.Net.ScoreAll(Batches.Histories(data.Sequences, chunk, model.Options.HistoryLength)));
        }
        return metrics;
    }

    /// <summary>Dense quantized validation score: each distinct code is scored against the catalogue once, then each user sums its K_u rows.</summary>
    private static void SparCodeValidation(SparCodeNet net, TrainOptions o, SequenceDataset data, (int u, int End)[] rows, RankingMetrics metrics)
    {
        int n = data.ItemCount;
        var codes = new int[rows.Length * o.UserTokens];
        for (int s = 0; s < rows.Length; s += 4096)
        {
            var chunk = rows.AsSpan(s, Math.Min(4096, rows.Length - s)).ToArray();
            CodeTable.EncodeCodes(net, data.Sequences, chunk, o).CopyTo(codes, s * o.UserTokens);
        }
        var distinct = codes.Distinct().Order().ToArray();
        var rowOf = new Dictionary<int, int>(distinct.Length);
        for (int r = 0; r < distinct.Length; r++)
        {
            rowOf[distinct[r]] = r;
        }
        var table = new float[(long)distinct.Length * n];
        using (var scope = NewDisposeScope())
        {
            var itemPart = net.ItemPart(arange(1, n + 1, dtype: ScalarType.Int64));
            // Bound the table's torch copy: score codes in blocks of about 2^24 floats.
            int block = Math.Max(1, (1 << 24) / n);
            for (int s = 0; s < distinct.Length; s += block)
            {
                using var pause = GcPause.Start();
                using var inner = NewDisposeScope();
                int len = Math.Min(block, distinct.Length - s);
                var part = net.ScoreCodes(tensor(distinct.AsSpan(s, len).ToArray().Select(c => (long)c).ToArray()), itemPart).contiguous();
                part.data<float>().CopyTo(table.AsSpan(s * n, len * n));
            }
        }
        var acc = new float[n];
        for (int r = 0; r < rows.Length; r++)
        {
            Array.Clear(acc);
            for (int t = 0; t < o.UserTokens; t++)
            {
                var f = table.AsSpan(rowOf[codes[r * o.UserTokens + t]] * n, n);
                for (int i = 0; i < n; i++)
                {
                    acc[i] += f[i];
                }
            }
            var seq = data.Sequences[rows[r].u];
            metrics.Add(RankingMetrics.Rank(acc, seq[^2], seq.AsSpan(0, seq.Length - 2)));
        }
    }

    /// <summary>Test users: those with validation and test items.</summary>
    public static int[] TestUsers(SequenceDataset data) => [.. Enumerable.Range(0, data.UserCount).Where(data.Evaluated)];

    /// <summary>Ranks the model's own full-catalogue score (two-tower: exact dot product; SparCode: dense quantized).</summary>
    public static EvaluationRow Exact(string name, TrainedModel model, SequenceDataset data)
    {
        var clock = Stopwatch.StartNew();
        var metrics = new RankingMetrics();
        using var noGrad = no_grad();
        foreach (var chunk in TestUsers(data).Chunk(256))
        {
            using var pause = GcPause.Start();
            using var scope = NewDisposeScope();
            var rows = chunk.Select(u => (u, data.Sequences[u].Length - 1)).ToArray();
            AddRanks(metrics, data, rows, model.Net.ScoreAll(Batches.Histories(data.Sequences, rows, model.Options.HistoryLength)));
        }
        return EvaluationRow.From(name, metrics, clock.Elapsed.TotalSeconds);
    }

    /// <summary>The all-to-all ceiling: unquantized tokens through f, no threshold; on the first <paramref name="maxUsers"/> test users (0: all).</summary>
    public static EvaluationRow Ceiling(TrainedModel model, SequenceDataset data, int maxUsers = 0)
    {
        var clock = Stopwatch.StartNew();
        var net = model.SparCode;
        var metrics = new RankingMetrics();
        var users = TestUsers(data);
        if (maxUsers > 0 && users.Length > maxUsers)
        {
            users = [.. users.OrderBy(u => (u * 2654435761u) % 1000003u).Take(maxUsers).Order()];
        }
        using var noGrad = no_grad();
        using var itemPart = net.ItemPart(arange(1, data.ItemCount + 1, dtype: ScalarType.Int64));
        foreach (var chunk in users.Chunk(32))
        {
            using var pause = GcPause.Start();
            using var scope = NewDisposeScope();
            var rows = chunk.Select(u => (u, data.Sequences[u].Length - 1)).ToArray();
            AddRanks(metrics, data, rows, net.ScoreAllUnquantized(Batches.Histories(data.Sequences, rows, model.Options.HistoryLength), itemPart));
        }
        return EvaluationRow.From("all-to-all ceiling (unquantized, no threshold)", metrics, clock.Elapsed.TotalSeconds,
            users.Length < TestUsers(data).Length ? $"{users.Length} sampled test users" : "");
    }

    /// <summary>
    /// Adds the rank of each row's target, item <c>End</c> of its sequence, under <see cref="RankingMetrics.Rank"/>'s
    /// rule (score descending, ties by smaller id, the items before End excluded unless equal to the target),
    /// computed in torch on scores [B, n] so that only B ranks leave native memory.
    /// </summary>
    internal static void AddRanks(RankingMetrics metrics, SequenceDataset data, (int u, int End)[] rows, Tensor scores)
    {
        using var scope = NewDisposeScope();
        long n = scores.shape[1];
        var targets = new long[rows.Length];
        var excluded = new List<long>();
        for (int r = 0; r < rows.Length; r++)
        {
            var seq = data.Sequences[rows[r].u];
            int item = seq[rows[r].End];
            targets[r] = item;
            foreach (int i in seq.AsSpan(0, rows[r].End))
            {
                if (i != item)
                {
                    excluded.Add(r * n + i);
                }
            }
        }
        var masked = scores.contiguous().clone().view(-1);
        if (excluded.Count > 0)
        {
            masked.index_fill_(0, tensor(excluded.ToArray()), float.NegativeInfinity);
        }
        masked = masked.view(rows.Length, n);
        var target = tensor(targets).unsqueeze(1);
        var own = masked.gather(1, target);
        var earlier = arange(n, dtype: ScalarType.Int64).unsqueeze(0).lt(target);
        var ranks = (masked.gt(own).sum(1L) + masked.eq(own).logical_and(earlier).sum(1L)).data<long>().ToArray();
        foreach (long rank in ranks)
        {
            metrics.Add((int)rank);
        }
    }

    /// <summary>
    /// Scores every test user exhaustively from the code table, with the torch-side codes: the sparse score is
    /// the table's lists (Σ_k ReLU(f − τ_c)) served by the engine itself from those codes
    /// (<see cref="SparCodeSearcher.SearchCodes"/> on a temporary index written from the table: the engine's list
    /// order, float sums, ties and fill), and the dense quantized score Σ_k f(ẑ_k, v_i) is ranked in full.
    /// </summary>
    public static (EvaluationRow Sparse, EvaluationRow Dense, ExhaustiveResults Results) Exhaustive(TrainedModel model, SequenceDataset data, CodeTable table)
    {
        ArgumentNullException.ThrowIfNull(table);
        var clock = Stopwatch.StartNew();
        var o = model.Options;
        var users = TestUsers(data);
        int n = data.ItemCount;
        var sparse = new RankingMetrics();
        var dense = new RankingMetrics();
        var results = new ExhaustiveResults(users, new long[users.Length * MaxK], new float[users.Length * MaxK], new int[users.Length * o.UserTokens]);
        var denseAcc = new float[n];
        var exclude = new List<long>();
        string path = Path.Combine(Path.GetTempPath(), $"sparcode-exhaustive-{Guid.NewGuid():N}.sci");
        try
        {
            Exporter.WriteScored(model, data, table, new SparsityOptions { Density = 0, MaxPerCode = table.Keep }, path);
            using var index = SparCodeIndex.Open(path, IndexValidation.SkipChecksum);
            var searcher = index.CreateSearcher();
            int at = 0;
            foreach (var chunk in users.Chunk(4096))
            {
                var rows = chunk.Select(u => (u, data.Sequences[u].Length - 1)).ToArray();
                var codes = CodeTable.EncodeCodes(model.SparCode, data.Sequences, rows, o);
                for (int r = 0; r < rows.Length; r++, at++)
                {
                    var seq = data.Sequences[rows[r].u];
                    var userCodes = codes.AsSpan(r * o.UserTokens, o.UserTokens);
                    Array.Clear(denseAcc);
                    for (int t = 0; t < o.UserTokens; t++)
                    {
                        int code = table.Remap[userCodes[t]];
                        results.Codes[at * o.UserTokens + t] = code;
                        var f = table.Scores.AsSpan(table.Row(code) * n, n);
                        for (int i = 0; i < n; i++)
                        {
                            denseAcc[i] += f[i];
                        }
                    }
                    exclude.Clear();
                    foreach (int i in seq.AsSpan(0, seq.Length - 1))
                    {
                        exclude.Add(data.ItemIds[i]);
                    }
                    var ids = results.Ids.AsSpan(at * MaxK, MaxK);
                    var scores = results.Scores.AsSpan(at * MaxK, MaxK);
                    int count = searcher.SearchCodes(userCodes, System.Runtime.InteropServices.CollectionsMarshal.AsSpan(exclude), MaxK, ids, scores);
                    ids[count..].Fill(-1);
                    scores[count..].Fill(float.NegativeInfinity);
                    sparse.Add(ids.IndexOf(data.ItemIds[seq[^1]]));
                    dense.Add(RankingMetrics.Rank(denseAcc, seq[^1], seq.AsSpan(0, seq.Length - 1)));
                }
            }
        }
        finally
        {
            File.Delete(path);
        }
        double seconds = clock.Elapsed.TotalSeconds;
        return (EvaluationRow.From("SparCode exhaustive, quantized + thresholds (= index contents)", sparse, seconds),
            EvaluationRow.From("SparCode exhaustive, quantized dense (no threshold)", dense, seconds),
            results);
    }

    /// <summary>Serves every test user's history through the engine from the exported index, k = 50.</summary>
    public static (EvaluationRow Row, ServedResults Results) Served(string indexPath, SequenceDataset data, int threads = -1)
    {
        var users = TestUsers(data);
        var histories = new List<long>();
        var offsets = new int[users.Length + 1];
        for (int q = 0; q < users.Length; q++)
        {
            var seq = data.Sequences[users[q]];
            foreach (int i in seq.AsSpan(0, seq.Length - 1))
            {
                histories.Add(data.ItemIds[i]);
            }
            offsets[q + 1] = histories.Count;
        }
        using var index = SparCodeIndex.Open(indexPath);
        var ids = new long[users.Length * MaxK];
        var scores = new float[users.Length * MaxK];
        var counts = new int[users.Length];
        var clock = Stopwatch.StartNew();
        var flat = histories.ToArray();
        index.SearchBatch(flat, offsets, MaxK, ids, scores, counts, maxDegreeOfParallelism: threads);
        double seconds = clock.Elapsed.TotalSeconds;
        var metrics = new RankingMetrics();
        int fallbackUsers = 0;
        for (int q = 0; q < users.Length; q++)
        {
            var seq = data.Sequences[users[q]];
            var row = ids.AsSpan(q * MaxK, MaxK);
            metrics.Add(row.IndexOf(data.ItemIds[seq[^1]]));
            if (scores.AsSpan(q * MaxK, MaxK).Contains(0f))
            {
                fallbackUsers++;
            }
        }
        var codes = new int[users.Length * index.Dimensions.UserTokens];
        var searcher = index.CreateSearcher();
        for (int q = 0; q < users.Length; q++)
        {
            searcher.Encode(flat.AsSpan(offsets[q], offsets[q + 1] - offsets[q]), codes.AsSpan(q * index.Dimensions.UserTokens, index.Dimensions.UserTokens));
        }
        string note = $"{fallbackUsers} of {users.Length} users ({100.0 * fallbackUsers / users.Length:F1}%) needed the popularity fill to reach k = 50; {users.Length / seconds:F0} queries/s";
        return (EvaluationRow.From("SparCode served from the index (engine)", metrics, seconds, note), new ServedResults(users, ids, scores, codes, fallbackUsers));
    }

    /// <summary>Writes rows and extra facts as JSON.</summary>
    public static void WriteJson(string path, object report) =>
        File.WriteAllText(path, JsonSerializer.Serialize(report, TrainOptions.Json));
}

/// <summary>Top-50 lists of the exhaustive sparse scorer (external ids), and the K_u codes it used per user.</summary>
public sealed record ExhaustiveResults(int[] Users, long[] Ids, float[] Scores, int[] Codes);

/// <summary>Top-50 lists returned by the engine, its codes per user, and how many users needed the fill.</summary>
public sealed record ServedResults(int[] Users, long[] Ids, float[] Scores, int[] Codes, int FallbackUsers);
