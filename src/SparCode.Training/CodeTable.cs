using SparCode.Data;
using SparCode.IndexBuild;
using static TorchSharp.torch;

namespace SparCode.Training;

/// <summary>
/// The dense scores f(ẑ_c, v_i) of every used code against every item, each code's threshold τ_c, and the
/// map from every code to the used code that serves it. Export writes it; evaluation scores from it.
/// </summary>
/// <remarks>
/// τ_c is the (keep+1)-th largest score of code c (just below the smallest when every item is kept), so the
/// kept entries are exactly those with f &gt; τ_c, storing f − τ_c &gt; 0: the index holds ReLU(f − τ_c).
/// A code no training token used has no list; it is served by the used code whose concatenated codewords
/// are nearest in squared L2 (the index's CodeRemap).
/// </remarks>
public sealed class CodeTable
{
    private CodeTable(int[] usedCodes, float[] scores, float[] thresholds, int[] remap, int items, Dictionary<int, int> rowOf, int keep)
    {
        UsedCodes = usedCodes;
        Scores = scores;
        Thresholds = thresholds;
        Remap = remap;
        ItemCount = items;
        _rowOf = rowOf;
        Keep = keep;
    }

    private readonly Dictionary<int, int> _rowOf;

    /// <summary>Codes used by training tokens, ascending.</summary>
    public int[] UsedCodes { get; }

    /// <summary>Row-major [used codes × items] dense scores f.</summary>
    public float[] Scores { get; }

    /// <summary>τ_c per used code.</summary>
    public float[] Thresholds { get; }

    /// <summary>For every code, the used code serving it.</summary>
    public int[] Remap { get; }

    /// <summary>Catalogue size.</summary>
    public int ItemCount { get; }

    /// <summary>Items kept per code (at most).</summary>
    public int Keep { get; }

    /// <summary>Seconds spent scoring.</summary>
    public double ScoringSeconds { get; private init; }

    /// <summary>Row of a used code in <see cref="Scores"/>, after remapping.</summary>
    public int Row(int code) => _rowOf[Remap[code]];

    /// <summary>
    /// Scores every used code against the catalogue with the TorchSharp pair scorer (<see cref="TorchPairScorer"/>) and
    /// sets each code's threshold by the index build's rule (<see cref="PostingBuilder.Threshold"/>), so the table's
    /// kept entries are exactly the lists <see cref="Exporter.Write"/> writes with that scorer.
    /// </summary>
    /// <exception cref="ArgumentException">The sparsity is invalid.</exception>
    public static CodeTable Build(TrainedModel model, SequenceDataset data, SparsityOptions sparsity, Action<string>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(sparsity);
        sparsity.Validate();
        log ??= _ => { };
        var net = model.SparCode;
        var o = model.Options;
        net.eval();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int[] usedCodes = FindUsedCodes(net, data, o, out int tokens);
        int n = data.ItemCount;
        int keep = sparsity.Keep(n);
        log($"export: {usedCodes.Length:N0} of {o.CodeCount:N0} codes used by {tokens:N0} training tokens; scoring {usedCodes.Length:N0} × {n:N0} pairs, keeping {keep:N0} per code");
        var scores = new float[(long)usedCodes.Length * n];
        var thresholds = new float[usedCodes.Length];
        var progress = ScoringProgress(log);
        using (var scorer = new TorchPairScorer(model))
        {
            scorer.ScoreAll(CodeVectors(net, usedCodes), (first, count, block) =>
            {
                block.CopyTo(scores.AsSpan(first * n, count * n));
                for (int r = 0; r < count; r++)
                {
                    thresholds[first + r] = PostingBuilder.Threshold(block.Slice(r * n, n), keep);
                }
                progress(first + count, usedCodes.Length);
            });
        }
        var remap = NearestUsed(net, usedCodes, o);
        var rowOf = new Dictionary<int, int>(usedCodes.Length);
        for (int r = 0; r < usedCodes.Length; r++)
        {
            rowOf[usedCodes[r]] = r;
        }
        return new CodeTable(usedCodes, scores, thresholds, remap, n, rowOf, keep) { ScoringSeconds = clock.Elapsed.TotalSeconds };
    }

    /// <summary>The posting lists this table's scores and thresholds give, by the index build's keep rule.</summary>
    public CodePostings Postings()
    {
        int n = ItemCount;
        var postings = new CodePostings(new int[UsedCodes.Length][], new float[UsedCodes.Length][], Thresholds);
        for (int r = 0; r < UsedCodes.Length; r++)
        {
            (postings.Items[r], postings.Scores[r]) = PostingBuilder.KeepAbove(Scores.AsSpan(r * n, n), Thresholds[r]);
        }
        return postings;
    }

    /// <summary>A progress callback (codes done, codes in all) that logs each eighth of the codes scored.</summary>
    internal static Action<int, int> ScoringProgress(Action<string> log)
    {
        int eighths = 0;
        return (done, all) =>
        {
            if (done * 8L / all > eighths)
            {
                eighths = (int)(done * 8L / all);
                log($"export: scored {done:N0}/{all:N0} codes");
            }
        };
    }

    /// <summary>The quantized token ẑ of each code, row-major codes × D.</summary>
    internal static float[] CodeVectors(SparCodeNet net, int[] codes)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        return net.CodeVectors(tensor(codes.Select(c => (long)c).ToArray())).contiguous().data<float>().ToArray();
    }

    /// <summary>Codes (before remapping) of the K_u tokens of each history, flattened [rows·K_u].</summary>
    internal static int[] EncodeCodes(SparCodeNet net, int[][] sequences, IReadOnlyList<(int User, int End)> rows, TrainOptions o)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var history = Batches.Histories(sequences, rows, o.HistoryLength);
        var z = net.Tokens(history).reshape(rows.Count * o.UserTokens, o.TokenDim);
        var (codes, _) = net.Quantize(z, update: false);
        return [.. codes.data<long>().ToArray().Select(c => (int)c)];
    }

    /// <summary>The codes of every training token (each next-item example's history, as in training), ascending.</summary>
    /// <param name="net">The trained network.</param>
    /// <param name="data">The dataset it was trained on.</param>
    /// <param name="o">Its options.</param>
    /// <param name="tokens">Receives how many training tokens were encoded.</param>
    internal static int[] FindUsedCodes(SparCodeNet net, SequenceDataset data, TrainOptions o, out int tokens)
    {
        var used = new SortedSet<int>();
        var examples = new List<(int User, int End)>();
        for (int u = 0; u < data.UserCount; u++)
        {
            for (int end = 1; end < data.Train(u).Length; end++)
            {
                examples.Add((u, end));
            }
        }
        foreach (var chunk in examples.Chunk(4096))
        {
            used.UnionWith(EncodeCodes(net, data.Sequences, chunk, o));
        }
        tokens = examples.Count * o.UserTokens;
        return [.. used];
    }

    /// <summary>For every code, the used code with the nearest concatenated codewords (squared L2); used codes map to themselves.</summary>
    internal static int[] NearestUsed(SparCodeNet net, int[] usedCodes, TrainOptions o)
    {
        int all = o.CodeCount;
        var remap = new int[all];
        using var scope = NewDisposeScope();
        var usedVectors = net.CodeVectors(tensor(usedCodes.Select(c => (long)c).ToArray()));
        var usedNorms = usedVectors.pow(2).sum(1L).unsqueeze(0);
        const int block = 8192;
        for (int s = 0; s < all; s += block)
        {
            using var inner = NewDisposeScope();
            int len = Math.Min(block, all - s);
            var vectors = net.CodeVectors(arange(s, s + len, dtype: ScalarType.Int64));
            var dist = vectors.pow(2).sum(1L, keepdim: true) - 2 * vectors.matmul(usedVectors.t()) + usedNorms;
            var nearest = dist.argmin(1L).data<long>().ToArray();
            for (int r = 0; r < len; r++)
            {
                remap[s + r] = usedCodes[nearest[r]];
            }
        }
        foreach (int c in usedCodes)
        {
            remap[c] = c;
        }
        return remap;
    }
}
