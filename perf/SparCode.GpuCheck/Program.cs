using System.Diagnostics;
using System.Globalization;
using System.Text;
using SparCode.Engine;
using SparCode.Format;
using SparCode.Kernels.Gpu;
using SparCode.Synthetic;

// Usage: SparCode.GpuCheck [--cpu] [--out DIR]
// --cpu forces ILGPU's CPU accelerator with small sizes (what CI-class machines can run).
bool cpuOnly = args.Contains("--cpu");
string outDir = args.SkipWhile(a => a != "--out").Skip(1).FirstOrDefault() ?? "perf/results";
Directory.CreateDirectory(outDir);
var report = new StringBuilder();
void Line(string text)
{
    Console.WriteLine(text);
    report.AppendLine(text);
}
string F(double value, string format = "N1") => value.ToString(format, CultureInfo.InvariantCulture);

using var device = GpuDevice.Create(allowCuda: !cpuOnly);
Line($"# SparCode device check ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC)");
Line($"device: {device.Name} ({(device.IsCuda ? "CUDA" : "ILGPU CPU accelerator")}), group size {device.GroupSize}, warp {device.Accelerator.WarpSize}; host cores {Environment.ProcessorCount}");
int items = device.IsCuda ? 1_000_000 : 2_000;
int perList = device.IsCuda ? 10_000 : 60;
int queries = device.IsCuda ? 1024 : 64;
int[] batches = device.IsCuda ? [1, 64, 1024] : [1, 16, 64];
const int K = 50;

string path = Path.Combine(Path.GetTempPath(), $"sparcode-devicecheck-{items}-{perList}.sci");
var build = Stopwatch.StartNew();
IndexWriter.Write(path, SyntheticIndex.Create(new SyntheticOptions { ItemCount = items, MeanPostingsPerList = perList, CodebookSize = 64 }));
using var index = SparCodeIndex.Open(path);
Line($"index: {items:N0} items, {index.File.PostingCount:N0} postings, K_u {index.Dimensions.UserTokens}, {index.Dimensions.CodeCount:N0} codes (synthesized in {F(build.Elapsed.TotalSeconds)} s)");

var histories = SyntheticIndex.Histories(items, queries, 20, 11);
var offsets = new int[queries + 1];
for (int q = 0; q < queries; q++)
{
    offsets[q + 1] = offsets[q] + histories[q].Length;
}
long[] flat = [.. histories.SelectMany(h => h)];
using var gpu = new GpuSearcher(index, device, maxBatch: batches.Max());

// 1. Differential checks against the CPU engine: codes and search results must be identical.
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

// 4. Index build: every code × every item through the interaction MLP (D = 64, items 4×64, 256 wide; 32 on the CPU accelerator).
Line("");
var random = new Random(5);
float[] Fill(int n, float scale) => [.. Enumerable.Range(0, n).Select(_ => (random.NextSingle() * 2 - 1) * scale)];
const int tokenDim = 64, itemDim = 256;
int width = device.IsCuda ? 256 : 32;
var mlp = new InteractionMlp(tokenDim, itemDim, Fill(width * tokenDim, 0.1f), Fill(width * itemDim, 0.06f), Fill(width, 0.01f),
    [(Fill(width * width, 0.06f), Fill(width, 0.01f)), (Fill(width * width, 0.06f), Fill(width, 0.01f))], Fill(width, 0.06f), 0f);
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
Line($"index build: {codes:N0} codes × {buildItems:N0} items = {pairs:N0} pairs in {F(seconds, "N2")} s: {F(pairs / seconds, "N0")} pairs/s, {F(flops / seconds / 1e12, "N2")} TFLOP/s (H200 fp32 peak ≈ 67 TFLOP/s)");

bool ok = codeMismatches == 0 && rowMismatches == 0 && worst <= 1e-4;
Line(ok ? "RESULT: PASS" : "RESULT: FAIL");
File.WriteAllText(Path.Combine(outDir, device.IsCuda ? "device-check-cuda.md" : "device-check-cpu-accelerator.md"), report.ToString());
return ok ? 0 : 1;
