using System.Globalization;
using SparCode.Data;
using SparCode.Training;
using Spectre.Console;

namespace SparCode.Cli.Rendering;

/// <summary>The evaluation table that <c>eval</c> and <c>demo</c> print, with each row's note and the export's summary.</summary>
internal static class EvaluationTable
{
    /// <summary>Prints the rows of <paramref name="report"/>, their notes and, when it exported, the index's summary.</summary>
    public static void Print(EvaluationReport report)
    {
        var table = new Table().Title($"Test split, full ranking over {report.Items:N0} items, history excluded, {report.Users:N0} users");
        table.AddColumn("row");
        foreach (var k in RankingMetrics.DefaultCutoffs)
        {
            table.AddColumn(new TableColumn($"HR@{k}").RightAligned());
        }
        foreach (var k in RankingMetrics.DefaultCutoffs)
        {
            table.AddColumn(new TableColumn($"NDCG@{k}").RightAligned());
        }
        table.AddColumn(new TableColumn("s").RightAligned());
        foreach (var row in report.Rows)
        {
            var cells = new List<string> { Markup.Escape(row.Name) };
            cells.AddRange(row.Hr.Select(F));
            cells.AddRange(row.Ndcg.Select(F));
            cells.Add(row.Seconds.ToString("F1", CultureInfo.InvariantCulture));
            table.AddRow(cells.ToArray());
        }
        AnsiConsole.Write(table);
        foreach (var row in report.Rows.Where(r => r.Note.Length > 0))
        {
            AnsiConsole.MarkupLineInterpolated($"  [grey]{row.Name}:[/] {row.Note}");
        }
        if (report.Export is { } e)
        {
            AnsiConsole.MarkupLineInterpolated($"  [grey]index:[/] {e.Bytes:N0} bytes, {e.CodesUsed:N0}/{e.CodeCount:N0} codes used, {e.Postings:N0} postings, density {e.DensityOverUsedCodes:F4} over used codes, list lengths over all codes p0/p50/p90/p99/max {e.Lists.Percentiles}, export {e.Seconds:F1} s");
        }
    }

    private static string F(double v) => v.ToString("F4", CultureInfo.InvariantCulture);
}
