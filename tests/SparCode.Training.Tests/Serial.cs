// Trainings share torch's global RNG (manual_seed) and thread count: classes run in parallel made each other's
// weights depend on interleaving (TrainingTests.LossFalls failed once in test.sh), so this assembly runs serially.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
