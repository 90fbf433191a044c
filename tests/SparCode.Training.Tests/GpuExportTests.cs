using SparCode.Data;
using SparCode.Engine.Gpu;
using SparCode.Format;
using SparCode.IndexBuild;
using SparCode.Kernels.Gpu;
using Xunit.Abstractions;

namespace SparCode.Training.Tests;

/// <summary>
/// A tiny SparCode model (2 epochs on 150 synthetic items, MLP width 16) exported twice, once scored by TorchSharp and once by
/// the ILGPU interaction scorer on the CPU accelerator, both with the refine sections.
/// </summary>
public abstract class TwoExports : IDisposable
{
    protected TwoExports(bool dotPath)
    {
        Data = CrossFeatureGenerator.Generate(new CrossFeatureOptions { Users = 300, Items = 150, Genres = 6, Levels = 4, MinLength = 6, MaxLength = 12, PopularitySkew = 1.0, Seed = 12 });
        var options = new TrainOptions
        {
            EmbeddingDim = 16, HistoryLength = 10, TowerWidth = 32, UserTokens = 2, TokenDim = 8, Subspaces = 2, CodebookSize = 8,
            ItemTokens = 2, MlpWidth = 16, Negatives = 32, BatchSize = 64, Epochs = 2, Patience = 2, Seed = 5, Threads = 1, LearningRate = 3e-3,
            DotPath = dotPath,
        };
        (Model, _, _) = Trainer.Train(Data, options, null);
        Sparsity = new SparsityOptions { Density = 0.1, MaxPerCode = 15 };
        Table = CodeTable.Build(Model, Data, Sparsity);
        Folder = Directory.CreateTempSubdirectory("sparcode-gpu-export-").FullName;
        using (var torch = new TorchPairScorer(Model))
        {
            Cpu = Exporter.Write(Model, Data, Sparsity, torch, Path.Combine(Folder, "cpu.sci"), refineSections: true);
        }
        Scored = Exporter.WriteScored(Model, Data, Table, Sparsity, Path.Combine(Folder, "scored.sci"), refineSections: true);
        using var device = GpuDevice.Create(DeviceMode.CpuAccelerator);
        using var gpu = Exporter.GpuScorer(Model, device);
        Gpu = Exporter.Write(Model, Data, Sparsity, gpu, Path.Combine(Folder, "gpu.sci"), refineSections: true);
    }

    public SequenceDataset Data { get; }
    public TrainedModel Model { get; }
    public SparsityOptions Sparsity { get; }
    public CodeTable Table { get; }
    public string Folder { get; }
    public ExportReport Cpu { get; }
    public ExportReport Scored { get; }
    public ExportReport Gpu { get; }

    public void Dispose()
    {
        Model.Dispose();
        Directory.Delete(Folder, recursive: true);
        GC.SuppressFinalize(this);
    }
}

/// <summary>The plain interaction MLP.</summary>
public sealed class PlainExports() : TwoExports(dotPath: false);

/// <summary>f with the dot path (training's --dot-path, the demo's setting).</summary>
public sealed class DotPathExports() : TwoExports(dotPath: true);

public sealed class GpuExportTests(PlainExports exports, ITestOutputHelper output) : IClassFixture<PlainExports>
{
    [Fact]
    public void The_evaluations_scored_table_writes_the_pipelines_lists()
    {
        // WriteScored reuses the CodeTable the evaluation scored; Write scores again through TorchPairScorer: same blocks, same rule.
        using var pipeline = IndexFile.Open(exports.Cpu.Path);
        using var scored = IndexFile.Open(exports.Scored.Path);
        Assert.Equal(pipeline.PostingOffsets.ToArray(), scored.PostingOffsets.ToArray());
        Assert.Equal(pipeline.PostingItems.ToArray(), scored.PostingItems.ToArray());
        Assert.Equal(pipeline.PostingScores.ToArray(), scored.PostingScores.ToArray());
        Assert.Equal(pipeline.CodeRemap.ToArray(), scored.CodeRemap.ToArray());
        Assert.Equal(pipeline.FallbackOrder.ToArray(), scored.FallbackOrder.ToArray());
        Assert.Equal(exports.Cpu.Lists, exports.Scored.Lists);
    }

    [Fact]
    public void The_gpu_scored_export_is_the_cpu_export() => ExportChecks.SameIndex(exports, output);

    [Fact]
    public void The_refine_sections_reproduce_the_trained_interaction_scores() => ExportChecks.RefineSectionsReproduceTheTable(exports);
}

public sealed class GpuExportDotPathTests(DotPathExports exports, ITestOutputHelper output) : IClassFixture<DotPathExports>
{
    [Fact]
    public void The_gpu_scored_export_is_the_cpu_export() => ExportChecks.SameIndex(exports, output);

    [Fact]
    public void The_refine_sections_reproduce_the_trained_interaction_scores() => ExportChecks.RefineSectionsReproduceTheTable(exports);
}

internal static class ExportChecks
{
    public static void SameIndex(TwoExports exports, ITestOutputHelper output)
    {
        using var cpu = IndexFile.Open(exports.Cpu.Path);
        using var gpu = IndexFile.Open(exports.Gpu.Path);
        Assert.Equal(Exporter.CpuScorer, exports.Cpu.Scorer);
        Assert.Contains("CPU accelerator", exports.Gpu.Scorer);
        Assert.Contains("CPU accelerator", gpu.MetadataJson);

        // Everything but the scores comes from the same network: bit-identical.
        Assert.Equal(cpu.Dimensions, gpu.Dimensions);
        Assert.Equal(cpu.ItemEmbedding.ToArray(), gpu.ItemEmbedding.ToArray());
        Assert.Equal(cpu.Codebooks.ToArray(), gpu.Codebooks.ToArray());
        Assert.Equal(cpu.CodeRemap.ToArray(), gpu.CodeRemap.ToArray());
        Assert.Equal(cpu.FallbackOrder.ToArray(), gpu.FallbackOrder.ToArray());
        Assert.Equal(cpu.ExternalItemIds.ToArray(), gpu.ExternalItemIds.ToArray());
        Assert.Equal(cpu.ItemTokens.ToArray(), gpu.ItemTokens.ToArray());
        Assert.Equal(exports.Cpu.CodesUsed, exports.Gpu.CodesUsed);

        // Postings: the kept set is each code's top `keep` by f. A code whose keep-th and (keep+1)-th CPU scores are
        // closer than float noise could keep a different boundary item; every other code must match exactly.
        int n = exports.Data.ItemCount, keep = exports.Table.Keep;
        Assert.Equal(15, keep);
        int exact = 0, boundaryTies = 0;
        double worst = 0;
        for (int r = 0; r < exports.Table.UsedCodes.Length; r++)
        {
            int code = exports.Table.UsedCodes[r];
            var f = exports.Table.Scores.AsSpan(r * n, n).ToArray();
            var sorted = f.OrderDescending().ToArray();
            if (sorted[keep - 1] - sorted[keep] <= 1e-5f * Math.Max(1f, Math.Abs(sorted[keep])))
            {
                boundaryTies++;
                continue;
            }
            var (start, end) = ((int)cpu.PostingOffsets.Span[code], (int)cpu.PostingOffsets.Span[code + 1]);
            var (gStart, gEnd) = ((int)gpu.PostingOffsets.Span[code], (int)gpu.PostingOffsets.Span[code + 1]);
            Assert.Equal(cpu.PostingItems.Span[start..end].ToArray(), gpu.PostingItems.Span[gStart..gEnd].ToArray());
            Assert.Equal(keep, end - start);
            float tau = exports.Table.Thresholds[r];
            for (int p = 0; p < end - start; p++)
            {
                float expected = cpu.PostingScores.Span[start + p], actual = gpu.PostingScores.Span[gStart + p];
                float scale = Math.Max(1f, Math.Max(Math.Abs(tau), Math.Abs(f[cpu.PostingItems.Span[start + p]])));
                worst = Math.Max(worst, Math.Abs(expected - actual) / scale);
                Assert.True(Math.Abs(expected - actual) <= 1e-4f * scale, $"code {code} item {cpu.PostingItems.Span[start + p]}: {actual} vs {expected} (τ {tau})");
            }
            exact++;
        }
        output.WriteLine($"{exact} of {exports.Table.UsedCodes.Length} used codes compared (identical ids), {boundaryTies} boundary ties skipped; worst score difference {worst:E2} × max(1, |τ|, |f|); " +
            $"export {exports.Cpu.Seconds:F2} s (TorchSharp) vs {exports.Gpu.Seconds:F2} s (CPU accelerator)");
        Assert.True(exact >= 3 && boundaryTies <= exact / 4, $"{exact} codes compared exactly, {boundaryTies} skipped as boundary ties");
        Assert.True(Math.Abs(exports.Gpu.MeanThreshold - exports.Cpu.MeanThreshold) <= 1e-4 * Math.Max(1, Math.Abs(exports.Cpu.MeanThreshold)),
            $"mean τ {exports.Gpu.MeanThreshold} vs {exports.Cpu.MeanThreshold}");
    }

    public static void RefineSectionsReproduceTheTable(TwoExports exports)
    {
        using var file = IndexFile.Open(exports.Cpu.Path);
        Assert.Equal(exports.Model.Options.DotPath, file.InteractionDotPath);
        var mlp = RefineMlp.FromIndex(file);
        var dims = file.Dimensions;
        var books = file.Codebooks.Span;
        var tokens = file.ItemTokens.Span;
        int n = dims.ItemCount, sub = dims.SubvectorDim;
        for (int r = 0; r < exports.Table.UsedCodes.Length; r += 3)
        {
            // ẑ of the code: the concatenated codewords j_m = (c / K_c^m) mod K_c.
            int code = exports.Table.UsedCodes[r];
            var z = new float[dims.TokenDim];
            for (int m = 0, rest = code; m < dims.Subspaces; m++, rest /= dims.CodebookSize)
            {
                books.Slice((m * dims.CodebookSize + rest % dims.CodebookSize) * sub, sub).CopyTo(z.AsSpan(m * sub));
            }
            for (int i = 0; i < n; i += 17)
            {
                float expected = exports.Table.Scores[r * n + i];
                float actual = mlp.ScoreReference(z, tokens.Slice(i * mlp.ItemDim, mlp.ItemDim));
                Assert.True(Math.Abs(actual - expected) <= 1e-4f * Math.Max(1f, Math.Abs(expected)), $"code {code} item {i}: {actual} vs {expected}");
            }
        }
    }
}
