namespace Chat4All.BuildingBlocks.Hosting;

/// <summary>
/// Wakes one waiting background loop early. Notifications coalesce: one wake-up covers every
/// notification before it, and a notification with nobody waiting is kept for the next wait.
/// Derived types exist only to be told apart in dependency injection.
/// </summary>
public class WakeSignal : IDisposable
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
            // already signalled; one wake-up covers every notification before it
        }
    }

    /// <summary>Returns true when notified, false after <paramref name="timeout"/>, whichever comes first.</summary>
    public Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken) => _signal.WaitAsync(timeout, cancellationToken);

    public void Dispose()
    {
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
        if (disposing)
        {
            _signal.Dispose();
        }
    }
}
