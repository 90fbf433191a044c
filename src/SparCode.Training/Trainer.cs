using System.Diagnostics;
using SparCode.Data;
using static TorchSharp.torch;

namespace SparCode.Training;

/// <summary>One epoch's record.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Seconds">Training time of the epoch (without validation).</param>
/// <param name="Loss">Mean training loss per batch.</param>
/// <param name="ValidationHr10">Validation HR@10 (full ranking, history excluded).</param>
/// <param name="ValidationHr50">Validation HR@50.</param>
/// <param name="ValidationNdcg10">Validation NDCG@10.</param>
/// <param name="Selection">The smoothed selection metric (<see cref="TrainOptions.SelectOn"/>, mean of this epoch and the one before).</param>
/// <param name="ValidationSeconds">Time of the validation pass.</param>
/// <param name="ResidentMiB">Resident memory of the process after the epoch (MiB).</param>
/// <param name="PeakResidentMiB">Peak resident memory of the process so far (MiB).</param>
/// <param name="LiveTensors">Native tensors alive on this thread after the epoch (flat from epoch to epoch when nothing leaks).</param>
/// <param name="CodebookUsage">SparCode: distinct codewords used per codebook in the epoch's last batch.</param>
/// <param name="Perplexity">SparCode: mean assignment perplexity over codebooks, last batch.</param>
public sealed record EpochRecord(int Epoch, double Seconds, double Loss, double ValidationHr10, double ValidationHr50, double ValidationNdcg10,
    double Selection, double ValidationSeconds, double ResidentMiB, double PeakResidentMiB, long LiveTensors, int[] CodebookUsage, double Perplexity);

/// <summary>Trains a model with sampled softmax over every next-item prediction, validates each epoch and keeps the best checkpoint.</summary>
public static class Trainer
{
    /// <summary>
    /// Trains on every next-item prediction in the users' training parts: each user's training items are cut
    /// into end-aligned windows of up to L predictions (<see cref="Batches.Windows"/>), each window is encoded
    /// once by the causal tower and every position predicts its next item against the batch's shared
    /// negatives. Validates on the second-to-last items each epoch (all users unless
    /// <see cref="TrainOptions.ValidationUsers"/> caps them), selects on <see cref="TrainOptions.SelectOn"/>
    /// averaged over the last two epochs, stops after <see cref="TrainOptions.Patience"/> epochs without
    /// improvement, and returns the best checkpoint (also saved to <paramref name="outFolder"/> when given).
    /// Native tensors are released per batch, so memory stays flat across epochs.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid, or the data has no training examples.</exception>
    public static (TrainedModel Model, IReadOnlyList<EpochRecord> Epochs, ModelManifest Manifest) Train(
        SequenceDataset data, TrainOptions o, string? outFolder, Action<string>? log = null, string dataPath = "synthetic",
        InteractionFormat format = InteractionFormat.Auto, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(o);
        if (o.Problem() is { } problem)
        {
            throw new ArgumentException($"Invalid training options: {problem}");
        }
        log ??= _ => { };
        if (o.Threads > 0)
        {
            set_num_threads(o.Threads);
        }
        manual_seed(o.Seed);
        var model = TrainedModel.Create(o, data.ItemCount);
        var net = model.Net;
        using var optimizer = optim.AdamW(net.parameters(), o.LearningRate, weight_decay: o.WeightDecay);
        // The mean tower reads the L items before each target, so its windows carry L − 1 items of context; the
        // attention tower's positions count from the window's first item, as SASRec's do.
        var windows = Batches.Windows(data, o.HistoryLength, o.Tower == TowerKind.Mean ? o.HistoryLength - 1 : 0);
        long targets = windows.Sum(w => (long)(w.End - w.FirstTarget));
        if (targets == 0)
        {
            throw new ArgumentException("The data has no training examples (every user needs at least two training items).");
        }
        var validationUsers = Enumerable.Range(0, data.UserCount).Where(data.Evaluated).ToList();
        if (o.ValidationUsers > 0 && validationUsers.Count > o.ValidationUsers)
        {
            var pick = new Random(o.Seed + 3);
            validationUsers = [.. validationUsers.OrderBy(_ => pick.Next()).Take(o.ValidationUsers).Order()];
        }
        var popularity = data.TrainPopularity();
        using var weights = tensor(popularity.Select(c => (float)(c + 1)).ToArray());
        using var targetShare = InBatchShare(popularity);
        using var generator = new Generator((ulong)o.Seed + 5);
        var shuffle = new Random(o.Seed);
        var epochs = new List<EpochRecord>();
        double best = double.NegativeInfinity, previous = double.NaN;
        int bestEpoch = 0, since = 0;
        Dictionary<string, Tensor>? bestState = null;
        int batches = (windows.Count + o.BatchSize - 1) / o.BatchSize;
        log($"training {o.Model} ({o.Tower} tower) on {targets:N0} next-item predictions in {windows.Count:N0} windows ({data.UserCount:N0} users, {data.ItemCount:N0} items), {batches} batches of {o.BatchSize} windows per epoch, {validationUsers.Count:N0} validation users");
        for (int epoch = 1; epoch <= o.Epochs; epoch++)
        {
            net.train();
            if (net is SparCodeNet sparCode)
            {
                sparCode.UseQuantized = epoch > o.QuantizerWarmupEpochs;
            }
            var order = windows.OrderBy(_ => shuffle.Next()).ToArray();
            var clock = Stopwatch.StartNew();
            double lossSum = 0;
            var lastReport = Stopwatch.StartNew();
            for (int b = 0; b < batches; b++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var pause = GcPause.Start();
                using var scope = NewDisposeScope();
                var (inputs, batchTargets) = Batches.Windowed(data.Sequences, order.AsSpan(b * o.BatchSize, Math.Min(o.BatchSize, order.Length - b * o.BatchSize)));
                var negatives = o.Sampling switch
                {
                    NegativeSampling.Full => arange(1L, data.ItemCount + 1L),
                    NegativeSampling.Uniform => randint(0, data.ItemCount, [o.Negatives], generator: generator) + 1L,
                    _ => multinomial(weights, o.Negatives, replacement: true, generator: generator) + 1L,
                };
                Tensor? correction = null;
                if (o.InBatchNegatives)
                {
                    (negatives, correction) = WithInBatch(negatives, batchTargets, targetShare, o.Negatives, data.ItemCount);
                }
                var (loss, _) = net.Loss(inputs, batchTargets, negatives, correction);
                optimizer.zero_grad();
                loss.backward();
                optimizer.step();
                lossSum += loss.item<float>();
                if (lastReport.Elapsed.TotalSeconds >= 5 || b == batches - 1)
                {
                    lastReport.Restart();
                    log($"epoch {epoch} batch {b + 1}/{batches} {(b + 1) / clock.Elapsed.TotalSeconds:F1} batch/s loss {lossSum / (b + 1):F4}{Usage(net)}");
                }
            }
            double seconds = clock.Elapsed.TotalSeconds;
            net.eval();
            var validationClock = Stopwatch.StartNew();
            var metrics = Evaluator.Validation(model, data, validationUsers);
            double validationSeconds = validationClock.Elapsed.TotalSeconds;
            double value = o.SelectOn == SelectionMetric.Hr50 ? metrics.HitRate(50) : metrics.Ndcg(10);
            // One noisy epoch should not pick the checkpoint: select on the mean of this epoch and the one before.
            double smoothed = double.IsNaN(previous) ? value : (previous + value) / 2;
            previous = value;
            var (usage, perplexity) = net is SparCodeNet s ? (s.LastUsage, s.LastPerplexity.Average()) : ([], 0);
            var memory = ProcessMemory.Read();
            epochs.Add(new EpochRecord(epoch, seconds, lossSum / batches, metrics.HitRate(10), metrics.HitRate(50), metrics.Ndcg(10), smoothed,
                validationSeconds, memory.ResidentMiB, memory.PeakResidentMiB, TorchSharp.DisposeScopeManager.Statistics.ThreadTotalLiveCount, usage, perplexity));
            bool warmingUp = net is SparCodeNet && epoch <= o.QuantizerWarmupEpochs;
            bool better = !warmingUp && smoothed > best;
            log($"epoch {epoch}: {seconds:F1} s, loss {lossSum / batches:F4}, validation HR@10 {metrics.HitRate(10):F4} HR@50 {metrics.HitRate(50):F4} NDCG@10 {metrics.Ndcg(10):F4} ({validationSeconds:F1} s), selection {smoothed:F4}{(better ? " (best)" : "")}, RSS {memory.ResidentMiB:F0} MiB (peak {memory.PeakResidentMiB:F0}){Usage(net)}");
            if (better)
            {
                best = smoothed;
                bestEpoch = epoch;
                since = 0;
                DisposeState(bestState);
                bestState = Snapshot(net);
                if (outFolder is not null)
                {
                    // Keep the best checkpoint on disk as it improves, so an interrupted run still leaves one.
                    model.Save(outFolder, new ModelManifest(o, data.ItemCount, dataPath, format, bestEpoch, metrics.HitRate(50)));
                }
            }
            else if (!warmingUp && ++since >= o.Patience)
            {
                log($"early stop: no better smoothed validation {o.SelectOn} for {o.Patience} epochs; keeping epoch {bestEpoch}");
                break;
            }
        }
        if (bestState is not null)
        {
            net.load_state_dict(bestState);
            DisposeState(bestState);
        }
        net.eval();
        double bestHr50 = bestEpoch > 0 ? epochs[bestEpoch - 1].ValidationHr50 : 0;
        var manifest = new ModelManifest(o, data.ItemCount, dataPath, format, bestEpoch, bestHr50);
        if (outFolder is not null)
        {
            model.Save(outFolder, manifest);
            log($"saved the best checkpoint (epoch {bestEpoch}) to {Path.Combine(outFolder, "model.bin")}");
        }
        return (model, epochs, manifest);
    }

    /// <summary>Each item's share of the training targets, by embedding row ([n + 1], row 0 = 0).</summary>
    private static Tensor InBatchShare(long[] popularity)
    {
        double total = Math.Max(1, popularity.Sum());
        return tensor([0f, .. popularity.Select(c => (float)(c / total))]);
    }

    /// <summary>
    /// Adds the batch's distinct targets to the uniform negatives and returns the logQ correction for all of
    /// them: the log of each item's probability of being among the negatives, uniform draws
    /// (<c>N/n</c>) plus being one of the batch's P targets (<c>1 − (1 − q_i)^P</c>, q = the item's share of the
    /// training targets). Sampled softmax with this correction estimates the full softmax (Yi et al., RecSys 2019).
    /// </summary>
    private static (Tensor Negatives, Tensor Correction) WithInBatch(Tensor uniform, Tensor targets, Tensor share, int draws, int itemCount)
    {
        using var none = (TorchSharp.Scalar)0L;
        var flat = targets.flatten();
        var where = flat.ne(none).nonzero().squeeze(1);
        var inBatch = flat.index_select(0, where).unique().Item1;
        long p = where.shape[0];
        var negatives = cat([uniform, inBatch], 0);
        var q = share.index_select(0, negatives);
        var included = 1f - (1f - q).pow(p);
        var correction = (included + (float)draws / itemCount).log();
        return (negatives, correction);
    }

    private static string Usage(RecommenderNet net) => net is SparCodeNet s && s.LastUsage.Length > 0
        ? $", codewords used {string.Join("/", s.LastUsage)} of {s.Codebooks.shape[1]}, perplexity {s.LastPerplexity.Average():F1}, re-seeded {s.Reseeded}"
        : "";

    /// <summary>A copy of every parameter and buffer; the intermediate detached views are disposed here, not left to the GC.</summary>
    private static Dictionary<string, Tensor> Snapshot(RecommenderNet net)
    {
        using var scope = NewDisposeScope();
        return net.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone().MoveToOuterDisposeScope());
    }

    private static void DisposeState(Dictionary<string, Tensor>? state)
    {
        if (state is null)
        {
            return;
        }
        foreach (var t in state.Values)
        {
            t.Dispose();
        }
    }
}

/// <summary>The process's resident memory, from <c>/proc/self/status</c> (zeros where it cannot be read).</summary>
/// <param name="ResidentMiB">VmRSS.</param>
/// <param name="PeakResidentMiB">VmHWM, the peak so far.</param>
public readonly record struct ProcessMemory(double ResidentMiB, double PeakResidentMiB)
{
    /// <summary>Reads the current values.</summary>
    public static ProcessMemory Read()
    {
        double rss = 0, peak = 0;
        try
        {
            foreach (string line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal)) rss = Kib(line) / 1024;
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal)) peak = Kib(line) / 1024;
            }
        }
        catch (IOException)
        {
        }
        return new ProcessMemory(rss, peak);
    }

    private static double Kib(string line) => double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
}
