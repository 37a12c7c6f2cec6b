using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Chat4All.Delivery.ChannelChanges;

/// <summary>
/// Carries out pending <see cref="ChannelChange"/>s when they are due: woken when the recorder adds
/// some, and otherwise when the next retry is due, at least every
/// <see cref="DeliveryOptions.SweepInterval"/> (which also picks up another instance's unfinished work
/// once its claim has expired). Each round claims a batch in the database, so instances share the work.
/// </summary>
public sealed partial class ChannelChangeWorker(IServiceScopeFactory scopes, IOptions<DeliveryOptions> options, ILogger<ChannelChangeWorker> logger)
    : BackgroundService
{
    private readonly SemaphoreSlim _wake = new(0, 1);

    /// <summary>New changes were recorded: look now.</summary>
    public void Notify()
    {
        if (_wake.CurrentCount == 0)
        {
            try
            {
                _wake.Release();
            }
            catch (SemaphoreFullException)
            {
                // woken already
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            TimeSpan wait;
            try
            {
                await using var scope = scopes.CreateAsyncScope();
                wait = await scope.ServiceProvider.GetRequiredService<ChannelChangeProcessor>().RunDueAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The database or the state store is unavailable: the rows stay pending; try again later.
                wait = options.Value.InitialRetryDelay;
                LogRoundFailed(logger, ex, wait);
            }

            if (wait <= TimeSpan.Zero)
            {
                continue;
            }

            try
            {
                await _wake.WaitAsync(wait, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public override void Dispose()
    {
        _wake.Dispose();
        base.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Carrying out channel edits and recalls failed; trying again in {Delay}")]
    private static partial void LogRoundFailed(ILogger logger, Exception exception, TimeSpan delay);
}
