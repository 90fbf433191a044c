using ILGPU;

namespace SparCode.Kernels.Gpu;

/// <summary>
/// Device kernels of interaction scoring: a tiled GEMM with fused bias and ReLU, and the pair layer. Kernels that
/// multiply-add take the fused multiply-add of their backend as a type parameter (<see cref="IFusedMultiplyAdd"/>).
/// </summary>
internal static class InteractionKernels
{
    /// <summary>Largest tile edge; shared tiles are allocated at this size.</summary>
    public const int MaxTile = 16;

    /// <summary>Row pitch of the shared tiles: one float of padding, so the column-strided reads of B hit 16 distinct banks.</summary>
    private const int Pitch = MaxTile + 1;

    /// <summary>
    /// C[m, n] = act(bias[n] + Σ_k A[m, k]·B[n, k]) for row-major A (M × K) and B (N × K), i.e. A·Bᵀ with B
    /// a weight matrix in outputs × inputs layout. Classic shared-memory tiling: each group loads a
    /// tile of A and of B per step of K, so every element read from global memory is reused
    /// <paramref name="tile"/> times. Group (tile × tile) threads, one output element each; the sum runs over k in
    /// ascending order whatever the tile, so the result does not depend on the accelerator's group size.
    /// </summary>
    /// <remarks>
    /// Row tiles go on grid X (up to 2³¹ − 1 groups) and column tiles on grid Y: CUDA caps grid Y at 65,535, which
    /// with 16-row tiles would cap a launch at about 1M rows, while a layer's width in tiles is small. Both tiles
    /// are loaded with consecutive threads reading consecutive k (coalesced); the B tile is stored as [n][k].
    /// </remarks>
    public static void GemmBiasAct<TFma>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> bias, ArrayView<float> c,
        int rows, int columns, int depth, int tile, int relu) where TFma : struct, IFusedMultiplyAdd
    {
        var tileA = SharedMemory.Allocate<float>(MaxTile * Pitch);
        var tileB = SharedMemory.Allocate<float>(MaxTile * Pitch);
        int tx = Group.IdxX, ty = Group.IdxY;
        long row = (long)Grid.IdxX * tile + ty;
        int columnBase = Grid.IdxY * tile;
        int column = columnBase + tx;
        int bRow = columnBase + ty;
        float sum = 0f;
        for (int k0 = 0; k0 < depth; k0 += tile)
        {
            int k = k0 + tx;
            tileA[ty * Pitch + tx] = row < rows && k < depth ? a[row * depth + k] : 0f;
            tileB[ty * Pitch + tx] = bRow < columns && k < depth ? b[(long)bRow * depth + k] : 0f;
            Group.Barrier();
            for (int kk = 0; kk < tile; kk++)
            {
                sum = default(TFma).Apply(tileA[ty * Pitch + kk], tileB[tx * Pitch + kk], sum);
            }
            Group.Barrier();
        }
        if (row < rows && column < columns)
        {
            float value = sum + (bias.Length > 0 ? bias[column] : 0f);
            c[row * columns + column] = relu != 0 && !(value > 0f) ? 0f : value;
        }
    }

    /// <summary>
    /// First layer of pair p: H[p, h] = ReLU(U[aₚ, h] + V[bₚ, h]) where U = W_u·z per token and V = W_v·v + b₁
    /// per item were computed once each (first-layer decomposition); their rows are <paramref name="stride"/> floats
    /// (H₁, plus D when the dot path keeps z and v[0..D) after the first-layer part). Dense mode (empty pair lists):
    /// pair p is (aStart + p / bCount, bStart + p mod bCount). One thread per output, linear index p·width + h: the
    /// column varies fastest, so neighbouring threads read and write neighbouring floats, and the pairs are not on a
    /// grid dimension of their own (an implicitly grouped Index2D launch maps Y to grid Y, capped at 65,535).
    /// </summary>
    public static void PairFirstLayer(Index1D index, ArrayView<float> u, ArrayView<float> v, ArrayView<int> pairA, ArrayView<int> pairB,
        int aStart, int bStart, int bCount, int width, int stride, ArrayView<float> output)
    {
        int p = index / width, h = index - p * width;
        long ai = pairA.Length > 0 ? pairA[p] : aStart + p / bCount;
        long bi = pairB.Length > 0 ? pairB[p] : bStart + p % bCount;
        float value = u[ai * stride + h] + v[bi * stride + h];
        output[index] = value > 0f ? value : 0f;
    }

    /// <summary>
    /// Dot path: scores[p] += Σ_j U[aₚ, width + j]·V[bₚ, width + j] over the <paramref name="dim"/> columns after the
    /// first-layer part, i.e. ⟨z, v[0..D)⟩, summed in column order. Pairs as in <see cref="PairFirstLayer"/>.
    /// </summary>
    public static void AddDot<TFma>(Index1D p, ArrayView<float> u, ArrayView<float> v, ArrayView<int> pairA, ArrayView<int> pairB,
        int aStart, int bStart, int bCount, int width, int stride, int dim, ArrayView<float> scores) where TFma : struct, IFusedMultiplyAdd
    {
        long ai = pairA.Length > 0 ? pairA[p] : aStart + p / bCount;
        long bi = pairB.Length > 0 ? pairB[p] : bStart + p % bCount;
        float sum = 0f;
        for (int j = 0; j < dim; j++)
        {
            sum = default(TFma).Apply(u[ai * stride + width + j], v[bi * stride + width + j], sum);
        }
        scores[p] += sum;
    }
}
