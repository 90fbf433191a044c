using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace SparCode.Kernels.Cpu;

/// <summary>
/// Keeps the best <c>k</c> (score, id) pairs seen so far: higher score first, ties to the smaller id.
/// </summary>
/// <remarks>
/// A binary min-heap whose root is the worst kept pair, so a candidate is compared with one value.
/// Not thread-safe: each searcher owns one. <see cref="Reset"/> reuses the buffers without allocating.
/// </remarks>
public sealed class TopKSelector
{
    private float[] _scores;
    private int[] _ids;
    private int _k;

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
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="k"/> is not positive.</exception>
    public void Reset(int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(k);
        if (k > _scores.Length)
        {
            _scores = new float[k];
            _ids = new int[k];
        }
        _k = k;
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
    /// For every id: reads <c>accumulator[id]</c>, sets it back to zero, and offers it if it is positive.
    /// </summary>
    /// <remarks>
    /// Reading and clearing in one pass resets the accumulator in O(touched). An id that occurs again
    /// (in another list) reads zero the second time and is not offered twice. With AVX2 the scores are
    /// gathered eight at a time and compared with the current threshold (SIMD threshold filter), so
    /// only survivors reach the heap. .NET 10 has no 512-bit gather, so the Vector512 path is this one.
    /// </remarks>
    /// <exception cref="ArgumentOutOfRangeException">An id is outside the accumulator.</exception>
    /// <exception cref="ArgumentException">The ids are not strictly ascending (as in a posting list).</exception>
    public void CollectAndClear(Span<float> accumulator, ReadOnlySpan<int> ids)
    {
        for (int i = 0; i < ids.Length; i++)
        {
            if ((uint)ids[i] >= (uint)accumulator.Length)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), ids[i], $"Id must be in [0, {accumulator.Length}).");
            }
            if (i > 0 && ids[i] <= ids[i - 1])
            {
                throw new ArgumentException($"Ids must be strictly ascending; ids[{i}] = {ids[i]} follows {ids[i - 1]}.", nameof(ids));
            }
        }
        CollectAndClearCore(accumulator, ids, Simd.Best);
    }

    /// <summary>
    /// The unchecked kernel over a window of the catalogue: slot <c>id − windowStart</c> of
    /// <paramref name="accumulator"/> holds item <c>id</c>. <paramref name="path"/> caps the vector width
    /// (tests force each one).
    /// </summary>
    internal void CollectAndClearCore(Span<float> accumulator, ReadOnlySpan<int> ids, SimdPath path, int windowStart = 0)
    {
        Debug.Assert(_k > 0);
        Debug.Assert(ids.IsEmpty || (ids[0] >= windowStart && ids[^1] - windowStart < accumulator.Length));
        if (path >= SimdPath.Vector256 && Avx2.IsSupported)
        {
            CollectAndClearAvx2(accumulator, ids, windowStart);
        }
        else
        {
            CollectAndClearScalar(accumulator, ids, 0, windowStart);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private unsafe void CollectAndClearAvx2(Span<float> accumulator, ReadOnlySpan<int> ids, int windowStart)
    {
        int n = ids.Length;
        int i = 0;
        var origin = Vector256.Create(windowStart);
        fixed (float* window = accumulator)
        fixed (int* id = ids)
        {
            for (; i + 8 <= n; i += 8)
            {
                var index = Avx.LoadVector256(id + i) - origin;
                var values = Avx2.GatherVector256(window, index, 4);
                // Until the heap is full anything positive qualifies; then only values that can beat its
                // root (>=, because an equal score with a smaller id also wins).
                var threshold = Vector256.Create(Count < _k ? float.Epsilon : _scores[0]);
                uint mask = Vector256.GreaterThanOrEqual(values, threshold).ExtractMostSignificantBits();
                for (int lane = 0; lane < 8; lane++)
                {
                    window[id[i + lane] - windowStart] = 0f;
                }
                while (mask != 0)
                {
                    int lane = System.Numerics.BitOperations.TrailingZeroCount(mask);
                    mask &= mask - 1;
                    Offer(values.GetElement(lane), id[i + lane]);
                }
            }
        }
        CollectAndClearScalar(accumulator, ids, i, windowStart);
    }

    private void CollectAndClearScalar(Span<float> accumulator, ReadOnlySpan<int> ids, int start, int windowStart)
    {
        ref float acc = ref MemoryMarshal.GetReference(accumulator);
        for (int i = start; i < ids.Length; i++)
        {
            ref float slot = ref Unsafe.Add(ref acc, ids[i] - windowStart);
            float value = slot;
            slot = 0f;
            if (value > 0f)
            {
                Offer(value, ids[i]);
            }
        }
    }

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
