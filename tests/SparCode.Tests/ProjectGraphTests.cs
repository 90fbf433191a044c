using System.Xml.Linq;

namespace SparCode.Tests;

/// <summary>The project graph stays layered in the order of the data flow (README, Layout): kernels at the bottom, the CLI on top.</summary>
public sealed class ProjectGraphTests
{
    /// <summary>Each project's layer; a project may reference only projects of a lower layer.</summary>
    private static readonly Dictionary<string, int> Layer = new()
    {
        ["SparCode.Kernels.Cpu"] = 0,
        ["SparCode.Kernels.Gpu"] = 0,
        ["SparCode.Format"] = 1,
        ["SparCode.Data"] = 1,
        ["SparCode.Baselines"] = 1,
        ["SparCode.Engine"] = 2,
        ["SparCode.IndexBuild"] = 2,
        ["SparCode.Synthetic"] = 3,
        ["SparCode.Engine.Gpu"] = 3,
        ["SparCode.Native"] = 3,
        ["SparCode.Bench"] = 4,
        ["SparCode.Training"] = 4,
        ["SparCode.Cli"] = 5,
    };

    private static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SparCode.Engine.sln")))
            {
                return dir.FullName;
            }
        }
        return null;
    }

    private static IEnumerable<string> References(string project) =>
        XDocument.Load(project).Descendants("ProjectReference").Select(r => Path.GetFileNameWithoutExtension(r.Attribute("Include")!.Value));

    [Fact]
    public void Every_library_references_only_lower_layers()
    {
        string root = RepositoryRoot() ?? throw new InvalidOperationException($"No SparCode.Engine.sln above {AppContext.BaseDirectory}.");
        var projects = Directory.GetFiles(Path.Combine(root, "src"), "*.csproj", SearchOption.AllDirectories)
            .Concat(Directory.GetFiles(Path.Combine(root, "kernels"), "*.csproj", SearchOption.AllDirectories))
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .ToArray();
        Assert.Equal(Layer.Keys.Order(), projects.Select(Path.GetFileNameWithoutExtension).Order());
        var wrong = new List<string>();
        foreach (string project in projects)
        {
            string name = Path.GetFileNameWithoutExtension(project);
            foreach (string reference in References(project))
            {
                if (!Layer.TryGetValue(reference, out int layer) || layer >= Layer[name])
                {
                    wrong.Add($"{name} (layer {Layer[name]}) references {reference} (layer {(Layer.TryGetValue(reference, out int l) ? l : -1)})");
                }
            }
        }
        Assert.True(wrong.Count == 0, string.Join("; ", wrong));
    }
}
