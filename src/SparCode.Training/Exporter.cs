using System.Diagnostics;
using System.Text.Json;
using SparCode.Data;
using SparCode.Format;
using SparCode.Engine.Gpu;
using SparCode.IndexBuild;
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
/// <param name="Lists">List-length statistics over all codes, as <c>sparcode inspect</c> prints them for the file.</param>
/// <param name="MeanThreshold">Mean τ_c over used codes.</param>
/// <param name="Scorer">What scored the (code, item) pairs: TorchSharp on the CPU, or the ILGPU interaction scorer and its device.</param>
/// <param name="RefineSections">Whether the index holds the refine sections (item tokens and the interaction MLP).</param>
public sealed record ExportReport(string Path, long Bytes, double Seconds, int CodesUsed, int CodeCount, long Postings, double DensityOverUsedCodes, PostingStatistics Lists,
    double MeanThreshold, string Scorer = Exporter.CpuScorer, bool RefineSections = false);

/// <summary>Each used code's posting list before writing, with the map that serves the unused codes.</summary>
/// <param name="UsedCodes">Codes used by training tokens, ascending; row r of <paramref name="Postings"/> is code UsedCodes[r].</param>
/// <param name="Postings">Kept items, scores f − τ_c and τ_c of each used code.</param>
/// <param name="Remap">For every code, the used code serving it.</param>
/// <param name="Keep">Items kept per code (at most).</param>
/// <param name="ScoringSeconds">Seconds spent scoring and thresholding.</param>
internal sealed record PostingLists(int[] UsedCodes, CodePostings Postings, int[] Remap, int Keep, double ScoringSeconds);

/// <summary>
/// The export: scores every used code of a trained SparCode model against the catalogue through a pair scorer
/// and writes the index through <see cref="IndexWriter"/>.
/// </summary>
public static class Exporter
{
    /// <summary>The <see cref="ExportReport.Scorer"/> of the TorchSharp CPU path.</summary>
    public const string CpuScorer = "cpu (TorchSharp)";

    /// <summary>
    /// Builds and writes the index: the codes of every training token are the used codes; each used code's list
    /// holds the items with f(ẑ_c, v_i) &gt; τ_c, storing f − τ_c, ascending by item (<see cref="PostingBuilder"/>);
    /// unused codes are served by their nearest used code (CodeRemap); the fallback order is training popularity,
    /// most popular first (ties by item). The scorer decides only how f is computed.
    /// </summary>
    /// <param name="model">The trained SparCode model.</param>
    /// <param name="data">The data it was trained on (training tokens' codes, catalogue, popularity).</param>
    /// <param name="sparsity">Target density and/or per-code cap.</param>
    /// <param name="scorer">The pair scorer: <see cref="TorchPairScorer"/>, or <see cref="GpuScorer"/> for the ILGPU one.</param>
    /// <param name="path">The index file to write (atomically).</param>
    /// <param name="log">Receives progress lines.</param>
    /// <param name="refineSections">Also write the item tokens and the interaction MLP (docs/format.md, kinds 16–19) for refine.</param>
    /// <exception cref="ArgumentException">The sparsity is invalid, the data gives no used code, or the scorer's catalogue is not the data's.</exception>
    public static ExportReport Write(TrainedModel model, SequenceDataset data, SparsityOptions sparsity, IPairScorer scorer, string path, Action<string>? log = null,
        bool refineSections = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(sparsity);
        ArgumentNullException.ThrowIfNull(scorer);
        sparsity.Validate();
        if (scorer.ItemCount != data.ItemCount)
        {
            throw new ArgumentException($"The scorer scores {scorer.ItemCount:N0} items; '{data.Source}' has {data.ItemCount:N0}.", nameof(scorer));
        }
        log ??= _ => { };
        var clock = Stopwatch.StartNew();
        var net = model.SparCode;
        var o = model.Options;
        net.eval();
        int n = data.ItemCount;
        int keep = sparsity.Keep(n);
        int[] usedCodes = CodeTable.FindUsedCodes(net, data, o, out int tokens);
        if (usedCodes.Length == 0)
        {
            throw new ArgumentException($"No training token of '{data.Source}' has a code (no user has two training items); there is nothing to export.", nameof(data));
        }
        log($"export: {usedCodes.Length:N0} of {o.CodeCount:N0} codes used by {tokens:N0} training tokens; scoring {usedCodes.Length:N0} × {n:N0} pairs on {scorer.Name}, keeping {keep:N0} per code");
        var postings = PostingBuilder.Build(scorer, CodeTable.CodeVectors(net, usedCodes), keep, CodeTable.ScoringProgress(log));
        var lists = new PostingLists(usedCodes, postings, CodeTable.NearestUsed(net, usedCodes, o), keep, clock.Elapsed.TotalSeconds);
        return WriteLists(model, data, lists, sparsity, path, scorer.Name, refineSections, log);
    }

    /// <summary>
    /// The ILGPU pair scorer for <paramref name="model"/>: its interaction MLP and item tokens, read as the refine
    /// sections store them, checked against the network's own f.
    /// </summary>
    /// <param name="model">The trained SparCode model.</param>
    /// <param name="device">The accelerator (CUDA, or ILGPU's CPU accelerator: correct but very slow).</param>
    /// <param name="maxPairs">Pairs per device pass; 0 chooses (see <see cref="GpuPairScorer"/>).</param>
    /// <exception cref="ArgumentException">The model's f is not the MLP (plus dot path) the device scorer evaluates.</exception>
    public static GpuPairScorer GpuScorer(TrainedModel model, GpuDevice device, int maxPairs = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        var refine = RefineWeights.From(model);
        return new GpuPairScorer(device, RefineMlp.From(model.Options.TokenDim, refine), refine.ItemTokens, maxPairs);
    }

    /// <summary>
    /// Writes the lists a <see cref="CodeTable"/> already scored with the TorchSharp scorer, by the same rules as
    /// <see cref="Write"/> (the evaluation's export, which must not score twice).
    /// </summary>
    /// <param name="model">The trained SparCode model.</param>
    /// <param name="data">The data it was trained on.</param>
    /// <param name="table">Scores and thresholds from <see cref="CodeTable.Build"/>.</param>
    /// <param name="sparsity">The sparsity the table was built with (recorded in the metadata).</param>
    /// <param name="path">The index file to write (atomically).</param>
    /// <param name="log">Receives progress lines.</param>
    /// <param name="refineSections">Also write the refine sections.</param>
    internal static ExportReport WriteScored(TrainedModel model, SequenceDataset data, CodeTable table, SparsityOptions sparsity, string path, Action<string>? log = null,
        bool refineSections = false)
    {
        ArgumentNullException.ThrowIfNull(table);
        var lists = new PostingLists(table.UsedCodes, table.Postings(), table.Remap, table.Keep, table.ScoringSeconds);
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
        var (offsets, items, values) = PostingBuilder.Concatenate(codes, lists.UsedCodes, lists.Postings);
        long total = items.LongLength;
        var stats = PostingStatistics.FromOffsets(offsets);
        var thresholds = lists.Postings.Thresholds;
        double meanTau = thresholds.Length == 0 ? 0 : thresholds.Average(t => (double)t);
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
            PostingItems = items,
            PostingScores = values,
            ItemIds = data.ItemIds,
            FallbackOrder = PostingBuilder.FallbackOrder(data.TrainPopularity()),
            CodeRemap = lists.Remap,
            Refine = refine,
            MetadataJson = JsonSerializer.Serialize(metadata, TrainOptions.Json),
        };
        long bytes = IndexWriter.Write(path, contents);
        var report = new ExportReport(Path.GetFullPath(path), bytes, lists.ScoringSeconds + clock.Elapsed.TotalSeconds, lists.UsedCodes.Length, codes, total, density, stats, meanTau,
            scorer, refineSections);
        log?.Invoke($"export: wrote {path}: {bytes:N0} bytes, {total:N0} postings, density {density:F4} over used codes, list lengths over all codes p0/p50/p90/p99/max {stats.Percentiles}, mean τ {meanTau:F3}, scorer {scorer}{(refineSections ? ", refine sections" : "")}, {report.Seconds:F1} s");
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
