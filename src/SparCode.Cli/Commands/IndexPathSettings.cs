using System.ComponentModel;
using Spectre.Console.Cli;

namespace SparCode.Cli.Commands;

/// <summary>Options of the commands that take one index file and nothing else (<c>inspect</c>, <c>verify</c>).</summary>
internal sealed class IndexPathSettings : CommandSettings
{
    /// <summary>The index file.</summary>
    [CommandArgument(0, "<PATH>")]
    [Description("Index file.")]
    public string Path { get; init; } = "";
}
