using System.Diagnostics;
using SparCode.Data;
using static TorchSharp.torch;

namespace SparCode.Training;

/// <summary>One epoch's record.</summary>
/// <param name="Epoch">1-based epoch.</param>
/// <param name="Seconds">Training time of the epoch (without validation).</param>
/// <param name="Loss">Mean training loss.</param>
/// <param name="ValidationHr50">Validation HR@50 (full ranking, history excluded).</param>
/// <param name="CodebookUsage">SparCode: distinct codewords used per codebook in the epoch's last batch.</param>
/// <param name="Perplexity">SparCode: mean assignment perplexity over codebooks, last batch.</param>
public sealed record EpochRecord(int Epoch, double Seconds, double Loss, double ValidationHr50, int[] CodebookUsage, double Perplexity);

/// <summary>Trains a model with sampled softmax, validates each epoch and keeps the best checkpoint.</summary>
public static class Trainer
{
    /// <summary>
    /// Trains on every next-item prediction in the users' training parts (history = the items before
    /// it), validates HR@50 on the second-to-last items each epoch, stops after
    /// <see cref="TrainOptions.Patience"/> epochs without improvement, and returns the best checkpoint
    /// (also saved to <paramref name="outFolder"/> when given).
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
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
        using var optimizer = optim.Adam(net.parameters(), o.LearningRate);
        var examples = new List<(int User, int End)>();
        for (int u = 0; u < data.UserCount; u++)
        {
            int train = data.Train(u).Length;
            for (int end = 1; end < train; end++)
            {
                examples.Add((u, end));
            }
        }
        if (examples.Count == 0)
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
        using var generator = new Generator((ulong)o.Seed + 5);
        var shuffle = new Random(o.Seed);
        var epochs = new List<EpochRecord>();
        double best = -1;
        int bestEpoch = 0, since = 0;
        Dictionary<string, Tensor>? bestState = null;
        int batches = (examples.Count + o.BatchSize - 1) / o.BatchSize;
        log($"training {o.Model} on {examples.Count:N0} examples ({data.UserCount:N0} users, {data.ItemCount:N0} items), {batches} batches of {o.BatchSize} per epoch, {validationUsers.Count:N0} validation users");
        for (int epoch = 1; epoch <= o.Epochs; epoch++)
        {
            net.train();
            if (net is SparCodeNet sparCode)
            {
                sparCode.UseQuantized = epoch > o.QuantizerWarmupEpochs;
            }
            var order = examples.OrderBy(_ => shuffle.Next()).ToArray();
            var clock = Stopwatch.StartNew();
            double lossSum = 0;
            var lastReport = Stopwatch.StartNew();
            for (int b = 0; b < batches; b++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                using var scope = NewDisposeScope();
                var rows = order.AsSpan(b * o.BatchSize, Math.Min(o.BatchSize, order.Length - b * o.BatchSize)).ToArray();
                var history = Batches.Histories(data.Sequences, rows, o.HistoryLength);
                var positives = tensor(rows.Select(r => data.Sequences[r.User][r.End] + 1L).ToArray());
                var negatives = (o.Sampling == NegativeSampling.Uniform
                    ? randint(0, data.ItemCount, [o.Negatives], generator: generator)
                    : multinomial(weights, o.Negatives, replacement: true, generator: generator)) + 1L;
                var (loss, _) = net.Loss(history, positives, negatives);
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
            double hr = Evaluator.ValidationHitRate(model, data, validationUsers, 50);
            var (usage, perplexity) = net is SparCodeNet s ? (s.LastUsage, s.LastPerplexity.Average()) : ([], 0);
            epochs.Add(new EpochRecord(epoch, seconds, lossSum / batches, hr, usage, perplexity));
            bool better = hr > best;
            log($"epoch {epoch}: {seconds:F1} s, loss {lossSum / batches:F4}, validation HR@50 {hr:F4}{(better ? " (best)" : "")}{Usage(net)}");
            if (better)
            {
                best = hr;
                bestEpoch = epoch;
                since = 0;
                DisposeState(bestState);
                bestState = net.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
                if (outFolder is not null)
                {
                    // Keep the best checkpoint on disk as it improves, so an interrupted run still leaves one.
                    model.Save(outFolder, new ModelManifest(o, data.ItemCount, dataPath, format, bestEpoch, best));
                }
            }
            else if (!(net is SparCodeNet && epoch <= o.QuantizerWarmupEpochs) && ++since >= o.Patience)
            {
                log($"early stop: no better validation HR@50 for {o.Patience} epochs; keeping epoch {bestEpoch}");
                break;
            }
        }
        if (bestState is not null)
        {
            net.load_state_dict(bestState);
            DisposeState(bestState);
        }
        net.eval();
        var manifest = new ModelManifest(o, data.ItemCount, dataPath, format, bestEpoch, best);
        if (outFolder is not null)
        {
            model.Save(outFolder, manifest);
            log($"saved the best checkpoint (epoch {bestEpoch}) to {Path.Combine(outFolder, "model.bin")}");
        }
        return (model, epochs, manifest);
    }

    private static string Usage(RecommenderNet net) => net is SparCodeNet s && s.LastUsage.Length > 0
        ? $", codewords used {string.Join("/", s.LastUsage)} of {s.Codebooks.shape[1]}, perplexity {s.LastPerplexity.Average():F1}, re-seeded {s.Reseeded}"
        : "";

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
