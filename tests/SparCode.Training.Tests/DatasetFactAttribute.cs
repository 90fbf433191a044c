namespace SparCode.Training.Tests;

/// <summary>A fact that needs ../shared/datasets; skipped with a message when it is absent.</summary>
public sealed class DatasetFactAttribute : FactAttribute
{
    public DatasetFactAttribute(string relativeFile)
    {
        if (SharedDatasets.Find(relativeFile) is null)
        {
            Skip = $"../shared/datasets/{relativeFile} is absent (research-only data, not in the repository); skipped.";
        }
    }
}

public static class SharedDatasets
{
    /// <summary>Walks up from the test assembly to the folder holding the repository and looks for shared/datasets there.</summary>
    public static string? Find(string relativeFile)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "SparCode.Engine.sln")))
            {
                string candidate = Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "datasets", relativeFile));
                return File.Exists(candidate) ? candidate : null;
            }
        }
        return null;
    }
}
