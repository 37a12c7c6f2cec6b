using System.Text.Json;

namespace Chat4All.Bench;

/// <summary>
/// The setup phase of a scenario (users, tokens, conversations, probes), before anything is measured.
/// Every way it can fail stops the bench with one line on stderr and an exit code, the same for all
/// scenarios: 1 when the host throttles (rate limiting on), cannot be reached, answers something
/// unexpected, or a local file cannot be read or written; 130 when interrupted.
/// </summary>
internal static class ScenarioSetup
{
    /// <summary>Runs <paramref name="setup"/>; null when it succeeded, else the exit code. The setup may return its own exit code after explaining it.</summary>
    public static async Task<int?> RunAsync(Uri url, Func<Task<int?>> setup, CancellationToken cancellationToken)
    {
        try
        {
            return await setup();
        }
        catch (RateLimitedException ex)
        {
            await Console.Error.WriteLineAsync(ex.Message);
        }
        catch (HttpRequestException ex)
        {
            await Console.Error.WriteLineAsync("Cannot reach Chat4All at " + url + ": " + ex.Message);
        }
        catch (Exception ex) when (ex is InvalidOperationException or IOException or UnauthorizedAccessException or JsonException or InvalidDataException)
        {
            await Console.Error.WriteLineAsync(ex.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return 130;
        }

        return 1;
    }

    /// <inheritdoc cref="RunAsync(Uri, Func{Task{int?}}, CancellationToken)"/>
    public static Task<int?> RunAsync(Uri url, Func<Task> setup, CancellationToken cancellationToken) =>
        RunAsync(url, async () =>
        {
            await setup();
            return (int?)null;
        }, cancellationToken);
}
