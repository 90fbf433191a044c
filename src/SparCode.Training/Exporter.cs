using System.Diagnostics;
using System.Text.Json;
using SparCode.Data;
using SparCode.Format;
using SparCode.Kernels.Gpu;
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
/// <param name="Scorer">What scored the (code, item) pairs: TorchSharp on the CPU, or the ILGPU interaction scorer and its device.</param>
/// <param name="RefineSections">Whether the index holds the refine sections (item tokens and the interaction MLP).</param>
public sealed record ExportReport(string Path, long Bytes, double Seconds, int CodesUsed, int CodeCount, long Postings, double DensityOverUsedCodes, int[] ListLengthPercentiles,
    double MeanThreshold, string Scorer = Exporter.CpuScorer, bool RefineSections = false);

/// <summary>
/// Each used code's posting list, before writing: the items with f &gt; τ_c ascending, their scores f − τ_c, and τ_c.
/// </summary>
/// <param name="UsedCodes">Codes used by training tokens, ascending; row r of the other arrays is code UsedCodes[r].</param>
/// <param name="Items">Kept items of each used code, ascending.</param>
/// <param name="Scores">Their scores f − τ_c (&gt; 0).</param>
/// <param name="Thresholds">τ_c of each used code.</param>
/// <param name="Remap">For every code, the used code serving it.</param>
/// <param name="Keep">Items kept per code (at most).</param>
/// <param name="ScoringSeconds">Seconds spent scoring and thresholding.</param>
internal sealed record PostingLists(int[] UsedCodes, int[][] Items, float[][] Scores, float[] Thresholds, int[] Remap, int Keep, double ScoringSeconds);

/// <summary>Writes a trained SparCode model as an index file through <see cref="IndexWriter"/>.</summary>
public static class Exporter
{
    /// <summary>The <see cref="ExportReport.Scorer"/> of the TorchSharp CPU path.</summary>
    public const string CpuScorer = "cpu (TorchSharp)";

    /// <summary>
    /// Builds the index from a <see cref="CodeTable"/> scored by TorchSharp on the CPU: every used code's list holds
    /// the items with f(ẑ_c, v_i) &gt; τ_c, storing f − τ_c, ascending by item; unused codes are served by their nearest
    /// used code (CodeRemap); the fallback order is training popularity, most popular first (ties by item).
    /// <see cref="GpuExporter.Write"/> builds the same index with the ILGPU interaction scorer.
    /// </summary>
    /// <param name="model">The trained SparCode model.</param>
    /// <param name="data">The data it was trained on (catalogue, popularity).</param>
    /// <param name="table">Scores and thresholds from <see cref="CodeTable.Build"/>.</param>
    /// <param name="sparsity">The sparsity the table was built with (recorded in the metadata).</param>
    /// <param name="path">The index file to write.</param>
    /// <param name="log">Receives progress lines.</param>
    /// <param name="refineSections">Also write the item tokens and the interaction MLP (docs/format.md, kinds 16–19) for refine.</param>
    public static ExportReport Write(TrainedModel model, SequenceDataset data, CodeTable table, SparsityOptions sparsity, string path, Action<string>? log = null,
        bool refineSections = false)
    {
        ArgumentNullException.ThrowIfNull(table);
        int n = table.ItemCount;
        var items = new int[table.UsedCodes.Length][];
        var scores = new float[table.UsedCodes.Length][];
        for (int r = 0; r < table.UsedCodes.Length; r++)
        {
            (items[r], scores[r]) = PostingBuilder.KeepAbove(table.Scores.AsSpan(r * n, n), table.Thresholds[r]);
        }
        var lists = new PostingLists(table.UsedCodes, items, scores, table.Thresholds, table.Remap, table.Keep, table.ScoringSeconds);
        return WriteLists(model, data, lists, sparsity, path, CpuScorer, refineSections, log);
    }

    /// <summary>Writes the index from finished posting lists; both scorers end here.</summary>
    internal static ExportReport WriteLists(TrainedModel model, SequenceDataset data, PostingLists lists, SparsityOptions sparsity, string path, string scorer,
        bool refineSections, Action<string>? log)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(sparsity);
        var clock = Stopwatch.StartNew();
        var net = model.SparCode;
        var o = model.Options;
        int n = data.ItemCount;
        int codes = o.CodeCount;
        var offsets = new long[codes + 1];
        var items = new List<int>();
        var values = new List<float>();
        var lengths = new List<int>();
        long total = 0;
        for (int code = 0, r = 0; code < codes; code++)
        {
            offsets[code] = total;
            if (r < lists.UsedCodes.Length && lists.UsedCodes[r] == code)
            {
                items.AddRange(lists.Items[r]);
                values.AddRange(lists.Scores[r]);
                lengths.Add(lists.Items[r].Length);
                total = items.Count;
                r++;
            }
        }
        offsets[codes] = total;
        var popularity = data.TrainPopularity();
        int[] fallback = [.. Enumerable.Range(0, n).OrderByDescending(i => popularity[i]).ThenBy(i => i)];
        lengths.Sort();
        int Pct(double p) => lengths.Count == 0 ? 0 : lengths[(int)Math.Min(lengths.Count - 1, Math.Floor(p * (lengths.Count - 1)))];
        int[] percentiles = [Pct(0), Pct(0.5), Pct(0.9), Pct(0.99), Pct(1)];
        double meanTau = lists.Thresholds.Length == 0 ? 0 : lists.Thresholds.Average(t => (double)t);
        double density = lists.UsedCodes.Length == 0 ? 0 : (double)total / ((double)lists.UsedCodes.Length * n);
        var refine = refineSections ? RefineWeights.From(model) : null;
        var metadata = new
        {
            generator = "SparCode.Training export",
            model = "sparcode",
            options = o,
            data = data.Source,
            items = n,
            scorer,
            sparsity = new { density = sparsity.Density, maxPerCode = sparsity.MaxPerCode, keptPerCodeAtMost = lists.Keep, realizedDensityOverUsedCodes = density, meanThreshold = meanTau },
            scoreRule = "posting score = f(ẑ_c, v_i) − τ_c for items with f > τ_c, τ_c = the (keep+1)-th largest f of code c; served score = Σ_k ReLU(f − τ_c)",
            codes = new { total = codes, used = lists.UsedCodes.Length, unusedRule = "codes no training token used have no list; CodeRemap sends each to the used code with the nearest concatenated codewords (squared L2)" },
            fallback = "items by training popularity, most popular first, ties by smaller item id",
            refine = refine is null ? null : new { itemTokenDim = refine.ItemTokenDim, layers = refine.Interaction.Select(l => $"{l.Outputs}x{l.Inputs}").ToArray(), dotPath = refine.DotPath, rule = "refine score = Σ_k f([z_k ; v_i]) with unquantized user tokens z_k" },
        };
        var contents = new IndexContents
        {
            Dimensions = new ModelDimensions(n, o.EmbeddingDim, o.HistoryLength, o.UserTokens, o.Subspaces, o.CodebookSize, o.TokenDim, net.Tower is MeanTower ? 4 : 0),
            ItemEmbedding = Floats(net.Items.weight!),
            Tower = net.Tower is MeanTower mean ? [.. mean.Layers.Select(Dense)] : [],
            Attention = net.Tower is SelfAttentionTower attention ? Stored(attention, o.Heads) : null,
            Heads = Dense(net.Heads),
            Codebooks = Floats(net.Codebooks),
            PostingOffsets = offsets,
            PostingItems = [.. items],
            PostingScores = [.. values],
            ItemIds = data.ItemIds,
            FallbackOrder = fallback,
            CodeRemap = lists.Remap,
            Refine = refine,
            MetadataJson = JsonSerializer.Serialize(metadata, TrainOptions.Json),
        };
        long bytes = IndexWriter.Write(path, contents);
        var report = new ExportReport(Path.GetFullPath(path), bytes, lists.ScoringSeconds + clock.Elapsed.TotalSeconds, lists.UsedCodes.Length, codes, total, density, percentiles, meanTau,
            scorer, refineSections);
        log?.Invoke($"export: wrote {path}: {bytes:N0} bytes, {total:N0} postings, density {density:F4} over used codes, list lengths p0/p50/p90/p99/max {string.Join("/", percentiles)}, mean τ {meanTau:F3}, scorer {scorer}{(refineSections ? ", refine sections" : "")}, {report.Seconds:F1} s");
        return report;
    }

    /// <summary>The attention tower's weights in the index's layout (sections 20–29).</summary>
    private static AttentionTower Stored(SelfAttentionTower tower, int heads) => new(
        heads,
        Floats(tower.Positions.weight!),
        [.. tower.Blocks.Select(block =>
        {
            var p = block.Parts;
            return new AttentionBlock(Floats(p.Norm1.weight!), Floats(p.Norm1.bias!), Dense(p.In), Dense(p.Out),
                Floats(p.Norm2.weight!), Floats(p.Norm2.bias!), Dense(p.FeedForward1), Dense(p.FeedForward2));
        })],
        Floats(tower.Final.weight!),
        Floats(tower.Final.bias!));

    private static float[] Floats(Tensor t) => t.detach().contiguous().data<float>().ToArray();

    private static DenseLayer Dense(Linear layer)
    {
        var w = layer.weight!;
        return new DenseLayer((int)w.shape[0], (int)w.shape[1], Floats(w), Floats(layer.bias!));
    }
}
