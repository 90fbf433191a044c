using ILGPU;

namespace SparCode.Kernels.Gpu;

/// <summary>Device kernels of interaction scoring: a tiled GEMM with fused bias and ReLU, and the pair layer.</summary>
internal static class InteractionKernels
{
    /// <summary>Largest tile edge; shared tiles are allocated at this size.</summary>
    public const int MaxTile = 16;

    /// <summary>
    /// C[m, n] = act(bias[n] + Σ_k A[m, k]·B[n, k]) for row-major A (M × K) and B (N × K), i.e. A·Bᵀ with B
    /// a weight matrix in outputs × inputs layout. Classic shared-memory tiling: each group loads a
    /// tile of A and of B per step of K, so every element read from global memory is reused
    /// <paramref name="tile"/> times. Group (tile × tile) threads, one output element each.
    /// </summary>
    public static void GemmBiasAct(ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> c,
        int rows, int columns, int depth, int tile, int relu)
    {
        var tileA = SharedMemory.Allocate<float>(MaxTile * MaxTile);
        var tileB = SharedMemory.Allocate<float>(MaxTile * MaxTile);
        int tx = Group.IdxX, ty = Group.IdxY;
        int row = Grid.IdxY * tile + ty;
        int column = Grid.IdxX * tile + tx;
        float sum = 0f;
        for (int k0 = 0; k0 < depth; k0 += tile)
        {
            int ka = k0 + tx, kb = k0 + ty;
            tileA[ty * MaxTile + tx] = row < rows && ka < depth ? a[(long)row * depth + ka] : 0f;
            int bRow = Grid.IdxX * tile + tx;
            tileB[ty * MaxTile + tx] = bRow < columns && kb < depth ? b[(long)bRow * depth + kb] : 0f;
            Group.Barrier();
            for (int k = 0; k < tile; k++)
            {
                sum = MathF.FusedMultiplyAdd(tileA[ty * MaxTile + k], tileB[k * MaxTile + tx], sum);
            }
            Group.Barrier();
        }
        if (row < rows && column < columns)
        {
            float value = sum + (bias.Length > 0 ? bias[column] : 0f);
            c[(long)row * columns + column] = relu != 0 && !(value > 0f) ? 0f : value;
        }
    }

    /// <summary>
    /// First layer of pair p: H[p, h] = ReLU(U[aₚ, h] + V[bₚ, h]) where U = W_u·z per token and V = W_v·v + b₁
    /// per item were computed once each (first-layer decomposition); their rows are <paramref name="stride"/> floats
    /// (H₁, plus D when the dot path keeps z and v[0..D) after the first-layer part). Dense mode (empty pair lists):
    /// pair p is (aStart + p / bCount, p mod bCount).
    /// </summary>
    public static void PairFirstLayer(Index2D index, ArrayView<float> u, ArrayView<float> v, ArrayView<int> pairA, ArrayView<int> pairB,
        int aStart, int bCount, int width, int stride, ArrayView<float> output)
    {
        int p = index.X, h = index.Y;
        long ai = pairA.Length > 0 ? pairA[p] : aStart + p / bCount;
        long bi = pairB.Length > 0 ? pairB[p] : p % bCount;
        float value = u[ai * stride + h] + v[bi * stride + h];
        output[(long)p * width + h] = value > 0f ? value : 0f;
    }

    /// <summary>
    /// Dot path: scores[p] += Σ_j U[aₚ, width + j]·V[bₚ, width + j] over the <paramref name="dim"/> columns after the
    /// first-layer part, i.e. ⟨z, v[0..D)⟩, summed in column order.
    /// </summary>
    public static void AddDot(Index1D p, ArrayView<float> u, ArrayView<float> v, ArrayView<int> pairA, ArrayView<int> pairB,
        int aStart, int bCount, int width, int stride, int dim, ArrayView<float> scores)
    {
        long ai = pairA.Length > 0 ? pairA[p] : aStart + p / bCount;
        long bi = pairB.Length > 0 ? pairB[p] : p % bCount;
        float sum = 0f;
        for (int j = 0; j < dim; j++)
        {
            sum = MathF.FusedMultiplyAdd(u[ai * stride + width + j], v[bi * stride + width + j], sum);
        }
        scores[p] += sum;
    }
}
