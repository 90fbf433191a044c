using BenchmarkDotNet.Running;
using SparCode.Benchmarks.Infrastructure;

// Entry point: BenchmarkDotNet's switcher over every benchmark class in this assembly. The few options
// this suite adds (--job, --isa, --quick, ...) are taken out first; everything else goes to
// BenchmarkDotNet. See perf/README.md for the commands.
var options = RunOptions.Parse(args);
var summaries = BenchmarkSwitcher.FromAssembly(typeof(RunOptions).Assembly).Run(options.RemainingArguments, options.CreateGlobalConfig());
// A benchmark whose setup threw or whose process crashed only shows up as a report without results;
// fail the run so that the CI dry run catches it.
var failed = summaries.Where(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success)).Select(s => s.Title).ToList();
foreach (string title in failed)
{
    Console.Error.WriteLine($"Benchmarks failed: {title}");
}
return failed.Count == 0 ? 0 : 1;
