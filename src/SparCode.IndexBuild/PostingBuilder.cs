namespace SparCode.IndexBuild;

/// <summary>Each code's posting list before writing: kept items ascending, their scores f − τ_c, and τ_c.</summary>
/// <param name="Items">Per code row: the items with f &gt; τ_c, ascending.</param>
/// <param name="Scores">Per code row: f − τ_c (&gt; 0) of those items.</param>
/// <param name="Thresholds">τ_c per code row.</param>
public sealed record CodePostings(int[][] Items, float[][] Scores, float[] Thresholds);

/// <summary>
/// The index-build rules, in one place for every scorer and for the evaluation: every code token × every item
/// through f, then per code τ_c = the (keep+1)-th largest f (ties counted, as <c>topk</c>; just below the smallest
/// when every item is kept) and a list of the items with f &gt; τ_c storing f − τ_c, so the index holds exactly
/// ReLU(f − τ_c) with at most keep entries (density ρ and cap N_max both act through keep); items no code lists
/// are served in <see cref="FallbackOrder"/>.
/// </summary>
/// <remarks>Stateless and thread-safe; the results depend only on the scores (deterministic).</remarks>
public static class PostingBuilder
{
    /// <summary>Scores block by block through <paramref name="scorer"/> (the code × item matrix is never held) and applies the keep rule to each row.</summary>
    /// <param name="scorer">The pair scorer.</param>
    /// <param name="codeTokens">Row-major codes × D: the quantized token ẑ_c of each code.</param>
    /// <param name="keep">Items kept per code, 1..n_items.</param>
    /// <param name="progress">Receives (codes done, codes in all) after each block.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="keep"/> is outside 1..n_items.</exception>
    public static CodePostings Build(IPairScorer scorer, ReadOnlySpan<float> codeTokens, int keep, Action<int, int>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(scorer);
        int n = scorer.ItemCount;
        int codes = codeTokens.Length / scorer.TokenDim;
        ArgumentOutOfRangeException.ThrowIfLessThan(keep, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(keep, n);
        var result = new CodePostings(new int[codes][], new float[codes][], new float[codes]);
        int done = 0;
        scorer.ScoreAll(codeTokens, (first, count, block) =>
        {
            for (int r = 0; r < count; r++)
            {
                var f = block.Slice(r * n, n);
                float tau = Threshold(f, keep);
                result.Thresholds[first + r] = tau;
                (result.Items[first + r], result.Scores[first + r]) = KeepAbove(f, tau);
            }
            done += count;
            progress?.Invoke(done, codes);
        });
        return result;
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

    /// <summary>The fill order of the index: items by <paramref name="popularity"/>, most popular first, ties by the smaller item id.</summary>
    public static int[] FallbackOrder(IReadOnlyList<long> popularity)
    {
        ArgumentNullException.ThrowIfNull(popularity);
        return [.. Enumerable.Range(0, popularity.Count).OrderByDescending(i => popularity[i]).ThenBy(i => i)];
    }

    /// <summary>CSR offsets (<c>codes + 1</c>) of the full code space from the used codes' lists; unused codes get empty lists.</summary>
    /// <param name="codeCount">All codes, K_c^M.</param>
    /// <param name="usedCodes">Codes with a list, ascending; row r of <paramref name="postings"/> is code usedCodes[r].</param>
    /// <param name="postings">The used codes' lists.</param>
    /// <exception cref="ArgumentException">The used codes are not ascending, in range and one per row.</exception>
    public static (long[] Offsets, int[] Items, float[] Scores) Concatenate(int codeCount, IReadOnlyList<int> usedCodes, CodePostings postings)
    {
        ArgumentNullException.ThrowIfNull(usedCodes);
        ArgumentNullException.ThrowIfNull(postings);
        if (usedCodes.Count != postings.Items.Length)
        {
            throw new ArgumentException($"{usedCodes.Count} used codes for {postings.Items.Length} posting rows; expected one row per used code.", nameof(postings));
        }
        for (int r = 1; r < usedCodes.Count; r++)
        {
            if (usedCodes[r] <= usedCodes[r - 1])
            {
                throw new ArgumentException($"Used codes must ascend; code {usedCodes[r]} follows {usedCodes[r - 1]}.", nameof(usedCodes));
            }
        }
        if (usedCodes.Count > 0 && (usedCodes[0] < 0 || usedCodes[^1] >= codeCount))
        {
            throw new ArgumentException($"Used codes must lie in 0..{codeCount - 1}; they span {usedCodes[0]}..{usedCodes[^1]}.", nameof(usedCodes));
        }
        var offsets = new long[codeCount + 1];
        long total = 0;
        for (int r = 0, code = 0; code < codeCount; code++)
        {
            offsets[code] = total;
            if (r < usedCodes.Count && usedCodes[r] == code)
            {
                total += postings.Items[r].Length;
                r++;
            }
        }
        offsets[codeCount] = total;
        var items = new int[total];
        var scores = new float[total];
        long at = 0;
        for (int r = 0; r < usedCodes.Count; r++)
        {
            postings.Items[r].CopyTo(items, at);
            postings.Scores[r].CopyTo(scores, at);
            at += postings.Items[r].Length;
        }
        return (offsets, items, scores);
    }
}
