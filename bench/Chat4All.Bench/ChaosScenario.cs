using System.CommandLine;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Chat4All.HighAvailability.Tests;

namespace Chat4All.Bench;

/// <summary>
/// Bench scenario <c>chaos</c>: against a cluster from <c>scripts/ha.sh up</c> (its HAProxy address
/// as <c>--url</c>, its demo users), the same steady load and resuming sockets as the fault tests
/// (the load code is theirs, linked), one fault after another — SIGKILL of a host, of the
/// PostgreSQL leader, of the Redis master, SIGSTOP of a host for 20 s, a restart of everything —
/// each followed by <c>ha.sh up</c> to heal. One report row per fault. Lost and duplicate messages
/// are checked through the API (<c>GET v1/messages/{id}</c>, the history); a provider receiving a
/// delivery twice is not visible through the API (the fault tests check it in the store).
/// </summary>
internal sealed class ChaosScenario : IBenchScenario
{
    // Set by RunAsync: a scenario runs once per process.
    private Settings options = null!;
    private ScenarioReport report = null!;
    private IReadOnlyList<DemoUser> users = [];

    public string Name => "chaos";

    public string Description =>
        "faults injected into the cluster of scripts/ha.sh under steady sends with idempotency keys and client retries,\n" +
        "resuming sockets and deliveries; one report row per fault (SIGKILL of a host, of the PostgreSQL leader, of the\n" +
        "Redis master, SIGSTOP of a host for 20 s, a restart of everything). Run it against HAProxy and the cluster's users:\n" +
        "scripts/ha.sh up; ... --scenario chaos --url http://127.0.0.1:18179 --users .chat4all/ha/demo-users.json";

    public IReadOnlyList<Option> Options => [];

    // Token fetches only: the steady load has its own clients.
    public int HttpConcurrency(ParseResult parsed) => 16;

    public Task<int> RunAsync(BenchRun run, ParseResult parsed, CancellationToken cancellationToken)
    {
        report = run.Report;
        options = new Settings(run.Url);
        users = run.Users;
        return RunScenarioAsync(cancellationToken);
    }

    internal sealed record Settings(Uri Url);

    private static readonly string[] DoneStatuses = ["sent", "delivered", "read"];

    private async Task<int> RunScenarioAsync(CancellationToken cancellationToken)
    {
        var script = FindHaScript();
        var people = users.Where(u => u.UserId is not null && u.HasScope("messages")).ToList();
        if (people.Count < 4)
        {
            await Console.Error.WriteLineAsync("chaos needs four demo users with user ids (scripts/ha.sh up writes .chat4all/ha/demo-users.json).");
            return 1;
        }

        (string Name, Func<Task> Inject, TimeSpan RunAfter)[] faults =
        [
            ("SIGKILL one of three hosts", () => RunScriptAsync(script, "kill", "host1"), TimeSpan.FromSeconds(8)),
            ("SIGKILL PostgreSQL leader", () => RunScriptAsync(script, "kill", "pg-leader"), TimeSpan.FromSeconds(15)),
            ("SIGKILL Redis master", () => RunScriptAsync(script, "kill", "redis-master"), TimeSpan.FromSeconds(12)),
            ("SIGSTOP one host for 20 s", () => RunScriptAsync(script, "pause", "host2", "20"), TimeSpan.FromSeconds(5)),
            ("restart everything", async () =>
            {
                await RunScriptAsync(script, "down");
                await RunScriptAsync(script, "up");
            }, TimeSpan.FromSeconds(5)),
        ];
        var rows = new List<string>();
        foreach (var (name, inject, runAfter) in faults)
        {
            await Console.Error.WriteLineAsync($"chaos: {name}");
            rows.Add((await RunFaultAsync(name, people, inject, runAfter, cancellationToken)).Row());
            await RunScriptAsync(script, "up");
        }

        report.Line(MachineInfo.Describe());
        report.Line();
        report.Line(FaultReport.Header);
        foreach (var row in rows)
        {
            report.Line(row);
        }

        return 0;
    }

    private async Task<FaultReport> RunFaultAsync(string fault, List<DemoUser> people, Func<Task> inject, TimeSpan runAfter, CancellationToken cancellationToken)
    {
        var time = TimeProvider.System;
        var clients = new List<HttpClient>();
        var lanes = new List<(HttpClient, Guid, ResumingSocket)>();
        for (var i = 0; i + 1 < Math.Min(people.Count, 6); i += 2)
        {
            var sender = await ClientAsync(people[i], cancellationToken);
            clients.Add(sender);
            using var receiver = await ClientAsync(people[i + 1], cancellationToken);
            var conversation = Guid.Parse(await Chat4AllApi.CreateConversationAsync(sender, options.Url,
                sender.DefaultRequestHeaders.Authorization!.Parameter!, "private", [people[i + 1].UserId!], cancellationToken));
            lanes.Add((sender, conversation, new ResumingSocket(options.Url, receiver.DefaultRequestHeaders.Authorization!.Parameter!, conversation, time)));
        }

        await using var load = new SteadyLoad(lanes, time);
        load.Start();
        await Task.Delay(TimeSpan.FromSeconds(3), cancellationToken);
        var faultAt = time.GetUtcNow();
        await inject();
        await Task.Delay(runAfter, cancellationToken);
        await load.StopSendingAsync();
        await load.WaitForSocketsToCatchUpAsync(TimeSpan.FromSeconds(60));
        var outages = load.Lanes.SelectMany(l => l.Socket.Outages).Where(o => o.Dropped >= faultAt).ToList();
        TimeSpan? back = outages.Count == 0 ? TimeSpan.Zero
            : outages.All(o => o.Resumed is not null) ? outages.Max(o => o.Resumed!.Value) - faultAt : null;

        var byConversation = load.Accepted.GroupBy(a => a.ConversationId).ToDictionary(g => g.Key, g => g.ToList());
        int lost = 0, duplicates = 0, delivered = 0;
        foreach (var (conversation, accepted) in byConversation)
        {
            var client = clients[lanes.FindIndex(l => l.Item2 == conversation)];
            var texts = await HistoryTextsAsync(client, conversation, cancellationToken);
            lost += accepted.Count(a => !texts.Contains(a.Text));
            duplicates += texts.GroupBy(t => t).Count(g => g.Count() > 1);
            foreach (var message in accepted)
            {
                var state = await Chat4AllApi.GetMessageAsync(client, options.Url, client.DefaultRequestHeaders.Authorization!.Parameter!,
                    message.MessageId.ToString(), cancellationToken);
                delivered += state.Deliveries!.Any(d => DoneStatuses.Contains(d.Status)) ? 1 : 0;
            }
        }

        foreach (var client in clients)
        {
            client.Dispose();
        }

        return new FaultReport(fault, load.Accepted.Count, load.FailedRequests, [.. load.RawErrors], load.LongestWriteUnavailability,
            outages.Count, back, lost, duplicates, delivered, DeliveredTwice: null);
    }

    private async Task<HttpClient> ClientAsync(DemoUser user, CancellationToken cancellationToken)
    {
        var client = new HttpClient { BaseAddress = options.Url, Timeout = Timeout.InfiniteTimeSpan };
        var token = await Chat4AllApi.FetchAccessTokenAsync(client, options.Url, user, cancellationToken);
        client.DefaultRequestHeaders.Authorization = new("Bearer", token);
        return client;
    }

    /// <summary>Every message text of the conversation, following the history's cursors.</summary>
    private static async Task<List<string>> HistoryTextsAsync(HttpClient client, Guid conversation, CancellationToken cancellationToken)
    {
        var texts = new List<string>();
        string? cursor = null;
        do
        {
            var page = await client.GetFromJsonAsync<JsonElement>(
                $"/v1/conversations/{conversation}/messages?limit=100" + (cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor)), cancellationToken);
            texts.AddRange(page.GetProperty("messages").EnumerateArray()
                .Select(m => m.GetProperty("payload").TryGetProperty("text", out var t) ? t.GetString() ?? "" : ""));
            cursor = page.TryGetProperty("next_cursor", out var next) && next.ValueKind == JsonValueKind.String ? next.GetString() : null;
        }
        while (cursor is not null);

        return texts;
    }

    private static async Task RunScriptAsync(string script, params string[] args)
    {
        var info = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(script);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"ha.sh {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}");
        }
    }

    private static string FindHaScript()
    {
        foreach (var start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                var script = Path.Combine(dir.FullName, "scripts", "ha.sh");
                if (File.Exists(script))
                {
                    return script;
                }
            }
        }

        throw new InvalidOperationException("scripts/ha.sh not found above the current directory.");
    }
}
