namespace Beacon.EndToEnd.Tests;

/// <summary>
/// Tests that load the whole machine (thousands of messages through a `beacon run` process, kill -9): they run on
/// their own, after the parallel ones, so that they neither starve other tests' timeouts on a 2-core CI machine nor
/// are starved by them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class HeavyCollection
{
    public const string Name = "heavy";
}
