using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;

namespace SparCode.Benchmarks.Infrastructure;

/// <summary>
/// The command-line options this suite handles itself, before BenchmarkDotNet sees the rest.
/// </summary>
/// <remarks>
/// <para>
/// <c>--job NAME</c> (<c>-j</c>): BenchmarkDotNet would add that job next to the classes' own
/// instruction-set jobs, so <c>--job Dry</c> would still run three full jobs. Here the named job is
/// applied as a <em>mutator</em> to each instruction-set job instead: <c>--job short</c> gives
/// AVX-512, AVX2 and Scalar, each as a ShortRun.
/// </para>
/// <para>
/// <c>--quick</c> (and <c>--job Dry</c>, which implies it) shrinks every <c>[ParamsSource]</c> to its
/// smallest value, so that a CI dry run builds only small inputs. <c>--isa a,b</c> keeps only the
/// named instruction-set jobs (<c>avx512</c>, <c>avx2</c>, <c>scalar</c>).
/// <c>--iterationCount</c>, <c>--warmupCount</c>, <c>--launchCount</c>, <c>--iterationTime</c> (ms) and
/// <c>--invocationCount</c> (calls per iteration; 1 gives per-query percentiles) adjust that mutator (on
/// BenchmarkDotNet's own parser they would add one more job); other job options are not supported.
/// </para>
/// </remarks>
public sealed class RunOptions
{
    private static readonly Dictionary<string, Job> BaseJobs = new(StringComparer.OrdinalIgnoreCase)
    {
        ["default"] = Job.Default,
        ["dry"] = Job.Dry,
        ["short"] = Job.ShortRun,
        ["shortrun"] = Job.ShortRun,
        ["medium"] = Job.MediumRun,
        ["mediumrun"] = Job.MediumRun,
        ["long"] = Job.LongRun,
        ["longrun"] = Job.LongRun,
        ["verylong"] = Job.VeryLongRun,
        ["verylongrun"] = Job.VeryLongRun,
    };

    private RunOptions(string[] remaining, Job? baseJob)
    {
        RemainingArguments = remaining;
        BaseJob = baseJob;
    }

    /// <summary>
    /// True when the run asked for the smallest inputs (<c>--quick</c> or <c>--job Dry</c>). Read by the
    /// classes' <c>[ParamsSource]</c> members, which BenchmarkDotNet evaluates in this (host) process
    /// only; the child processes receive the chosen values, not this flag.
    /// </summary>
    public static bool Quick { get; private set; }

    /// <summary>The instruction-set jobs kept by <c>--isa</c>; all of them by default.</summary>
    public static IsaLevel[] Isas { get; private set; } = [IsaLevel.Avx512, IsaLevel.Avx2, IsaLevel.Scalar];

    /// <summary>Arguments for BenchmarkDotNet.</summary>
    public string[] RemainingArguments { get; }

    /// <summary>The job given with <c>--job</c>, applied to every instruction-set job; null for BenchmarkDotNet's default.</summary>
    public Job? BaseJob { get; }

    /// <summary>Takes this suite's options out of <paramref name="args"/>.</summary>
    /// <exception cref="ArgumentException">An option is unknown or lacks its value.</exception>
    public static RunOptions Parse(string[] args)
    {
        var rest = new List<string>();
        var counts = new Dictionary<string, int>();
        Job? baseJob = null;
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            switch (arg)
            {
                case "--quick":
                    Quick = true;
                    break;
                case "--job" or "-j":
                    string name = Value(args, ref i);
                    if (!BaseJobs.TryGetValue(name, out baseJob))
                    {
                        throw new ArgumentException($"Unknown --job '{name}'; expected one of {string.Join(", ", BaseJobs.Keys)}.", nameof(args));
                    }
                    Quick |= baseJob == Job.Dry;
                    break;
                case "--iterationCount" or "--warmupCount" or "--launchCount" or "--iterationTime" or "--invocationCount":
                    // BenchmarkDotNet would turn these into one more job; here they shape the mutator.
                    if (!int.TryParse(Value(args, ref i), out int count) || count < 1)
                    {
                        throw new ArgumentException($"{arg} needs a positive integer{(arg == "--iterationTime" ? " (milliseconds)" : "")}.", nameof(args));
                    }
                    counts[arg] = count;
                    break;
                case "--isa":
                    Isas = [.. Value(args, ref i).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(ParseIsa)];
                    break;
                default:
                    rest.Add(arg);
                    break;
            }
        }
        if (Quick && baseJob is null)
        {
            baseJob = Job.Dry;
        }
        if (counts.Count > 0)
        {
            baseJob ??= Job.Default;
            foreach (var (option, count) in counts)
            {
                baseJob = option switch
                {
                    "--iterationCount" => baseJob.WithIterationCount(count),
                    "--warmupCount" => baseJob.WithWarmupCount(count),
                    "--iterationTime" => baseJob.WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(count)),
                    // Each iteration then times exactly N calls (N = 1: one query), so Median and the
                    // percentile columns describe single queries; no forced GC between iterations.
                    "--invocationCount" => baseJob.WithInvocationCount(count).WithUnrollFactor(1).WithGcForce(false),
                    _ => baseJob.WithLaunchCount(count),
                };
            }
        }
        return new RunOptions([.. rest], baseJob);
    }

    /// <summary>BenchmarkDotNet's default config plus, when <c>--job</c> was given, that job as a mutator.</summary>
    public IConfig CreateGlobalConfig()
    {
        var config = DefaultConfig.Instance;
        // A mutator job is applied to every job of every class instead of being added beside them;
        // it keeps each job's id and environment variables.
        return BaseJob is null ? config : config.AddJob(BaseJob.UnfreezeCopy().AsMutator());
    }

    private static string Value(string[] args, ref int i)
    {
        if (i + 1 >= args.Length)
        {
            throw new ArgumentException($"Option {args[i]} needs a value.", nameof(args));
        }
        return args[++i];
    }

    private static IsaLevel ParseIsa(string name) => name.ToLowerInvariant() switch
    {
        "avx512" or "avx-512" => IsaLevel.Avx512,
        "avx2" => IsaLevel.Avx2,
        "scalar" => IsaLevel.Scalar,
        _ => throw new ArgumentException($"Unknown --isa '{name}'; expected avx512, avx2 or scalar."),
    };
}
