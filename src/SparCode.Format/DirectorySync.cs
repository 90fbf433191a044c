using System.Runtime.InteropServices;

namespace SparCode.Format;

/// <summary>
/// Flushes a folder's entries to disk, so that a rename into it survives a power loss (POSIX: a rename
/// is durable only once the directory itself is fsync'ed). .NET has no API for it; this opens the folder
/// read-only and calls <c>fsync</c> through libc. No-op on Windows, where NTFS journals the rename.
/// </summary>
internal static class DirectorySync
{
    private const int ReadOnly = 0;

    /// <summary>Flushes <paramref name="folder"/>; errors are ignored (the data file itself is already flushed).</summary>
    public static void Flush(string? folder)
    {
        if (string.IsNullOrEmpty(folder) || !(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS()))
        {
            return;
        }
        int descriptor = Open(folder, ReadOnly);
        if (descriptor < 0)
        {
            return;
        }
        _ = Fsync(descriptor);
        _ = Close(descriptor);
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Fsync(int descriptor);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int Close(int descriptor);
}
