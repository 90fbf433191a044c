using System.Runtime;

namespace SparCode.Training;

/// <summary>
/// Keeps the garbage collector out of a span of TorchSharp calls (one training batch, one evaluation chunk).
/// </summary>
/// <remarks>
/// TorchSharp 0.107 passes temporaries to native code by handle: the <c>alpha</c> Scalar of every tensor
/// <c>+</c>/<c>−</c>, the Scalars of the optimizers' <c>mul_(β)</c>/<c>add_(g, alpha)</c>, intermediate tensors. The
/// JIT may treat such an object as dead once its handle is read, so a GC during the native call can finalize
/// it and free the native Scalar or tensor while libtorch reads it (dotnet/TorchSharp PRs 1434 and 1496), which
/// fails a training with an error from libtorch (perf/results/2026-12-02-code-notes). Inside a no-GC region no collection runs, so nothing used by a call
/// in flight can be finalized; the temporaries are collected between spans, after their calls returned.
/// If the runtime refuses the region, or a span allocates more than the budget, the span runs as before.
/// <para>The region is process-wide, so concurrent spans (two trainings in one process, as parallel test
/// classes do) share it: the first span in starts it, the last one out ends it.</para>
/// </remarks>
internal readonly struct GcPause : IDisposable
{
    /// <summary>Managed bytes the spans in a region may allocate (a training batch allocates a few MB of wrappers and arrays).</summary>
    private const long Budget = 64L << 20;

    private static readonly Lock Gate = new();
    private static int _holders;
    private static bool _started;

    private readonly bool _held;

    private GcPause(bool held) => _held = held;

    /// <summary>Joins the no-GC region, starting it if no other span holds it (it may run one collection first to make room).</summary>
    public static GcPause Start()
    {
        lock (Gate)
        {
            if (_holders++ == 0)
            {
                try
                {
                    _started = GCSettings.LatencyMode != GCLatencyMode.NoGCRegion && GC.TryStartNoGCRegion(Budget);
                }
                catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException)
                {
                    _started = false;
                }
            }
            return new GcPause(held: true);
        }
    }

    /// <summary>Leaves the region; the last span out ends it if it is still in force (it ends by itself when the spans allocated more than the budget).</summary>
    public void Dispose()
    {
        if (!_held)
        {
            return;
        }
        lock (Gate)
        {
            if (--_holders == 0 && _started && GCSettings.LatencyMode == GCLatencyMode.NoGCRegion)
            {
                try
                {
                    GC.EndNoGCRegion();
                }
                catch (InvalidOperationException)
                {
                    // The region already ended (a collection was induced inside it): nothing to end.
                }
            }
        }
    }
}
