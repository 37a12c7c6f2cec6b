namespace Chat4All.BuildingBlocks.Outbox;

/// <summary>Wakes this process's relay as soon as a transaction with outbox rows commits.</summary>
public sealed class OutboxSignal : IDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);

    public void Notify()
    {
        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // already signalled; one wake-up covers every commit before it
        }
    }

    public async Task WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        await _signal.WaitAsync(timeout, cancellationToken);

    public void Dispose() => _signal.Dispose();
}
