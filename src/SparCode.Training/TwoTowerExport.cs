using SparCode.Data;
using static TorchSharp.torch;

namespace SparCode.Training;

/// <summary>
/// What a benchmark needs from a trained two-tower model on its test split: the item tower's output for
/// every item, the user tower's output for every test user, and those users' histories and held-out items.
/// </summary>
/// <param name="Dimension">Embedding size d.</param>
/// <param name="ItemIds">External id of each item row, in the model's internal order.</param>
/// <param name="Items">Item vectors, n_items × d, row-major (the model's item table without its padding row; unit length when trained with normalisation).</param>
/// <param name="Users">Test users' query vectors, n_users × d, row-major, in <see cref="Evaluator.TestUsers"/> order.</param>
/// <param name="Histories">Each test user's history as the evaluation uses it (every item before the test item, oldest first), external ids.</param>
/// <param name="HeldOut">Each test user's held-out test item, external id.</param>
public sealed record TwoTowerBenchInput(int Dimension, long[] ItemIds, float[] Items, float[] Users, long[][] Histories, long[] HeldOut);

/// <summary>Extracts <see cref="TwoTowerBenchInput"/> from a trained two-tower model, on the same test split as <see cref="Evaluator"/>.</summary>
public static class TwoTowerExport
{
    /// <summary>
    /// Computes the item table and every test user's query vector. The user vector is the user tower's
    /// output for the last L items before the test item, exactly as <see cref="Evaluator.Exact"/> scores
    /// the "two-tower exact" row, so an exact inner-product top-k over these vectors with the history
    /// excluded reproduces that row.
    /// </summary>
    /// <param name="model">A trained two-tower model.</param>
    /// <param name="data">The data it was trained on.</param>
    /// <exception cref="ArgumentException">The model is a SparCode model, or its catalogue size differs from the data's.</exception>
    public static TwoTowerBenchInput Extract(TrainedModel model, SequenceDataset data)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        if (model.Net is not TwoTowerNet net)
        {
            throw new ArgumentException("This is a SparCode model; the two-tower export needs a model trained with --model two-tower.", nameof(model));
        }
        if (model.ItemCount != data.ItemCount)
        {
            throw new ArgumentException($"The model was trained on {model.ItemCount:N0} items but the data has {data.ItemCount:N0}; give the data it was trained on.", nameof(data));
        }
        int d = model.Options.EmbeddingDim;
        int n = data.ItemCount;
        var users = Evaluator.TestUsers(data);
        using var noGrad = no_grad();
        float[] items;
        using (var vectors = net.ItemVectors())
        using (var contiguous = vectors.contiguous())
        {
            items = contiguous.data<float>().ToArray();
        }
        var userVectors = new float[(long)users.Length * d];
        int done = 0;
        foreach (var chunk in users.Chunk(256))
        {
            using var scope = NewDisposeScope();
            var rows = chunk.Select(u => (u, data.Sequences[u].Length - 1)).ToArray();
            var vectors = net.User(Batches.Histories(data.Sequences, rows, model.Options.HistoryLength)).contiguous().data<float>().ToArray();
            vectors.CopyTo(userVectors, (long)done * d);
            done += chunk.Length;
        }
        var histories = new long[users.Length][];
        var heldOut = new long[users.Length];
        for (int q = 0; q < users.Length; q++)
        {
            var seq = data.Sequences[users[q]];
            histories[q] = [.. seq.AsSpan(0, seq.Length - 1).ToArray().Select(i => data.ItemIds[i])];
            heldOut[q] = data.ItemIds[seq[^1]];
        }
        return new TwoTowerBenchInput(d, [.. data.ItemIds], items, userVectors, histories, heldOut);
    }
}
