using System.Globalization;

namespace Chat4All.HighAvailability.Tests;

/// <summary>What one injected fault cost a retrying client, and what it must never cost.</summary>
internal sealed record FaultReport(
    string Fault,
    int Accepted,
    int FailedRequests,
    IReadOnlyList<string> RawErrors,
    TimeSpan LongestWriteUnavailability,
    int SocketDrops,
    TimeSpan? EverySocketBackAfter,
    int Lost,
    int Duplicates,
    int Delivered,
    int? DeliveredTwice,
    TimeSpan? HealthyAfter = null)
{
    public static string Header =>
        "| fault | accepted | failed requests (retrying client) | raw errors | longest write unavailability | socket drops | every socket back and resumed | lost | duplicates | delivered | delivered twice | healthy cluster again |\n" +
        "|---|---|---|---|---|---|---|---|---|---|---|---|";

    public string Row()
    {
        var errors = RawErrors.Count == 0
            ? "0"
            : RawErrors.Count.ToString(CultureInfo.InvariantCulture) + " (" +
              string.Join(", ", RawErrors.GroupBy(e => e).OrderByDescending(g => g.Count()).Select(g => $"{g.Key} ×{g.Count()}")) + ")";
        var back = SocketDrops == 0 ? "no drop" : EverySocketBackAfter is { } t ? Seconds(t) : "NOT BACK";
        return string.Create(CultureInfo.InvariantCulture,
            $"| {Fault} | {Accepted} | {FailedRequests} | {errors} | {Seconds(LongestWriteUnavailability)} | {SocketDrops} | {back} | {Lost} | {Duplicates} | {Delivered}/{Accepted} | {DeliveredTwice?.ToString(CultureInfo.InvariantCulture) ?? "not visible to the API"} | {(HealthyAfter is { } h ? Seconds(h) : "–")} |");
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) + " s";
}
