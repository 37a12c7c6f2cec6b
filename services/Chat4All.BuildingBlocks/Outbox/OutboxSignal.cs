using Chat4All.BuildingBlocks.Hosting;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.BuildingBlocks.Outbox;

/// <summary>
/// Wakes this process's relays as soon as a transaction with outbox rows commits. One process runs
/// a relay per service (DbContext), each with a latched signal of its own. A writer that names its
/// context (<see cref="Notify{TContext}"/>) wakes only that service's relay; <see cref="Notify()"/>
/// wakes them all, and a relay with nothing due goes back to sleep after one cheap query. (Waking
/// every relay on every message cost the idle services two queries per message.)
/// </summary>
public sealed class OutboxSignal : IDisposable
{
    private readonly Lock _lock = new();
    private (Type Context, WakeSignal Signal)[] _relays = [];

    /// <summary>A signal of one relay's own, notified by every <see cref="Notify()"/> and by <see cref="Notify{TContext}"/> of its context.</summary>
    public WakeSignal Register(Type context)
    {
        var signal = new WakeSignal();
        lock (_lock)
        {
            _relays = [.. _relays, (context, signal)];
        }

        return signal;
    }

    /// <summary>Rows were committed to <typeparamref name="TContext"/>'s outbox.</summary>
    public void Notify<TContext>()
        where TContext : DbContext
    {
        foreach (var (context, signal) in Volatile.Read(ref _relays))
        {
            if (context == typeof(TContext))
            {
                signal.Notify();
            }
        }
    }

    /// <summary>Rows were committed to some outbox of this process.</summary>
    public void Notify()
    {
        foreach (var (_, signal) in Volatile.Read(ref _relays))
        {
            signal.Notify();
        }
    }

    public void Dispose()
    {
        foreach (var (_, signal) in _relays)
        {
            signal.Dispose();
        }
    }
}
