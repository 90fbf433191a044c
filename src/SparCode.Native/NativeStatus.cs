using System.Runtime.InteropServices;
using SparCode.Engine;
using SparCode.Format;

namespace SparCode.Native;

/// <summary>The status codes of the C ABI (<c>sc_status</c> in include/sparcode.h); the values are part of the ABI.</summary>
internal enum NativeStatus
{
    Ok = 0,
    InvalidArgument = 1,
    UnknownItem = 2,
    FileNotFound = 3,
    CorruptIndex = 4,
    VersionMismatch = 5,
    Disposed = 6,
    IoError = 7,
    OutOfMemory = 8,
    Internal = 9,
}

/// <summary>Maps the engine's exceptions to <see cref="NativeStatus"/> and keeps each thread's last error message.</summary>
internal static unsafe class NativeErrors
{
    private static readonly byte* Empty = (byte*)NativeMemory.AllocZeroed(1);

    /// <summary>This thread's last message, NUL-terminated UTF-8 in native memory (freed when replaced).</summary>
    [ThreadStatic]
    private static byte* t_message;

    /// <summary>The message for <c>sc_last_error</c>: this thread's last failure, or "".</summary>
    public static byte* LastMessage => t_message != null ? t_message : Empty;

    /// <summary>Records <paramref name="error"/>'s message for this thread and returns its status.</summary>
    public static NativeStatus Fail(Exception error) => Fail(StatusOf(error), MessageOf(error));

    /// <summary>Records <paramref name="message"/> (as one line) for this thread and returns <paramref name="status"/>.</summary>
    public static NativeStatus Fail(NativeStatus status, string message)
    {
        message = message.ReplaceLineEndings(" ");
        int length = System.Text.Encoding.UTF8.GetByteCount(message);
        byte* text = (byte*)NativeMemory.Alloc((nuint)length + 1);
        System.Text.Encoding.UTF8.GetBytes(message, new Span<byte>(text, length));
        text[length] = 0;
        NativeMemory.Free(t_message);
        t_message = text;
        return status;
    }

    /// <summary>The message a C host sees: the engine's, except where that names a C# option instead of the ABI's.</summary>
    private static string MessageOf(Exception error) => error is UnknownItemException u
        ? $"{(u.Query >= 0 ? $"Query {u.Query}: h" : "H")}istory item id {u.ItemId} (position {u.Position}) is not in the index. Create the searcher with unknown_items = SC_UNKNOWN_SKIP to ignore unknown ids."
        : error.Message;

    /// <summary>The status a host sees for <paramref name="error"/>; anything unexpected is <see cref="NativeStatus.Internal"/>.</summary>
    public static NativeStatus StatusOf(Exception error) => error switch
    {
        UnknownItemException => NativeStatus.UnknownItem,
        ArgumentException => NativeStatus.InvalidArgument,
        FileNotFoundException or DirectoryNotFoundException => NativeStatus.FileNotFound,
        CorruptIndexException => NativeStatus.CorruptIndex,
        IndexVersionException => NativeStatus.VersionMismatch,
        ObjectDisposedException => NativeStatus.Disposed,
        IOException or UnauthorizedAccessException => NativeStatus.IoError,
        OutOfMemoryException or InsufficientMemoryException => NativeStatus.OutOfMemory,
        _ => NativeStatus.Internal,
    };
}
