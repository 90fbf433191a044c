using SharpFuzz;
using SparCode.Fuzz;

// Usage (see perf/fuzz/run.sh, which runs it under AFL++ with the engine assemblies instrumented):
//   SparCode.Fuzz                      the fuzz target: under afl-fuzz, SharpFuzz's out-of-process fork server
//                                      (a child that dies is restarted); otherwise one run on standard input
//   SparCode.Fuzz --write-seeds DIR    writes the seed corpus
//   SparCode.Fuzz --replay FILE...     runs each file through the target; prints each outcome, exits 1 if any failed
// Scratch files go to $SPARCODE_FUZZ_TMP, else /dev/shm, else the temporary folder.
string scratch = Environment.GetEnvironmentVariable("SPARCODE_FUZZ_TMP") is { Length: > 0 } tmp ? tmp
    : Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();
var target = new FuzzTarget(scratch);

if (args is ["--write-seeds", var seedDir])
{
    foreach (string path in Seeds.Write(seedDir))
    {
        Console.WriteLine($"{path}: {new FileInfo(path).Length} bytes");
    }
    return 0;
}
if (args is ["--replay", .. var files] && files.Length > 0)
{
    int failed = 0;
    foreach (string file in files)
    {
        try
        {
            Console.WriteLine($"{file}: {target.Run(File.ReadAllBytes(file))}");
        }
        catch (Exception e)
        {
            failed++;
            Console.WriteLine($"{file}: {e}");
        }
    }
    return failed == 0 ? 0 : 1;
}
if (args.Length > 0)
{
    Console.Error.WriteLine("usage: SparCode.Fuzz [--write-seeds DIR | --replay FILE...]");
    return 2;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var memory = new MemoryStream();
    stream.CopyTo(memory);
    target.Run(memory.ToArray());
});
return 0;
