namespace Chat4All.Delivery.Deliveries;

public enum CircuitState
{
    Closed = 0,
    HalfOpen = 1,
    Open = 2,
}

/// <summary>
/// Stops an instance from hammering a channel that is down: after
/// <see cref="DeliveryOptions.BreakerFailureThreshold"/> consecutive transient failures it opens
/// and refuses calls for <see cref="DeliveryOptions.BreakDuration"/>, then lets one trial call
/// through (half-open); the trial's success closes it, its failure opens it again. Per instance:
/// each instance learns a channel's health from its own calls.
/// </summary>
public sealed class ChannelCircuitBreaker(int failureThreshold, TimeSpan breakDuration, TimeProvider time)
{
    private readonly Lock _lock = new();
    private CircuitState _state = CircuitState.Closed;
    private int _consecutiveFailures;
    private DateTimeOffset _openedUntil;
    private bool _trialInFlight;

    public CircuitState State
    {
        get
        {
            lock (_lock)
            {
                return _state == CircuitState.Open && time.GetUtcNow() >= _openedUntil ? CircuitState.HalfOpen : _state;
            }
        }
    }

    /// <summary>Whether a call may go ahead now; if not, how long until the breaker lets one through.</summary>
    public bool TryAcquire(out TimeSpan retryAfter)
    {
        lock (_lock)
        {
            retryAfter = TimeSpan.Zero;
            var now = time.GetUtcNow();
            switch (_state)
            {
                case CircuitState.Closed:
                    return true;
                case CircuitState.Open when now < _openedUntil:
                    retryAfter = _openedUntil - now;
                    return false;
                default:
                    // Open and the break is over, or half-open: one trial at a time.
                    _state = CircuitState.HalfOpen;
                    if (_trialInFlight)
                    {
                        retryAfter = breakDuration;
                        return false;
                    }

                    _trialInFlight = true;
                    return true;
            }
        }
    }

    public void RecordSuccess()
    {
        lock (_lock)
        {
            _state = CircuitState.Closed;
            _consecutiveFailures = 0;
            _trialInFlight = false;
        }
    }

    public void RecordFailure()
    {
        lock (_lock)
        {
            _consecutiveFailures++;
            if (_state == CircuitState.HalfOpen || _consecutiveFailures >= failureThreshold)
            {
                _state = CircuitState.Open;
                _openedUntil = time.GetUtcNow() + breakDuration;
            }

            _trialInFlight = false;
        }
    }

    /// <summary>A call that neither proved nor disproved the channel's health (e.g. a permanent recipient error).</summary>
    public void RecordNeutral()
    {
        lock (_lock)
        {
            if (_state == CircuitState.HalfOpen)
            {
                _state = CircuitState.Closed;
                _consecutiveFailures = 0;
            }

            _trialInFlight = false;
        }
    }
}
