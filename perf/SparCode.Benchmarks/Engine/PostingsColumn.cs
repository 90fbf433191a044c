using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace SparCode.Benchmarks.Engine;

/// <summary>
/// Summary columns for <see cref="SearchBenchmarks"/>: mean postings a query scatter-adds, and the mean
/// time divided by it.
/// </summary>
/// <remarks>
/// Computed in the host process from the cached index the benchmark built, with the host's vector
/// path; the codes a history maps to can differ between paths only where two codewords are equally
/// near to rounding, which the per-job line in the log ("mean postings per query") shows is negligible.
/// </remarks>
public sealed class PostingsColumn(PostingsColumn.Kind kind) : IColumn
{
    /// <summary>Which value the column shows.</summary>
    public enum Kind
    {
        /// <summary>Postings scatter-added per query (the K_u lists' lengths).</summary>
        PostingsPerQuery,

        /// <summary>Mean time per query divided by <see cref="PostingsPerQuery"/>.</summary>
        NanosecondsPerPosting,
    }

    /// <inheritdoc/>
    public string Id => $"{nameof(PostingsColumn)}.{kind}";

    /// <inheritdoc/>
    public string ColumnName => kind == Kind.PostingsPerQuery ? "Postings/query" : "ns/posting";

    /// <inheritdoc/>
    public bool AlwaysShow => true;

    /// <inheritdoc/>
    public ColumnCategory Category => ColumnCategory.Custom;

    /// <inheritdoc/>
    public int PriorityInCategory => (int)kind;

    /// <inheritdoc/>
    public bool IsNumeric => true;

    /// <inheritdoc/>
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc/>
    public string Legend => kind == Kind.PostingsPerQuery
        ? "Mean postings a query scatter-adds (sum of its K_u posting lists' lengths)"
        : "Mean time per query / Postings/query";

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc/>
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        if (benchmarkCase.Parameters["ItemCount"] is not int items || benchmarkCase.Parameters["PostingsPerList"] is not int perList
            || SearchWorkload.PostingsPerQuery(items, perList) is not { } postings)
        {
            return "?";
        }
        if (kind == Kind.PostingsPerQuery)
        {
            return postings.Accumulated.ToString("N0", style.CultureInfo);
        }
        double? mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
        return mean is { } ns && postings.Accumulated > 0 ? (ns / postings.Accumulated).ToString("F2", style.CultureInfo) : "?";
    }

    /// <inheritdoc/>
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc/>
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
