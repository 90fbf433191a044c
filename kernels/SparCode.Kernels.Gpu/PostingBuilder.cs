namespace SparCode.Kernels.Gpu;

/// <summary>Each code's posting list before writing: kept items ascending, their scores f − τ_c, and τ_c.</summary>
/// <param name="Items">Per code row: the items with f &gt; τ_c, ascending.</param>
/// <param name="Scores">Per code row: f − τ_c (&gt; 0) of those items.</param>
/// <param name="Thresholds">τ_c per code row.</param>
public sealed record CodePostings(int[][] Items, float[][] Scores, float[] Thresholds);

/// <summary>
/// The index-build rule of the export, on top of the interaction scorer: every code token × every item through
/// f, then per code τ_c = the (keep+1)-th largest f (ties counted, as <c>topk</c>; just below the smallest when every
/// item is kept) and a list of the items with f &gt; τ_c storing f − τ_c, so the index holds exactly ReLU(f − τ_c)
/// with at most keep entries (density ρ and cap N_max both act through keep).
/// </summary>
public static class PostingBuilder
{
    /// <summary>
    /// Scores on the device, code block by code block (the code × item matrix is never held), thresholds on the host.
    /// </summary>
    /// <param name="scorer">The interaction scorer; its MaxPairs must hold one code's row (n_items).</param>
    /// <param name="codeTokens">Row-major codes × D: the quantized token ẑ_c of each code.</param>
    /// <param name="itemTokens">Row-major n_items × ItemDim.</param>
    /// <param name="keep">Items kept per code, 1..n_items.</param>
    /// <param name="progress">Receives (codes done, codes in all) after each block.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="keep"/> is outside 1..n_items.</exception>
    public static CodePostings Build(GpuInteractionScorer scorer, ReadOnlySpan<float> codeTokens, ReadOnlySpan<float> itemTokens, int keep, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(scorer);
        int n = itemTokens.Length / scorer.Mlp.ItemDim;
        int codes = codeTokens.Length / scorer.Mlp.TokenDim;
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(keep, n);
        var result = new CodePostings(new int[codes][], new float[codes][], new float[codes]);
        int done = 0;
        scorer.ScoreAll(codeTokens, itemTokens, (first, count, block) =>
        {
            for (int r = 0; r < count; r++)
            {
                Apply(block.Slice(r * n, n), keep, result, first + r);
            }
            done += count;
            progress?.Invoke(done, codes);
        });
        return result;
    }

    /// <summary>The plain CPU reference of <see cref="Build"/>: f by <see cref="InteractionMlp.ScoreReference"/> (double inside), same rule.</summary>
    public static CodePostings BuildReference(InteractionMlp mlp, ReadOnlySpan<float> codeTokens, ReadOnlySpan<float> itemTokens, int keep)
    {
        ArgumentNullException.ThrowIfNull(mlp);
        int n = itemTokens.Length / mlp.ItemDim;
        int codes = codeTokens.Length / mlp.TokenDim;
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(keep, n);
        var result = new CodePostings(new int[codes][], new float[codes][], new float[codes]);
        var f = new float[n];
        for (int c = 0; c < codes; c++)
        {
            for (int i = 0; i < n; i++)
            {
                f[i] = mlp.ScoreReference(codeTokens.Slice(c * mlp.TokenDim, mlp.TokenDim), itemTokens.Slice(i * mlp.ItemDim, mlp.ItemDim));
            }
            Apply(f, keep, result, c);
        }
        return result;
    }

    private static void Apply(ReadOnlySpan<float> f, int keep, CodePostings result, int row)
    {
        float tau = Threshold(f, keep);
        result.Thresholds[row] = tau;
        (result.Items[row], result.Scores[row]) = KeepAbove(f, tau);
    }

    /// <summary>
    /// τ of one code's row: the (keep+1)-th largest score, ties counted (what <c>topk(keep + 1)</c>'s last value is),
    /// or just below the smallest when every item is kept.
    /// </summary>
    public static float Threshold(ReadOnlySpan<float> f, int keep)
    {
        if (keep >= f.Length)
        {
            float low = float.PositiveInfinity;
            foreach (float x in f)
            {
                low = MathF.Min(low, x);
            }
            return MathF.BitDecrement(low);
        }
        // A min-heap of the keep + 1 largest values seen; its root is the (keep+1)-th largest.
        var heap = new PriorityQueue<float, float>(keep + 1);
        foreach (float x in f)
        {
            if (heap.Count <= keep)
            {
                heap.Enqueue(x, x);
            }
            else if (x > heap.Peek())
            {
                heap.EnqueueDequeue(x, x);
            }
        }
        return heap.Peek();
    }

    /// <summary>The items of one code's row with f &gt; τ, ascending, and their scores f − τ.</summary>
    public static (int[] Items, float[] Scores) KeepAbove(ReadOnlySpan<float> f, float tau)
    {
        var items = new List<int>();
        var values = new List<float>();
        for (int i = 0; i < f.Length; i++)
        {
            if (f[i] > tau)
            {
                items.Add(i);
                values.Add(f[i] - tau);
            }
        }
        return ([.. items], [.. values]);
    }
}
