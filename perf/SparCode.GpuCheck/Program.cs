using System.Diagnostics;
using System.Globalization;
using SparCode.Engine;
using SparCode.Engine.Gpu;
using SparCode.Format;
using SparCode.IndexBuild;
using SparCode.Kernels.Gpu;
using SparCode.Synthetic;

// Usage: SparCode.GpuCheck [--cpu] [--out DIR] [--budget SECONDS]
// Without --cpu it requires a CUDA device (no silent fallback); --cpu forces ILGPU's CPU accelerator with small
// sizes (what CI-class machines can run). The report is appended to DIR/device-check-*.md line by line, so a crash
// or a kill leaves every finished stage there; a stage that would start after --budget seconds (default 400 on CUDA,
// 1200 with --cpu, which only checks correctness on a possibly shared machine) is skipped and the result reads INCOMPLETE.
bool cpuOnly = args.Contains("--cpu");
string outDir = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault() ?? "perf/results";
double budget = double.Parse(args.SkipWhile(a => a != "--budget").Skip(1).FirstOrDefault() ?? (cpuOnly ? "1200" : "400"), CultureInfo.InvariantCulture);
Directory.CreateDirectory(outDir);
string reportPath = Path.Combine(outDir, cpuOnly ? "device-check-cpu-accelerator.md" : "device-check-cuda.md");
File.WriteAllText(reportPath, "");
var clock = Stopwatch.StartNew();
void Line(string text)
{
    Console.WriteLine(text);
    File.AppendAllText(reportPath, text + Environment.NewLine);
}
string F(double value, string format = "N1") => value.ToString(format, CultureInfo.InvariantCulture);
var skipped = new List<string>();
bool Stage(string name)
{
    if (clock.Elapsed.TotalSeconds > budget)
    {
        skipped.Add(name);
        Line($"skipped: {name} (started past the {F(budget, "N0")} s budget)");
        return false;
    }
    Line($"<!-- {name}: starts at {F(clock.Elapsed.TotalSeconds)} s -->");
    return true;
}
string stage = "device";
try
{
    return Run();
}
catch (Exception e)
{
    Line($"ERROR in stage '{stage}' after {F(clock.Elapsed.TotalSeconds)} s: {e.GetType().Name}: {e.Message}");
    Line("```");
    Line(e.ToString());
    Line("```");
    Line("RESULT: FAIL");
    return 2;
}

int Run()
{
    using var device = GpuDevice.Create(cpuOnly ? DeviceMode.CpuAccelerator : DeviceMode.RequireCuda);
    Line($"# SparCode device check ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
    Line($"device: {device.Name} ({(device.IsCuda ? "CUDA" : "ILGPU CPU accelerator")}), group size {device.GroupSize}, warp {device.Accelerator.WarpSize}; host cores {Environment.ProcessorCount}");
    int items = device.IsCuda ? 1_000_000 : 2_000;
    int perList = device.IsCuda ? 10_000 : 60;
    int queries = device.IsCuda ? 1024 : 64;
    int[] batches = device.IsCuda ? [1, 64, 1024] : [1, 16, 64];
    const int K = 50;

    stage = "index";
    string path = Path.Combine(Path.GetTempPath(), $"sparcode-devicecheck-{items}-{perList}.sci");
    var build = Stopwatch.StartNew();
    IndexWriter.Write(path, SyntheticIndex.Create(new SyntheticOptions { ItemCount = items, MeanPostingsPerList = perList, CodebookSize = 64 }));
    using var index = SparCodeIndex.Open(path);
    Line($"index: {items:N0} items, {index.Description.PostingCount:N0} postings, K_u {index.Dimensions.UserTokens}, {index.Dimensions.CodeCount:N0} codes (synthesized in {F(build.Elapsed.TotalSeconds)} s)");

    var histories = SyntheticIndex.Histories(items, queries, 20, 11);
    var offsets = new int[queries + 1];
    for (int q = 0; q < queries; q++)
    {
        offsets[q + 1] = offsets[q] + histories[q].Length;
    }
    long[] flat = [.. histories.SelectMany(h => h)];
    using var gpu = new GpuSearcher(index, device, maxBatch: batches.Max());

    // 1. Differential checks against the CPU engine: codes and search results must be identical.
    stage = "search check";
    Stage(stage);
    var cpuCodes = new int[queries * index.Dimensions.UserTokens];
    var cpuSearcher = index.CreateSearcher();
    for (int q = 0; q < queries; q++)
    {
        cpuSearcher.Encode(histories[q], cpuCodes.AsSpan(q * index.Dimensions.UserTokens));
    }
    var gpuCodes = new int[cpuCodes.Length];
    gpu.Encode(flat, offsets, gpuCodes);
    int codeMismatches = cpuCodes.Zip(gpuCodes).Count(p => p.First != p.Second);
    var (cpuIds, cpuScores) = (new long[queries * K], new float[queries * K]);
    var (gpuIds, gpuScores) = (new long[queries * K], new float[queries * K]);
    index.SearchBatch(flat, offsets, K, cpuIds, cpuScores, new int[queries]);
    gpu.SearchBatch(flat, offsets, K, gpuIds, gpuScores, new int[queries]);
    int rowMismatches = Enumerable.Range(0, queries).Count(q =>
        !cpuIds.AsSpan(q * K, K).SequenceEqual(gpuIds.AsSpan(q * K, K)) || !cpuScores.AsSpan(q * K, K).SequenceEqual(gpuScores.AsSpan(q * K, K)));
    Line($"check: codes differing {codeMismatches} of {cpuCodes.Length}; result rows differing {rowMismatches} of {queries}");

    stage = "search timing";
    Stage(stage);
    // 2. Code lookup throughput (query tower + quantization on the device).
    double Time(Action action, int repeats)
    {
        action();
        var watch = Stopwatch.StartNew();
        for (int r = 0; r < repeats; r++)
        {
            action();
        }
        return watch.Elapsed.TotalSeconds / repeats;
    }
    double encode = Time(() => gpu.Encode(flat, offsets, gpuCodes), 3);
    Line($"code lookup: {F(queries / encode, "N0")} users/s (batch {queries})");

    // 3. Batched search QPS, device vs the CPU engine on all cores, same queries.
    Line("");
    Line("| batch | device QPS | CPU engine QPS | ratio |");
    Line("|---|---|---|---|");
    foreach (int batch in batches)
    {
        int count = Math.Min(batch, queries);
        var subOffsets = offsets[..(count + 1)];
        var ids = new long[count * K];
        var scores = new float[count * K];
        var counts = new int[count];
        double device_s = Time(() => gpu.SearchBatch(flat, subOffsets, K, ids, scores, counts), 3);
        double cpu_s = Time(() => index.SearchBatch(flat, subOffsets, K, ids, scores, counts), 3);
        Line($"| {count} | {F(count / device_s, "N0")} | {F(count / cpu_s, "N0")} | {F(cpu_s / device_s, "N2")} |");
    }

    bool ok = codeMismatches == 0 && rowMismatches == 0;
    var random = new Random(5);
    float[] Fill(int n, float scale) => [.. Enumerable.Range(0, n).Select(_ => (random.NextSingle() * 2 - 1) * scale)];
    stage = "index build scoring";
    if (Stage(stage))
    {
        // 4. Index build scoring: every code × every item through the interaction MLP (D = 64, items 4×64, 256 wide; 32 on the CPU accelerator),
        //    with the dot path (f += ⟨z, v[0..D)⟩, the demo's setting); refine below uses the plain MLP.
        Line("");
        const int tokenDim = 64, itemDim = 256;
        int width = device.IsCuda ? 256 : 32;
        var mlp = new InteractionMlp(tokenDim, itemDim, Fill(width * tokenDim, 0.1f), Fill(width * itemDim, 0.06f), Fill(width, 0.01f),
            [(Fill(width * width, 0.06f), Fill(width, 0.01f)), (Fill(width * width, 0.06f), Fill(width, 0.01f))], Fill(width, 0.06f), 0f)
        { DotPath = true };
        int codes = device.IsCuda ? 4096 : 4;
        int buildItems = device.IsCuda ? 100_000 : 32;
        using var scorer = new GpuInteractionScorer(device, mlp, maxPairs: device.IsCuda ? 1 << 22 : 1 << 10);
        var tokens = Fill(codes * tokenDim, 1f);
        var itemVectors = Fill(buildItems * itemDim, 1f);
        double worst = 0;
        scorer.ScoreAll(tokens[..tokenDim], itemVectors, (_, _, block) =>
        {
            for (int i = 0; i < Math.Min(block.Length, 256); i++)
            {
                float expected = mlp.ScoreReference(tokens.AsSpan(0, tokenDim), itemVectors.AsSpan(i * itemDim, itemDim));
                worst = Math.Max(worst, Math.Abs(block[i] - expected) / Math.Max(1, Math.Abs(expected)));
            }
        });
        Line($"check: interaction scores vs reference MLP, worst relative error {worst:E2} (tolerance 1e-4)");
        var watch = Stopwatch.StartNew();
        scorer.ScoreAll(tokens, itemVectors, (_, _, _) => { });
        double seconds = watch.Elapsed.TotalSeconds;
        double pairs = (double)codes * buildItems;
        // Per pair: the pair layer is an add; two 256×256 layers and the output dot dominate.
        double flops = pairs * 2.0 * ((double)width * width * 2 + width);
        ok &= worst <= 1e-4;
        Line($"index build: {codes:N0} codes × {buildItems:N0} items = {pairs:N0} pairs in {F(seconds, "N2")} s: {F(pairs / seconds, "N0")} pairs/s, {F(flops / seconds / 1e12, "N2")} TFLOP/s (H200 fp32 peak ≈ 67 TFLOP/s)");

        stage = "export";
        Line("");
        Stage(stage);
        // 5. GPU export: the index-build rule (τ_c = (keep+1)-th largest f, keep f > τ_c storing f − τ_c) on the device
        //    against the plain CPU reference of the same rule, then the whole build (scoring + thresholds) timed.
        int keep = (int)Math.Ceiling(0.05 * buildItems);
        int checkCodes = device.IsCuda ? 1 : codes; // the reference is scalar double loops: ~20 s per 100k-item code at width 256
        using var pairScorer = new GpuPairScorer(device, mlp, itemVectors, maxPairs: device.IsCuda ? 1 << 22 : 1 << 10);
        using var referenceScorer = new ReferencePairScorer(mlp, itemVectors);
        var devicePostings = PostingBuilder.Build(pairScorer, tokens[..(checkCodes * tokenDim)], keep);
        var watchReference = Stopwatch.StartNew();
        var referencePostings = PostingBuilder.Build(referenceScorer, tokens[..(checkCodes * tokenDim)], keep);
        double referenceSeconds = watchReference.Elapsed.TotalSeconds;
        int exportMismatches = Enumerable.Range(0, checkCodes).Count(c => !devicePostings.Items[c].AsSpan().SequenceEqual(referencePostings.Items[c]));
        double exportWorst = 0;
        for (int c = 0; c < checkCodes; c++)
        {
            float scale = Math.Max(1f, Math.Abs(referencePostings.Thresholds[c]));
            exportWorst = Math.Max(exportWorst, Math.Abs(devicePostings.Thresholds[c] - referencePostings.Thresholds[c]) / scale);
            for (int p = 0; p < Math.Min(devicePostings.Scores[c].Length, referencePostings.Scores[c].Length); p++)
            {
                exportWorst = Math.Max(exportWorst, Math.Abs(devicePostings.Scores[c][p] - referencePostings.Scores[c][p]) / scale);
            }
        }
        Line($"check: export postings vs CPU reference rule, {checkCodes} code(s) × {buildItems:N0} items keeping {keep:N0}: lists differing {exportMismatches} of {checkCodes}, worst τ/score difference {exportWorst:E2} × max(1, |τ|) (tolerance 1e-4)");
        watch.Restart();
        var built = PostingBuilder.Build(pairScorer, tokens, keep);
        double buildSeconds = watch.Elapsed.TotalSeconds;
        ok &= exportMismatches == 0 && exportWorst <= 1e-4;
        Line($"export build (scoring + thresholds + lists): {codes:N0} codes × {buildItems:N0} items in {F(buildSeconds, "N2")} s: {F(pairs / buildSeconds, "N0")} pairs/s, {built.Items.Sum(l => (long)l.Length):N0} postings; " +
            $"CPU reference {F(checkCodes * (double)buildItems / referenceSeconds, "N0")} pairs/s (1 thread, double)");

    }

    stage = "refine";
    if (Stage(stage))
    {
        // 6. Refine: each query's top-M served candidates re-scored with its unquantized tokens through an interaction MLP
        //    (random weights of the export's shape; item tokens of size K_i·D), on the device and by the CPU reference.
        Line("");
        var dims = index.Dimensions;
        int refineItemDim = device.IsCuda ? 256 : 16;
        int refineWidth = device.IsCuda ? 256 : 32;
        int refineQueries = device.IsCuda ? 1024 : 4;
        int candidatesPerQuery = device.IsCuda ? 1000 : 30;
        int checkQueries = device.IsCuda ? 4 : refineQueries;
        var refineMlp = new InteractionMlp(dims.TokenDim, refineItemDim, Fill(refineWidth * dims.TokenDim, 0.1f), Fill(refineWidth * refineItemDim, 0.1f), Fill(refineWidth, 0.01f),
            [(Fill(refineWidth * refineWidth, 0.06f), Fill(refineWidth, 0.01f)), (Fill(refineWidth * refineWidth, 0.06f), Fill(refineWidth, 0.01f))], Fill(refineWidth, 0.06f), 0f);
        var refineItems = Fill(items * refineItemDim, 1f);
        using var file = IndexFile.Open(path);
        var tower = QueryTower.FromIndex(file);
        var userTokens = new float[refineQueries * dims.UserTokens * dims.TokenDim];
        var (scratchA, scratchB) = (new float[tower.ScratchLength], new float[tower.ScratchLength]);
        for (int q = 0; q < refineQueries; q++)
        {
            int[] internalIds = [.. histories[q].Select(id => index.TryGetInternalId(id, out int i) ? i : -1).Where(i => i >= 0)];
            tower.Tokens(internalIds, userTokens.AsSpan(q * dims.UserTokens * dims.TokenDim, dims.UserTokens * dims.TokenDim), scratchA, scratchB);
        }
        var servedIds = new long[refineQueries * candidatesPerQuery];
        var servedCounts = new int[refineQueries];
        index.SearchBatch(flat, offsets[..(refineQueries + 1)], candidatesPerQuery, servedIds, new float[servedIds.Length], servedCounts);
        var candidateOffsets = new int[refineQueries + 1];
        var candidateList = new List<int>();
        for (int q = 0; q < refineQueries; q++)
        {
            for (int r = 0; r < servedCounts[q]; r++)
            {
                candidateList.Add(index.TryGetInternalId(servedIds[q * candidatesPerQuery + r], out int i) ? i : throw new InvalidOperationException("served an unknown id"));
            }
            candidateOffsets[q + 1] = candidateList.Count;
        }
        int[] candidateArray = [.. candidateList];
        const int refineK = 50;
        using var refiner = new GpuRefiner(device, refineMlp, refineItems, maxPairs: device.IsCuda ? 1 << 20 : 1 << 10);
        var (refinedIds, refinedScores, refinedCounts) = (new int[refineQueries * refineK], new float[refineQueries * refineK], new int[refineQueries]);
        refiner.Refine(userTokens, dims.UserTokens, candidateOffsets, candidateArray, refineK, refinedIds, refinedScores, refinedCounts);
        var (refIds, refScores, refCounts) = (new int[checkQueries * refineK], new float[checkQueries * refineK], new int[checkQueries]);
        int checkCandidates = candidateOffsets[checkQueries];
        var watchReference = Stopwatch.StartNew();
        RefineReference.Refine(refineMlp, refineItems, userTokens.AsSpan(0, checkQueries * dims.UserTokens * dims.TokenDim), dims.UserTokens, candidateOffsets.AsSpan(0, checkQueries + 1),
            candidateArray.AsSpan(0, checkCandidates), refineK, refIds, refScores, refCounts);
        double refineReferenceSeconds = watchReference.Elapsed.TotalSeconds;
        int refineMismatches = Enumerable.Range(0, checkQueries).Count(q => refCounts[q] != refinedCounts[q] || !refIds.AsSpan(q * refineK, refineK).SequenceEqual(refinedIds.AsSpan(q * refineK, refineK)));
        double refineWorst = Enumerable.Range(0, checkQueries * refineK).Max(r => Math.Abs(refScores[r] - refinedScores[r]) / Math.Max(1.0, Math.Abs(refScores[r])));
        ok &= refineMismatches == 0 && refineWorst <= 1e-4;
        Line($"check: refine vs CPU reference, {checkQueries} queries × up to {candidatesPerQuery} candidates × {dims.UserTokens} tokens: rows differing {refineMismatches} of {checkQueries}, worst relative score error {refineWorst:E2} (tolerance 1e-4)");
        double refineSeconds = Time(() => refiner.Refine(userTokens, dims.UserTokens, candidateOffsets, candidateArray, refineK, refinedIds, refinedScores, refinedCounts), device.IsCuda ? 3 : 1);
        double refinePairs = (double)candidateArray.Length * dims.UserTokens;
        double refineFlops = refinePairs * 2.0 * ((double)refineWidth * refineWidth * 2 + refineWidth) + (double)refineQueries * dims.UserTokens * 2.0 * refineWidth * dims.TokenDim;
        Line($"refine: {refineQueries:N0} queries × {candidatesPerQuery:N0} candidates ({refinePairs:N0} token-item pairs, MLP width {refineWidth}) in {F(refineSeconds * 1e3, "N1")} ms: " +
            $"{F(refineQueries / refineSeconds, "N1")} queries/s, {F(refinePairs / refineSeconds, "N0")} pairs/s, {F(refineFlops / refineSeconds / 1e12, "N2")} TFLOP/s; " +
            $"CPU reference {F(checkQueries / refineReferenceSeconds, "N1")} queries/s (1 thread, double)");

    }

    Line($"total: {F(clock.Elapsed.TotalSeconds)} s");
    Line(!ok ? "RESULT: FAIL" : skipped.Count > 0 ? $"RESULT: INCOMPLETE (checks that ran passed; skipped: {string.Join(", ", skipped)})" : "RESULT: PASS");
    return !ok ? 1 : skipped.Count > 0 ? 3 : 0;
}
