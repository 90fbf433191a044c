using System.Diagnostics;
using System.Text.Json;
using SparCode.Data;
using SparCode.Format;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace SparCode.Training;

/// <summary>What an export produced.</summary>
/// <param name="Path">The index file.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="Seconds">Wall time of scoring, thresholding and writing.</param>
/// <param name="CodesUsed">Codes with a posting list.</param>
/// <param name="CodeCount">All codes, K_c^M.</param>
/// <param name="Postings">Entries stored.</param>
/// <param name="DensityOverUsedCodes">Postings / (used codes × items).</param>
/// <param name="ListLengthPercentiles">p0, p50, p90, p99, p100 of the used codes' list lengths.</param>
/// <param name="MeanThreshold">Mean τ_c over used codes.</param>
public sealed record ExportReport(string Path, long Bytes, double Seconds, int CodesUsed, int CodeCount, long Postings, double DensityOverUsedCodes, int[] ListLengthPercentiles, double MeanThreshold);

/// <summary>Writes a trained SparCode model as an index file through <see cref="IndexWriter"/>.</summary>
public static class Exporter
{
    /// <summary>
    /// Builds the index: every used code's list holds the items with f(ẑ_c, v_i) &gt; τ_c, storing f − τ_c,
    /// ascending by item; unused codes are served by their nearest used code (CodeRemap); the fallback
    /// order is training popularity, most popular first (ties by item).
    /// </summary>
    public static ExportReport Write(TrainedModel model, SequenceDataset data, CodeTable table, SparsityOptions sparsity, string path, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(table);
        var clock = Stopwatch.StartNew();
        var net = model.SparCode;
        var o = model.Options;
        int n = data.ItemCount;
        int codes = o.CodeCount;
        var offsets = new long[codes + 1];
        var lists = new List<(int Code, int[] Items, float[] Scores)>();
        var items = new List<int>();
        var values = new List<float>();
        var lengths = new List<int>();
        var used = new HashSet<int>(table.UsedCodes);
        long total = 0;
        for (int code = 0; code < codes; code++)
        {
            offsets[code] = total;
            if (!used.Contains(code))
            {
                continue;
            }
            int row = table.Row(code);
            var f = table.Scores.AsSpan(row * n, n);
            float tau = table.Thresholds[row];
            int before = items.Count;
            for (int i = 0; i < n; i++)
            {
                if (f[i] > tau)
                {
                    items.Add(i);
                    values.Add(f[i] - tau);
                }
            }
            lengths.Add(items.Count - before);
            total = items.Count;
        }
        offsets[codes] = total;
        var popularity = data.TrainPopularity();
        int[] fallback = [.. Enumerable.Range(0, n).OrderByDescending(i => popularity[i]).ThenBy(i => i)];
        lengths.Sort();
        int Pct(double p) => lengths.Count == 0 ? 0 : lengths[(int)Math.Min(lengths.Count - 1, Math.Floor(p * (lengths.Count - 1)))];
        int[] percentiles = [Pct(0), Pct(0.5), Pct(0.9), Pct(0.99), Pct(1)];
        double meanTau = table.Thresholds.Length == 0 ? 0 : table.Thresholds.Average(t => (double)t);
        double density = table.UsedCodes.Length == 0 ? 0 : (double)total / ((double)table.UsedCodes.Length * n);
        var metadata = new
        {
            generator = "SparCode.Training export",
            model = "sparcode",
            options = o,
            data = data.Source,
            items = n,
            sparsity = new { density = sparsity.Density, maxPerCode = sparsity.MaxPerCode, keptPerCodeAtMost = table.Keep, realizedDensityOverUsedCodes = density, meanThreshold = meanTau },
            scoreRule = "posting score = f(ẑ_c, v_i) − τ_c for items with f > τ_c, τ_c = the (keep+1)-th largest f of code c; served score = Σ_k ReLU(f − τ_c)",
            codes = new { total = codes, used = table.UsedCodes.Length, unusedRule = "codes no training token used have no list; CodeRemap sends each to the used code with the nearest concatenated codewords (squared L2)" },
            fallback = "items by training popularity, most popular first, ties by smaller item id",
        };
        var contents = new IndexContents
        {
            Dimensions = new ModelDimensions(n, o.EmbeddingDim, o.HistoryLength, o.UserTokens, o.Subspaces, o.CodebookSize, o.TokenDim, 4),
            ItemEmbedding = Floats(net.Items.weight!),
            Tower = [.. net.Tower.Layers.Select(Dense)],
            Heads = Dense(net.Heads),
            Codebooks = Floats(net.Codebooks),
            PostingOffsets = offsets,
            PostingItems = [.. items],
            PostingScores = [.. values],
            ItemIds = data.ItemIds,
            FallbackOrder = fallback,
            CodeRemap = table.Remap,
            MetadataJson = JsonSerializer.Serialize(metadata, TrainOptions.Json),
        };
        long bytes = IndexWriter.Write(path, contents);
        var report = new ExportReport(Path.GetFullPath(path), bytes, table.ScoringSeconds + clock.Elapsed.TotalSeconds, table.UsedCodes.Length, codes, total, density, percentiles, meanTau);
        log?.Invoke($"export: wrote {path}: {bytes:N0} bytes, {total:N0} postings, density {density:F4} over used codes, list lengths p0/p50/p90/p99/max {string.Join("/", percentiles)}, mean τ {meanTau:F3}, {report.Seconds:F1} s");
        return report;
    }

    private static float[] Floats(Tensor t) => t.detach().contiguous().data<float>().ToArray();

    private static DenseLayer Dense(Linear layer)
    {
        var w = layer.weight!;
        return new DenseLayer((int)w.shape[0], (int)w.shape[1], Floats(w), Floats(layer.bias!));
    }
}
