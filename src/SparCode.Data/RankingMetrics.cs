namespace SparCode.Data;

/// <summary>HitRate@K and NDCG@K with one held-out target per user, accumulated from target ranks.</summary>
public sealed class RankingMetrics
{
    /// <summary>The cut-offs reported: 10, 20 and 50.</summary>
    public static IReadOnlyList<int> DefaultCutoffs { get; } = [10, 20, 50];

    private readonly int[] _cutoffs;
    private readonly double[] _hits;
    private readonly double[] _ndcg;

    /// <summary>Creates an accumulator for the given cut-offs.</summary>
    public RankingMetrics(IReadOnlyList<int>? cutoffs = null)
    {
        _cutoffs = [.. cutoffs ?? DefaultCutoffs];
        _hits = new double[_cutoffs.Length];
        _ndcg = new double[_cutoffs.Length];
    }

    /// <summary>Users added.</summary>
    public int Users { get; private set; }

    /// <summary>The cut-offs.</summary>
    public IReadOnlyList<int> Cutoffs => _cutoffs;

    /// <summary>Adds one user whose target ranked at 0-based <paramref name="rank"/> (any value ≥ the largest cut-off, or -1, means a miss).</summary>
    public void Add(int rank)
    {
        Users++;
        if (rank < 0)
        {
            return;
        }
        for (int c = 0; c < _cutoffs.Length; c++)
        {
            if (rank < _cutoffs[c])
            {
                _hits[c] += 1;
                _ndcg[c] += 1.0 / Math.Log2(rank + 2);
            }
        }
    }

    /// <summary>HitRate@K.</summary>
    public double HitRate(int k) => Users == 0 ? 0 : _hits[Array.IndexOf(_cutoffs, k)] / Users;

    /// <summary>NDCG@K.</summary>
    public double Ndcg(int k) => Users == 0 ? 0 : _ndcg[Array.IndexOf(_cutoffs, k)] / Users;

    /// <summary>
    /// The 0-based rank of <paramref name="target"/> under "score descending, ties by smaller item id",
    /// over items not in <paramref name="excluded"/>.
    /// </summary>
    public static int Rank(ReadOnlySpan<float> scores, int target, ReadOnlySpan<int> excluded)
    {
        float t = scores[target];
        int rank = 0;
        for (int i = 0; i < scores.Length; i++)
        {
            if (scores[i] > t || (scores[i] == t && i < target))
            {
                rank++;
            }
        }
        foreach (int e in Distinct(excluded))
        {
            if (e != target && (scores[e] > t || (scores[e] == t && e < target)))
            {
                rank--;
            }
        }
        return rank;
    }

    private static HashSet<int> Distinct(ReadOnlySpan<int> items)
    {
        var set = new HashSet<int>();
        foreach (int i in items)
        {
            set.Add(i);
        }
        return set;
    }
}
