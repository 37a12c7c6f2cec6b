using Chat4All.BuildingBlocks.Hosting;

namespace Chat4All.BuildingBlocks.Outbox;

/// <summary>
/// Wakes this process's relays as soon as a transaction with outbox rows commits. One process runs
/// a relay per service (DbContext) and a commit does not say whose outbox it wrote, so every relay
/// gets its own latched signal and a notification wakes them all; a relay with nothing due goes
/// back to sleep after one cheap query. (A single shared signal would wake just one of them.)
/// </summary>
public sealed class OutboxSignal : IDisposable
{
    private readonly Lock _lock = new();
    private WakeSignal[] _relays = [];

    /// <summary>A signal of one relay's own, notified by every <see cref="Notify"/> from now on.</summary>
    public WakeSignal Register()
    {
        var signal = new WakeSignal();
        lock (_lock)
        {
            _relays = [.. _relays, signal];
        }

        return signal;
    }

    public void Notify()
    {
        foreach (var relay in Volatile.Read(ref _relays))
        {
            relay.Notify();
        }
    }

    public void Dispose()
    {
        foreach (var relay in _relays)
        {
            relay.Dispose();
        }
    }
}
