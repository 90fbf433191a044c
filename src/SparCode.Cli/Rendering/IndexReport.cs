using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using SparCode.Format;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace SparCode.Cli.Rendering;

/// <summary>The tables <c>inspect</c> and <c>demo</c> print about an open index.</summary>
internal static class IndexReport
{
    /// <summary>Path, version, size and checksum state.</summary>
    /// <param name="file">The open index (opened with full validation, so the checksum was verified).</param>
    /// <param name="checksum">The footer's stored checksum.</param>
    /// <param name="openTime">How long the validating open took.</param>
    public static IRenderable Header(IndexFile file, ulong checksum, TimeSpan openTime)
    {
        var grid = new Grid().AddColumn(new GridColumn().NoWrap().PadRight(2)).AddColumn();
        grid.AddRow(new Markup("[bold]file[/]"), new Text(file.Path));
        grid.AddRow(new Markup("[bold]format version[/]"), new Text($"{file.Version} (this library reads {IndexLayout.OldestReadableVersion}..{IndexLayout.CurrentVersion})"));
        grid.AddRow(new Markup("[bold]file size[/]"), new Text($"{Units.Count(file.Length)} bytes ({Units.Bytes(file.Length)})"));
        grid.AddRow(new Markup("[bold]checksum[/]"), new Markup($"XxHash3 {checksum:X16} [green]OK[/] (full validation in {Markup.Escape(Units.Duration(openTime))})"));
        return grid;
    }

    /// <summary>The model sizes from the dimensions section, and the tower's layer widths.</summary>
    public static Table Model(IndexFile file)
    {
        var d = file.Dimensions;
        var table = new Table().Title("[bold]Model[/]").AddColumn("size").AddColumn("symbol").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("items", "n_items", Units.Count(d.ItemCount));
        table.AddRow("item embedding", "d", Units.Count(d.EmbeddingDim));
        table.AddRow("history read", "L", Units.Count(d.HistoryLength));
        table.AddRow("user tokens", "K_u", Units.Count(d.UserTokens));
        table.AddRow("sub-codebooks", "M", Units.Count(d.Subspaces));
        table.AddRow("codewords per sub-codebook", "K_c", Units.Count(d.CodebookSize));
        table.AddRow("token size", "D", Units.Count(d.TokenDim));
        table.AddRow("codes", "K_c^M", Units.Count(d.CodeCount));
        var widths = new List<int> { d.EmbeddingDim };
        for (int l = 0; l < d.TowerLayers; l++)
        {
            widths.Add(file.TowerOutputs(l));
        }
        table.AddRow("tower MLP", "", Markup.Escape(string.Join(" → ", widths)));
        table.AddRow("token heads", "K_u·D", Units.Count((long)d.UserTokens * d.TokenDim));
        return table;
    }

    /// <summary>The section table in file order.</summary>
    public static Table Sections(IndexFile file)
    {
        var table = new Table().Title("[bold]Sections[/]")
            .AddColumn("kind").AddColumn(new TableColumn("index").RightAligned()).AddColumn("type")
            .AddColumn(new TableColumn("shape").RightAligned()).AddColumn(new TableColumn("offset").RightAligned())
            .AddColumn(new TableColumn("bytes").RightAligned());
        foreach (var s in file.Sections)
        {
            string kind = Enum.IsDefined(s.Kind) ? s.Kind.ToString() : $"unknown ({(ushort)s.Kind})";
            table.AddRow(Markup.Escape(kind), s.Index.ToString(CultureInfo.InvariantCulture), s.Type.ToString(),
                $"{Units.Count(s.Rows)} × {Units.Count(s.Columns)}", Units.Count(s.Offset), Units.Count(s.ByteLength));
        }
        return table;
    }

    /// <summary>Posting counts and list-length percentiles.</summary>
    public static Table Postings(PostingStatistics stats)
    {
        var table = new Table().Title("[bold]Postings[/]").AddColumn("statistic").AddColumn(new TableColumn("value").RightAligned());
        table.AddRow("total postings", Units.Count(stats.Total));
        double usedShare = stats.CodeCount == 0 ? 0 : 100.0 * stats.CodesUsed / stats.CodeCount;
        table.AddRow("codes used / total", $"{Units.Count(stats.CodesUsed)} / {Units.Count(stats.CodeCount)} ({Units.Number(usedShare)}%)");
        table.AddRow("list length p0", Units.Count(stats.P0));
        table.AddRow("list length p50", Units.Count(stats.P50));
        table.AddRow("list length p90", Units.Count(stats.P90));
        table.AddRow("list length p99", Units.Count(stats.P99));
        table.AddRow("list length max", Units.Count(stats.Max));
        table.AddRow("list length mean", Units.Number(stats.Mean));
        return table;
    }

    /// <summary>The metadata JSON, indented.</summary>
    public static Panel Metadata(string json)
    {
        string pretty;
        try
        {
            using var document = JsonDocument.Parse(json);
            pretty = JsonSerializer.Serialize(document.RootElement, Indented);
        }
        catch (JsonException)
        {
            // The reader validated the JSON already; show it as stored if it still does not parse here.
            pretty = json;
        }
        return new Panel(new Text(pretty)).Header("[bold]Metadata[/]");
    }

    private static JsonSerializerOptions Indented { get; } = new() { WriteIndented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
