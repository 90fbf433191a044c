using System.Runtime.CompilerServices;

namespace SparCode.Kernels.Cpu;

/// <summary>
/// Keeps the best <c>k</c> (score, id) pairs seen so far: higher score first, ties to the smaller id.
/// </summary>
/// <remarks>
/// A binary min-heap whose root is the worst kept pair, so a candidate is compared with one value.
/// Not thread-safe: each searcher owns one. <see cref="Reset"/> reuses the buffers without allocating.
/// The passes that read an accumulator and offer its slots are in <see cref="AccumulatorCollect"/>.
/// </remarks>
public sealed class TopKSelector
{
    private float[] _scores;
    private int[] _ids;
    private int _k;
    private float _floor = float.Epsilon;

    /// <summary>Creates a selector with room for <paramref name="capacity"/> results.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="capacity"/> is negative.</exception>
    public TopKSelector(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _scores = new float[capacity];
        _ids = new int[capacity];
    }

    /// <summary>How many pairs are kept now.</summary>
    public int Count { get; private set; }

    /// <summary>Empties the selector and sets how many pairs it keeps; grows its buffers only if <paramref name="k"/> exceeds every earlier k.</summary>
    /// <param name="k">Pairs to keep.</param>
    /// <param name="floor">
    /// A score every one of the k best is known to reach (0 if unknown): the collect passes (<see cref="AccumulatorCollect"/>) never offer
    /// a value below it, so a good floor spares the heap most of its work. A floor above the true k-th
    /// best score loses results.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is not positive, or <paramref name="floor"/> is negative or NaN.</exception>
    public void Reset(int k, float floor = 0f)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        if (!(floor >= 0f))
        {
            throw new ArgumentOutOfRangeException(nameof(floor), floor, "The floor must be a score ≥ 0.");
        }
        if (k > _scores.Length)
        {
            _scores = new float[k];
            _ids = new int[k];
        }
        _k = k;
        _floor = MathF.Max(floor, float.Epsilon);
        Count = 0;
    }

    /// <summary>Offers one pair; it is kept if fewer than k are kept or it beats the worst kept pair.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Offer(float score, int id)
    {
        if (Count < _k)
        {
            Push(score, id);
        }
        else if (Beats(score, id, _scores[0], _ids[0]))
        {
            ReplaceRoot(score, id);
        }
    }

    /// <summary>
    /// The least value worth offering: anything positive and at least the floor until k pairs are kept,
    /// then the worst kept score (an equal score can still win on a smaller id, so the filters compare with ≥).
    /// </summary>
    internal float Threshold => Count < _k ? _floor : _scores[0];

    /// <summary>How many pairs are kept at most (0 before the first <see cref="Reset"/>).</summary>
    internal int K => _k;

    /// <summary>
    /// Writes the kept pairs to <paramref name="ids"/> and <paramref name="scores"/> best first (score
    /// descending, ties by smaller id) and empties the selector. Returns how many were written.
    /// </summary>
    /// <exception cref="ArgumentException">A destination is shorter than <see cref="Count"/>.</exception>
    public int DrainSorted(Span<int> ids, Span<float> scores)
    {
        int count = Count;
        if (ids.Length < count || scores.Length < count)
        {
            throw new ArgumentException($"Destinations hold {ids.Length} ids and {scores.Length} scores; {count} are needed.");
        }
        // Pop the worst pair into the last free slot until the heap is empty: heap order gives sorted order.
        for (int slot = count - 1; slot >= 0; slot--)
        {
            ids[slot] = _ids[0];
            scores[slot] = _scores[0];
            Count--;
            if (Count > 0)
            {
                _scores[0] = _scores[Count];
                _ids[0] = _ids[Count];
                SiftDown(0);
            }
        }
        return count;
    }

    /// <summary>True when (score, id) ranks above (otherScore, otherId): higher score, or equal score and smaller id.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Beats(float score, int id, float otherScore, int otherId) =>
        score > otherScore || (score == otherScore && id < otherId);

    private void Push(float score, int id)
    {
        int child = Count++;
        while (child > 0)
        {
            int parent = (child - 1) >> 1;
            if (!Beats(_scores[parent], _ids[parent], score, id))
            {
                break;
            }
            _scores[child] = _scores[parent];
            _ids[child] = _ids[parent];
            child = parent;
        }
        _scores[child] = score;
        _ids[child] = id;
    }

    private void ReplaceRoot(float score, int id)
    {
        _scores[0] = score;
        _ids[0] = id;
        SiftDown(0);
    }

    private void SiftDown(int parent)
    {
        float score = _scores[parent];
        int id = _ids[parent];
        int count = Count;
        while (true)
        {
            int child = 2 * parent + 1;
            if (child >= count)
            {
                break;
            }
            // Pick the worse child: the heap keeps the worst pair at the root.
            if (child + 1 < count && Beats(_scores[child], _ids[child], _scores[child + 1], _ids[child + 1]))
            {
                child++;
            }
            if (!Beats(score, id, _scores[child], _ids[child]))
            {
                break;
            }
            _scores[parent] = _scores[child];
            _ids[parent] = _ids[child];
            parent = child;
        }
        _scores[parent] = score;
        _ids[parent] = id;
    }
}
