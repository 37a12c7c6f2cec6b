using System.CommandLine;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Chat4All.Bench;

// The bench: one scenario per run (--scenario, default all = token + noop), each a class in
// BenchScenarios.All with its own options. Results go to stdout, progress to stderr, so
// `> results.md` captures only what belongs in bench/README.md.
var scenarioOption = new Option<IBenchScenario>("--scenario")
{
    Description = "what to run: " + string.Join('|', BenchScenarios.All.Select(s => s.Name)) + " (default all)",
    DefaultValueFactory = _ => BenchScenarios.All[0],
    CustomParser = result =>
    {
        var value = result.Tokens[0].Value;
        if (BenchScenarios.All.FirstOrDefault(s => string.Equals(s.Name, value, StringComparison.OrdinalIgnoreCase)) is { } found)
        {
            return found;
        }

        result.AddError($"--scenario must be {string.Join(", ", BenchScenarios.All.Select(s => s.Name))} (got '{value}').");
        return BenchScenarios.All[0];
    },
};
Option[] common = [CommonOptions.Url, CommonOptions.Users, scenarioOption, CommonOptions.Markdown];
var root = new RootCommand("Chat4All.Bench");
foreach (var option in common.Concat(BenchScenarios.All.SelectMany(s => s.Options)).Distinct())
{
    root.Options.Add(option);
}

if (args.Any(a => a is "--help" or "-h" or "-?"))
{
    Console.Write(Usage());
    return 0;
}

var parsed = root.Parse(args);
var errors = parsed.Errors.Select(e => e.Message).ToList();
var scenario = errors.Count == 0 ? parsed.GetValue(scenarioOption)! : BenchScenarios.All[0];
if (errors.Count == 0)
{
    // An option of another scenario would be silently ignored; say so instead.
    var accepted = common.Concat(scenario.Options).ToHashSet();
    foreach (var other in BenchScenarios.All.SelectMany(s => s.Options).Distinct().Where(o => !accepted.Contains(o) && parsed.GetResult(o) is { Implicit: false }))
    {
        var owners = BenchScenarios.All.Where(s => s.Options.Contains(other)).Select(s => s.Name);
        errors.Add($"{other.Name} does not apply to --scenario {scenario.Name} (it is an option of {string.Join(", ", owners)}).");
    }
}

if (errors.Count > 0)
{
    foreach (var error in errors)
    {
        await Console.Error.WriteLineAsync(error);
    }

    await Console.Error.WriteLineAsync("Run with --help for every scenario and option.");
    return 2;
}

var url = parsed.GetValue(CommonOptions.Url)!;
using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    // Stop the workers and still print what finished, instead of dying mid-table.
    e.Cancel = true;
    interrupt.Cancel();
};
var cancellationToken = interrupt.Token;

var usersPath = DemoUserFile.Resolve(parsed.GetValue(CommonOptions.Users) ?? CommonOptions.DefaultUsersPath, out var tried);
if (usersPath is null)
{
    await Console.Error.WriteLineAsync("Demo users file not found; tried:");
    foreach (var path in tried)
    {
        await Console.Error.WriteLineAsync("  " + path);
    }

    await Console.Error.WriteLineAsync("Start the platform with scripts/run.sh (it writes .chat4all/demo-users.json) or pass --users <path>.");
    return 1;
}

IReadOnlyList<DemoUser> users;
try
{
    users = await DemoUserFile.ReadAsync(usersPath, cancellationToken);
}
catch (Exception ex) when (ex is JsonException or InvalidDataException or IOException)
{
    await Console.Error.WriteLineAsync("Cannot read demo users from " + usersPath + ": " + ex.Message);
    return 1;
}

using var client = new HttpClient(new SocketsHttpHandler
{
    // One connection per closed-loop worker (or open-loop request in flight), never queued behind the pool limit.
    MaxConnectionsPerServer = scenario.HttpConcurrency(parsed),
    // Longer than any run, so no connection is recycled (and re-handshaken) inside a measured window.
    PooledConnectionLifetime = TimeSpan.FromMinutes(30),
    PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
    ConnectTimeout = TimeSpan.FromSeconds(5),
    // Loopback only: an http_proxy in the environment must not route the load elsewhere.
    UseProxy = false,
    UseCookies = false,
    AllowAutoRedirect = false,
    AutomaticDecompression = DecompressionMethods.None,
})
{
    // Bounds every request, so a stalled server cannot stretch a run past its duration by more than this.
    Timeout = TimeSpan.FromSeconds(10),
};

await Console.Error.WriteLineAsync("[bench] demo users: " + users.Count.ToString(CultureInfo.InvariantCulture) + " from " + usersPath);

// Fetching every user's token up front doubles as the preflight: it proves the host is up and the
// credentials are current before any measurement starts.
var accessTokens = new List<string>();
try
{
    await Console.Error.WriteLineAsync("[bench] fetching one access token per demo user from " + url);
    foreach (var user in users)
    {
        accessTokens.Add(await Chat4AllApi.FetchAccessTokenAsync(client, url, user, cancellationToken));
    }
}
catch (HttpRequestException ex)
{
    await Console.Error.WriteLineAsync("Cannot reach Chat4All at " + url + ": " + ex.Message);
    await Console.Error.WriteLineAsync("Start it with scripts/run.sh in another terminal, or pass --url.");
    return 1;
}
catch (InvalidOperationException ex)
{
    await Console.Error.WriteLineAsync(ex.Message);
    await Console.Error.WriteLineAsync("Is --users the file written by the host serving --url? scripts/run.sh reseeds it on every start.");
    return 1;
}
catch (OperationCanceledException)
{
    return 130;
}

return await scenario.RunAsync(new BenchRun(url, new ScenarioReport(Console.Out, parsed.GetValue(CommonOptions.Markdown)), client, users, usersPath, accessTokens), parsed, cancellationToken);

// --help: the common options, then each scenario with what it measures and its own options.
string Usage()
{
    var text = new StringBuilder();
    text.AppendLine("""
        Chat4All.Bench: load against a running Chat4All host, one scenario per run; results on stdout,
        progress on stderr. Details, setups and recorded results: bench/README.md.

        Usage: dotnet run -c Release --project bench/Chat4All.Bench -- [--scenario NAME] [options]

        Every scenario:
        """);
    AppendOptions(text, common);
    text.AppendLine("  --help                      show this text");
    foreach (var each in BenchScenarios.All)
    {
        text.AppendLine().Append("--scenario ").AppendLine(each.Name);
        foreach (var line in each.Description.Split('\n'))
        {
            text.Append("  ").AppendLine(line.TrimEnd());
        }

        AppendOptions(text, each.Options);
    }

    return text.ToString();
}

static void AppendOptions(StringBuilder text, IEnumerable<Option> options)
{
    foreach (var option in options)
    {
        var name = option is Option<bool> ? option.Name : option.Name + " <value>";
        text.Append("  ").Append(name.PadRight(27)).Append(' ').AppendLine(option.Description);
    }
}
