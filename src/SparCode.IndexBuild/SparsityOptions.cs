namespace SparCode.IndexBuild;

/// <summary>Sparsity of the export: a target density ρ per code, or a per-code cap N_max, or both (the smaller wins).</summary>
public sealed record SparsityOptions
{
    /// <summary>Target density ρ: each code keeps its top ⌈ρ·n_items⌉ items [0.05]. 0 disables (then <see cref="MaxPerCode"/> is required).</summary>
    public double Density { get; init; } = 0.05;

    /// <summary>Per-code cap N_max (0: none).</summary>
    public int MaxPerCode { get; init; }

    /// <summary>Items each code's list keeps at most, out of <paramref name="items"/> (1..items).</summary>
    public int Keep(int items)
    {
        long keep = Density > 0 ? (long)Math.Ceiling(Density * items) : items;
        if (MaxPerCode > 0)
        {
            keep = Math.Min(keep, MaxPerCode);
        }
        return (int)Math.Clamp(keep, 1, items);
    }

    /// <summary>Throws unless the density is in [0, 1], the cap is not negative and at least one of them is set.</summary>
    /// <exception cref="ArgumentException">The options name no valid sparsity.</exception>
    public void Validate()
    {
        if (Density is < 0 or > 1 || double.IsNaN(Density) || MaxPerCode < 0 || (Density == 0 && MaxPerCode == 0))
        {
            throw new ArgumentException($"Sparsity needs a density in (0, 1] or a positive per-code cap; got density {Density}, cap {MaxPerCode}.");
        }
    }
}
