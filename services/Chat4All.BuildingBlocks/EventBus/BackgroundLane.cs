using Microsoft.Extensions.Options;

namespace Chat4All.BuildingBlocks.EventBus;

/// <summary>
/// The process's budget for background consumption (ADR 0044): a handler call of a group that is
/// not in <see cref="EventBusOptions.PriorityGroups"/> takes one of
/// <see cref="EventBusOptions.BackgroundConcurrency"/> turns, and waits for one when all are taken;
/// the priority groups (realtime) go straight through. On two cores a delivery backlog otherwise
/// runs hundreds of shard workers' handlers at once, and a realtime frame waits behind all of them
/// for the CPU, the thread pool and the connection pools.
/// </summary>
internal sealed class BackgroundLane(IOptions<EventBusOptions> options) : IDisposable
{
    private readonly SemaphoreSlim _turns = new(options.Value.BackgroundConcurrency);
    private readonly HashSet<string> _priority = new(
        options.Value.PriorityGroups.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries), StringComparer.Ordinal);

    /// <summary>A turn to release when the handler is done; the priority groups get one at once that holds nothing.</summary>
    public async ValueTask<Turn> EnterAsync(string consumerGroup, CancellationToken cancellationToken)
    {
        if (_priority.Contains(consumerGroup))
        {
            return default;
        }

        await _turns.WaitAsync(cancellationToken);
        return new Turn(_turns);
    }

    public void Dispose() => _turns.Dispose();

    internal readonly struct Turn(SemaphoreSlim? turns) : IDisposable
    {
        public void Dispose() => turns?.Release();
    }
}
