using System.Text;
using System.Text.RegularExpressions;

namespace SparCode.Tests;

/// <summary>
/// Every document the tree cites exists: references to a <c>docs</c> page in the repository's .cs, .md, .h and
/// .sh files, and every relative link in its markdown files, resolve to a file or folder inside the repository,
/// and a <c>#fragment</c> on a markdown target names one of its headings.
/// </summary>
public sealed partial class DocsLinkTests
{
    /// <summary>Folders that hold build outputs or other people's files, never sources.</summary>
    private static readonly HashSet<string> SkippedFolders = new(StringComparer.Ordinal)
    {
        ".git", "bin", "obj", "artifacts", "out", "TestResults", "BenchmarkDotNet.Artifacts", "node_modules",
    };

    private static readonly string[] Extensions = [".cs", ".md", ".h", ".sh"];

    /// <summary>A page under a <c>docs</c> folder, with any leading path and fragment, not inside a longer path or word.</summary>
    [GeneratedRegex(@"(?<![\w./-])((?:[\w.-]+/)*docs/[\w.-]+\.md)(#[\w-]+)?")]
    private static partial Regex DocsReference();

    /// <summary>An inline markdown link or image: the target up to a space (title) or the closing parenthesis.</summary>
    [GeneratedRegex(@"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+""[^""]*"")?\s*\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")]
    private static partial Regex Heading();

    [RepositoryFact]
    public void Every_cited_docs_page_exists()
    {
        string root = RepositoryRoot.Find()!;
        var broken = new List<string>();
        foreach (string file in SourceFiles(root))
        {
            string[] lines = File.ReadAllLines(file);
            for (int l = 0; l < lines.Length; l++)
            {
                foreach (Match m in DocsReference().Matches(lines[l]))
                {
                    string target = m.Groups[1].Value;
                    string? resolved = Resolve(root, file, target, rootRelative: true);
                    string? problem = resolved is null ? "no such file in the repository" : FragmentProblem(resolved, m.Groups[2].Value);
                    if (problem is not null)
                    {
                        broken.Add($"{Path.GetRelativePath(root, file)}:{l + 1}: {m.Value}: {problem}");
                    }
                }
            }
        }
        Assert.True(broken.Count == 0, $"{broken.Count} reference(s) to a docs page that does not exist:\n" + string.Join("\n", broken));
    }

    [RepositoryFact]
    public void Every_relative_markdown_link_resolves()
    {
        string root = RepositoryRoot.Find()!;
        var broken = new List<string>();
        foreach (string file in SourceFiles(root).Where(f => f.EndsWith(".md", StringComparison.Ordinal)))
        {
            string[] lines = File.ReadAllLines(file);
            bool fenced = false;
            for (int l = 0; l < lines.Length; l++)
            {
                if (lines[l].TrimStart().StartsWith("```", StringComparison.Ordinal))
                {
                    fenced = !fenced;
                    continue;
                }
                if (fenced)
                {
                    continue;
                }
                foreach (Match m in MarkdownLink().Matches(lines[l]))
                {
                    string link = m.Groups[1].Value;
                    if (Regex.IsMatch(link, @"^[A-Za-z][A-Za-z0-9+.-]*:"))
                    {
                        continue; // http:, https:, mailto: …
                    }
                    int hash = link.IndexOf('#', StringComparison.Ordinal);
                    string path = Uri.UnescapeDataString(hash < 0 ? link : link[..hash]);
                    string fragment = hash < 0 ? "" : link[hash..];
                    string? resolved = path.Length == 0 ? file : Resolve(root, file, path, rootRelative: false);
                    string? problem = resolved is null ? "no such file or folder in the repository" : FragmentProblem(resolved, fragment);
                    if (problem is not null)
                    {
                        broken.Add($"{Path.GetRelativePath(root, file)}:{l + 1}: ({link}): {problem}");
                    }
                }
            }
        }
        Assert.True(broken.Count == 0, $"{broken.Count} relative markdown link(s) that do not resolve:\n" + string.Join("\n", broken));
    }

    [Fact]
    public void The_scanner_finds_docs_references_and_links()
    {
        // Built from pieces, so that this file does not cite the pages it names.
        const string Docs = "docs";
        var references = DocsReference().Matches($"see {Docs}/method.md#export, ../../{Docs}/format.md and shared/{Docs}/x.md; not x{Docs}/a.md")
            .Select(m => m.Value).ToArray();
        Assert.Equal([$"{Docs}/method.md#export", $"../../{Docs}/format.md", $"shared/{Docs}/x.md"], references);
        var links = MarkdownLink().Matches($"[a]({Docs}/a.md) ![b](img.png \"t\") [c](https://x.org/y) [d](#here)").Select(m => m.Groups[1].Value).ToArray();
        Assert.Equal([$"{Docs}/a.md", "img.png", "https://x.org/y", "#here"], links);
        Assert.Equal("evaluation-rows-sparcode-eval-metricsjson-next-to-the-model", Slug("Evaluation rows (`sparcode eval`, `metrics.json` next to the model)"));
        Assert.Equal("attention-query-tower-kinds-2029-version-2", Slug("Attention query tower (kinds 20–29, version 2)"));
    }

    private static IEnumerable<string> SourceFiles(string root)
    {
        var pending = new Stack<string>([root]);
        while (pending.Count > 0)
        {
            string dir = pending.Pop();
            foreach (string sub in Directory.EnumerateDirectories(dir))
            {
                if (!SkippedFolders.Contains(Path.GetFileName(sub)) && (File.GetAttributes(sub) & FileAttributes.ReparsePoint) == 0)
                {
                    pending.Push(sub);
                }
            }
            foreach (string file in Directory.EnumerateFiles(dir))
            {
                if (Extensions.Contains(Path.GetExtension(file), StringComparer.Ordinal))
                {
                    yield return file;
                }
            }
        }
    }

    /// <summary>
    /// The file or folder <paramref name="target"/> names, relative to the citing file's folder (and, for a bare
    /// docs reference, to the repository root), if it exists inside the repository; else null.
    /// </summary>
    private static string? Resolve(string root, string file, string target, bool rootRelative)
    {
        var bases = new List<string>();
        if (target.StartsWith('/'))
        {
            bases.Add(root);
            target = target.TrimStart('/');
        }
        else
        {
            bases.Add(Path.GetDirectoryName(file)!);
            if (rootRelative)
            {
                bases.Add(root);
            }
        }
        string inside = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)) + Path.DirectorySeparatorChar;
        foreach (string b in bases)
        {
            string full = Path.GetFullPath(Path.Combine(b, target));
            if (full.StartsWith(inside, StringComparison.Ordinal) && (File.Exists(full) || Directory.Exists(full)))
            {
                return full;
            }
        }
        return null;
    }

    /// <summary>Null if <paramref name="fragment"/> (with its '#', or empty) names a heading of a markdown target, or the target is not markdown.</summary>
    private static string? FragmentProblem(string target, string fragment)
    {
        if (fragment.Length <= 1 || !target.EndsWith(".md", StringComparison.Ordinal) || !File.Exists(target))
        {
            return null;
        }
        string anchor = Uri.UnescapeDataString(fragment[1..]);
        var anchors = Anchors(target);
        return anchors.Contains(anchor) ? null : $"no heading with the anchor #{anchor} (it has: {string.Join(", ", anchors.Select(a => "#" + a))})";
    }

    /// <summary>GitHub's anchors of a markdown file's headings, outside code fences (a repeated one gets -1, -2, …).</summary>
    private static List<string> Anchors(string markdown)
    {
        var anchors = new List<string>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        bool fenced = false;
        foreach (string line in File.ReadLines(markdown))
        {
            if (line.TrimStart().StartsWith("```", StringComparison.Ordinal))
            {
                fenced = !fenced;
                continue;
            }
            var m = Heading().Match(line);
            if (fenced || !m.Success)
            {
                continue;
            }
            string slug = Slug(m.Groups[2].Value);
            int n = seen.GetValueOrDefault(slug);
            seen[slug] = n + 1;
            anchors.Add(n == 0 ? slug : $"{slug}-{n}");
        }
        return anchors;
    }

    /// <summary>GitHub's heading anchor: lower case, letters, digits, '_' and '-' kept, spaces to '-', the rest dropped.</summary>
    private static string Slug(string heading)
    {
        var s = new StringBuilder(heading.Length);
        foreach (char c in heading.ToLowerInvariant())
        {
            if (char.IsLetterOrDigit(c) || c is '_' or '-')
            {
                s.Append(c);
            }
            else if (c == ' ')
            {
                s.Append('-');
            }
        }
        return s.ToString();
    }
}

/// <summary>A fact that reads the repository's sources; skipped with a message when the tests run outside a checkout.</summary>
public sealed class RepositoryFactAttribute : FactAttribute
{
    public RepositoryFactAttribute()
    {
        if (RepositoryRoot.Find() is null)
        {
            Skip = $"No SparCode.Engine.sln above {AppContext.BaseDirectory}: not running from a checkout; skipped.";
        }
    }
}

/// <summary>The checkout the test assembly was built from.</summary>
public static class RepositoryRoot
{
    /// <summary>The nearest folder above the test assembly that holds SparCode.Engine.sln, or null.</summary>
    public static string? Find()
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
}
