using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace SparCode.Kernels.Cpu;

/// <summary>
/// The element-wise operations a kernel body written once needs, for one vector width. A body written over
/// <typeparamref name="TVec"/> is specialised by the JIT for each width (the pattern of
/// <c>System.Numerics.Tensors</c>' operator structs); the scalar implementation has <see cref="Count"/> = 1,
/// so the scalar path runs the very same sequence of IEEE operations per element.
/// </summary>
/// <typeparam name="TVec">The vector type (<c>Vector512&lt;float&gt;</c>, …, or <c>float</c>).</typeparam>
internal interface ILanes<TVec> where TVec : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }

    /// <summary>Loads <see cref="Count"/> floats at <paramref name="offset"/>.</summary>
    static abstract TVec Load(ref float source, nint offset);

    /// <summary>Stores <see cref="Count"/> floats at <paramref name="offset"/>.</summary>
    static abstract void Store(TVec value, ref float destination, nint offset);

    /// <summary>Every lane <paramref name="value"/>.</summary>
    static abstract TVec Splat(float value);

    /// <summary>Lane-wise sum.</summary>
    static abstract TVec Add(TVec a, TVec b);

    /// <summary>Lane-wise difference.</summary>
    static abstract TVec Subtract(TVec a, TVec b);

    /// <summary>Lane-wise product.</summary>
    static abstract TVec Multiply(TVec a, TVec b);

    /// <summary>Lane-wise <c>a·b + c</c>, rounded once (fused).</summary>
    static abstract TVec MultiplyAdd(TVec a, TVec b, TVec c);

    /// <summary>Lane-wise maximum (finite inputs).</summary>
    static abstract TVec Max(TVec a, TVec b);

    /// <summary><c>2^k</c> for lanes holding integral values k in [−126, 127], built from the exponent bits.</summary>
    static abstract TVec Pow2(TVec k);
}

/// <summary>
/// The lane-level operations of a real vector width, beyond <see cref="ILanes{TVec}"/>: compare masks,
/// blends, lane indices, lane reads and the horizontal sum. Implemented by <see cref="Lanes512"/>,
/// <see cref="Lanes256"/> and <see cref="Lanes128"/>; each kernel keeps its scalar loop as the reference.
/// </summary>
/// <remarks>
/// Masks are <typeparamref name="TVec"/> values with all bits set in the chosen lanes, and lane indices are
/// 32-bit integers carried in the bits of a <typeparamref name="TVec"/>; both only pass through
/// <see cref="Select"/>, which copies bits, so no float arithmetic ever touches them.
/// </remarks>
/// <typeparam name="TVec">The vector type (<c>Vector512&lt;float&gt;</c>, <c>Vector256&lt;float&gt;</c> or <c>Vector128&lt;float&gt;</c>).</typeparam>
internal interface IVectorWidth<TVec> : ILanes<TVec> where TVec : struct
{
    /// <summary>The dispatch level this width belongs to.</summary>
    static abstract SimdPath Path { get; }

    /// <summary>Whether this process runs the width in hardware (<c>VectorNNN.IsHardwareAccelerated</c>).</summary>
    static abstract bool IsHardwareAccelerated { get; }

    /// <summary>Lanes where <paramref name="a"/> &lt; <paramref name="b"/> (false where either is NaN).</summary>
    static abstract TVec LessThan(TVec a, TVec b);

    /// <summary>Bit-wise blend: <paramref name="ifSet"/> where <paramref name="mask"/> is set, else <paramref name="otherwise"/>.</summary>
    static abstract TVec Select(TVec mask, TVec ifSet, TVec otherwise);

    /// <summary>Bit <c>i</c> set where lane <c>i</c> of <paramref name="value"/> ≥ <paramref name="limit"/> (false for NaN).</summary>
    static abstract ulong AtLeastBits(TVec value, TVec limit);

    /// <summary>The integers <c>first, first + 1, …</c> (one per lane), in the lanes' bits.</summary>
    static abstract TVec Indices(int first);

    /// <summary>Lane <paramref name="lane"/> as a float.</summary>
    static abstract float Element(TVec value, int lane);

    /// <summary>Lane <paramref name="lane"/> of an index vector (<see cref="Indices"/>).</summary>
    static abstract int IndexElement(TVec indices, int lane);

    /// <summary>The sum of the lanes, in <c>VectorNNN.Sum</c>'s order.</summary>
    static abstract float Sum(TVec value);
}

internal readonly struct Lanes512 : IVectorWidth<Vector512<float>>
{
    public static int Count => Vector512<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(ref float source, nint offset) => Vector512.LoadUnsafe(ref source, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> value, ref float destination, nint offset) => value.StoreUnsafe(ref destination, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Splat(float value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Pow2(Vector512<float> k) => Vector512.ShiftLeft(Vector512.ConvertToInt32(k) + Vector512.Create(127), 23).AsSingle();

    public static SimdPath Path => SimdPath.Vector512;

    public static bool IsHardwareAccelerated => Vector512.IsHardwareAccelerated;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LessThan(Vector512<float> a, Vector512<float> b) => Vector512.LessThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Select(Vector512<float> mask, Vector512<float> ifSet, Vector512<float> otherwise) => Vector512.ConditionalSelect(mask, ifSet, otherwise);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong AtLeastBits(Vector512<float> value, Vector512<float> limit) => Vector512.GreaterThanOrEqual(value, limit).ExtractMostSignificantBits();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Indices(int first) => (Vector512<int>.Indices + Vector512.Create(first)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Element(Vector512<float> value, int lane) => value.GetElement(lane);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexElement(Vector512<float> indices, int lane) => indices.AsInt32().GetElement(lane);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector512<float> value) => Vector512.Sum(value);
}

internal readonly struct Lanes256 : IVectorWidth<Vector256<float>>
{
    public static int Count => Vector256<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(ref float source, nint offset) => Vector256.LoadUnsafe(ref source, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> value, ref float destination, nint offset) => value.StoreUnsafe(ref destination, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Splat(float value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Pow2(Vector256<float> k) => Vector256.ShiftLeft(Vector256.ConvertToInt32(k) + Vector256.Create(127), 23).AsSingle();

    public static SimdPath Path => SimdPath.Vector256;

    public static bool IsHardwareAccelerated => Vector256.IsHardwareAccelerated;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LessThan(Vector256<float> a, Vector256<float> b) => Vector256.LessThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Select(Vector256<float> mask, Vector256<float> ifSet, Vector256<float> otherwise) => Vector256.ConditionalSelect(mask, ifSet, otherwise);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong AtLeastBits(Vector256<float> value, Vector256<float> limit) => Vector256.GreaterThanOrEqual(value, limit).ExtractMostSignificantBits();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Indices(int first) => (Vector256<int>.Indices + Vector256.Create(first)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Element(Vector256<float> value, int lane) => value.GetElement(lane);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexElement(Vector256<float> indices, int lane) => indices.AsInt32().GetElement(lane);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector256<float> value) => Vector256.Sum(value);
}

internal readonly struct Lanes128 : IVectorWidth<Vector128<float>>
{
    public static int Count => Vector128<float>.Count;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load(ref float source, nint offset) => Vector128.LoadUnsafe(ref source, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<float> value, ref float destination, nint offset) => value.StoreUnsafe(ref destination, (nuint)offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Splat(float value) => Vector128.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Add(Vector128<float> a, Vector128<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Subtract(Vector128<float> a, Vector128<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Multiply(Vector128<float> a, Vector128<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> MultiplyAdd(Vector128<float> a, Vector128<float> b, Vector128<float> c) => Vector128.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Pow2(Vector128<float> k) => Vector128.ShiftLeft(Vector128.ConvertToInt32(k) + Vector128.Create(127), 23).AsSingle();

    public static SimdPath Path => SimdPath.Vector128;

    public static bool IsHardwareAccelerated => Vector128.IsHardwareAccelerated;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> LessThan(Vector128<float> a, Vector128<float> b) => Vector128.LessThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Select(Vector128<float> mask, Vector128<float> ifSet, Vector128<float> otherwise) => Vector128.ConditionalSelect(mask, ifSet, otherwise);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong AtLeastBits(Vector128<float> value, Vector128<float> limit) => Vector128.GreaterThanOrEqual(value, limit).ExtractMostSignificantBits();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Indices(int first) => (Vector128<int>.Indices + Vector128.Create(first)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Element(Vector128<float> value, int lane) => value.GetElement(lane);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int IndexElement(Vector128<float> indices, int lane) => indices.AsInt32().GetElement(lane);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector128<float> value) => Vector128.Sum(value);
}

/// <summary>One float per "vector": the scalar path, and every path's tail.</summary>
internal readonly struct Lanes1 : ILanes<float>
{
    public static int Count => 1;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Load(ref float source, nint offset) => Unsafe.Add(ref source, offset);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float value, ref float destination, nint offset) => Unsafe.Add(ref destination, offset) = value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Splat(float value) => value;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Add(float a, float b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Subtract(float a, float b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Multiply(float a, float b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MultiplyAdd(float a, float b, float c) => MathF.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Max(float a, float b) => MathF.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Pow2(float k) => BitConverter.Int32BitsToSingle(((int)k + 127) << 23);
}
