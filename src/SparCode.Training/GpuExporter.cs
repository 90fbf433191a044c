using System.Diagnostics;
using SparCode.Data;
using SparCode.Kernels.Gpu;
using static TorchSharp.torch;

namespace SparCode.Training;

/// <summary>
/// The export with the (code, item) pairs scored by the ILGPU interaction scorer (<see cref="GpuInteractionScorer"/>)
/// instead of TorchSharp: the same used codes, thresholds rule, cap, code remap, fallback order and file as
/// <see cref="Exporter.Write"/>, streamed code block by code block so that the dense code × item matrix is never held.
/// </summary>
/// <remarks>
/// The network's interaction MLP is split by the first-layer decomposition (docs/method.md#first-layer-decomposition: <c>W_u·ẑ</c> once per used code,
/// <c>W_v·v_i + b₁</c> once per item) and the remaining layers run as tiled GEMMs on the device (with the dot path,
/// <c>⟨ẑ, v[0..D)⟩</c> is added per pair). Each code's τ_c is the
/// (keep+1)-th largest of <em>these</em> scores (ties counted, as <c>topk</c> does; just below the smallest when every
/// item is kept) and its list holds the items with f &gt; τ_c storing f − τ_c, so the index is exactly
/// <c>ReLU(f − τ_c)</c> of the device's f. The device sums in a different order than libtorch, so f differs from the CPU
/// export's in the last bits (relative 1e-6 seen); the two indexes have the same lists except where a code's keep-th
/// and (keep+1)-th scores are that close, where the item at the boundary can differ, and scores f − τ_c agree to
/// about 1e-6 × |f| in absolute terms (not relative: f − τ_c is small near the threshold).
/// </remarks>
public static class GpuExporter
{
    /// <summary>Scores every used code against the catalogue on <paramref name="device"/> and writes the index.</summary>
    /// <param name="model">The trained SparCode model.</param>
    /// <param name="data">The data it was trained on (training tokens' codes, catalogue, popularity).</param>
    /// <param name="sparsity">Target density and/or per-code cap.</param>
    /// <param name="path">The index file to write.</param>
    /// <param name="device">The accelerator (CUDA, or ILGPU's CPU accelerator: correct but very slow).</param>
    /// <param name="log">Receives progress lines.</param>
    /// <param name="refineSections">Also write the item tokens and the interaction MLP for refine.</param>
    /// <param name="maxPairs">Pairs per device pass; 0 chooses 2^20 on CUDA and one code's row per pass on the CPU accelerator.</param>
    /// <exception cref="ArgumentException">The sparsity is invalid, the data gives no used code, or the model's f is not the MLP (plus dot path) the scorer evaluates.</exception>
    public static ExportReport Write(TrainedModel model, SequenceDataset data, SparsityOptions sparsity, string path, GpuDevice device, Action<string>? log = null,
        bool refineSections = false, int maxPairs = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(sparsity);
        ArgumentNullException.ThrowIfNull(device);
        ArgumentOutOfRangeException.ThrowIfNegative(maxPairs);
        if (sparsity.Density is < 0 or > 1 || sparsity.MaxPerCode < 0 || (sparsity.Density == 0 && sparsity.MaxPerCode == 0))
        {
            throw new ArgumentException($"Sparsity needs a density in (0, 1] or a positive per-code cap; got density {sparsity.Density}, cap {sparsity.MaxPerCode}.", nameof(sparsity));
        }
        log ??= _ => { };
        var clock = Stopwatch.StartNew();
        var net = model.SparCode;
        var o = model.Options;
        net.eval();
        using var noGrad = no_grad();
        int n = data.ItemCount;
        int keep = sparsity.Keep(n);
        int[] usedCodes = CodeTable.FindUsedCodes(net, data, o, out _);
        if (usedCodes.Length == 0)
        {
            throw new ArgumentException($"No training token of '{data.Source}' has a code (no user has two training items); there is nothing to export.", nameof(data));
        }
        string scorer = $"gpu (ILGPU {(device.IsCuda ? "CUDA" : "CPU accelerator")}: {device.Name})";
        log($"export: {usedCodes.Length:N0} of {o.CodeCount:N0} codes used; scoring {usedCodes.Length:N0} × {n:N0} pairs on {scorer}, keeping {keep:N0} per code");

        var refine = RefineWeights.From(model);
        var mlp = InteractionMlp.FromLayers(o.TokenDim, refine.Interaction, refine.DotPath);
        float[] codeVectors;
        using (var scope = NewDisposeScope())
        {
            codeVectors = net.CodeVectors(tensor(usedCodes.Select(c => (long)c).ToArray())).contiguous().data<float>().ToArray();
        }
        int passPairs = maxPairs > 0 ? maxPairs : device.IsCuda ? Math.Max(n, 1 << 20) : n;
        CodePostings postings;
        using (var gpu = new GpuInteractionScorer(device, mlp, passPairs))
        {
            int eighths = 0;
            postings = PostingBuilder.Build(gpu, codeVectors, refine.ItemTokens, keep, (done, all) =>
            {
                if (done * 8L / all > eighths)
                {
                    eighths = (int)(done * 8L / all);
                    log($"export: scored {done:N0}/{all:N0} codes");
                }
            });
        }
        var remap = CodeTable.NearestUsed(net, usedCodes, o);
        var lists = new PostingLists(usedCodes, postings.Items, postings.Scores, postings.Thresholds, remap, keep, clock.Elapsed.TotalSeconds);
        return Exporter.WriteLists(model, data, lists, sparsity, path, scorer, refineSections, log);
    }
}
