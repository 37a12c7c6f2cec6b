using System.Globalization;
using System.Net;

namespace Chat4All.Bench;

/// <summary>Which scenarios to run.</summary>
internal enum ScenarioSelection
{
    /// <summary>Token issuance and the auth no-op: needs only a running host.</summary>
    All,
    Token,
    Noop,

    /// <summary>Accepted messages next to pgbench; needs rate limiting off and PostgreSQL access, so not part of <see cref="All"/>.</summary>
    Messages,

    /// <summary>End-to-end deliveries (message accepted → every delivery delivered); needs rate limiting off and the delivery service, so not part of <see cref="All"/>.</summary>
    Deliveries,

    /// <summary>Many idle WebSockets on one host: memory and CPU per connection; needs an admin demo user and raised fd limits.</summary>
    Connections,

    /// <summary>POST /v1/messages to the message.created frame on the recipient's socket, open loop at fixed rates; needs rate limiting off.</summary>
    RealtimeLatency,

    /// <summary>One large file through the files API (sequential and parallel chunks) beside dd; the host's peak memory.</summary>
    Uploads,

    /// <summary>Messages into groups of three at fixed rates with every socket open: frames, deliveries, receipts, backlogs, drain and CPU per unit.</summary>
    Pipeline,

    /// <summary>A delivery backlog of --messages ["all"] messages, then messages at a fixed rate with sockets open: socket latency while the backlog is queued.</summary>
    Isolation,

    /// <summary>Faults injected into a scripts/ha.sh cluster under steady load: what a retrying client saw, loss and duplicates.</summary>
    Chaos,
}

/// <summary>Command-line settings. Parsed by hand: a dozen flags do not justify a parser dependency.</summary>
internal sealed record BenchOptions(
    Uri Url,
    string? UsersPath,
    TimeSpan Duration,
    TimeSpan Warmup,
    int Concurrency,
    int TokenConcurrency,
    ScenarioSelection Scenario,
    bool Markdown,
    IReadOnlyList<int> PeakConcurrencies,
    IReadOnlyList<int> LoadPercents,
    int MaxInFlight,
    string? Postgres,
    string? PostgresBin,
    bool Pgbench,
    int Messages,
    int SendConcurrency,
    TimeSpan DeliveryTimeout,
    string? Label,
    int? SendRate,
    int Connections,
    int ConnectRate,
    int ConnectionsPerUser,
    int SourceAddresses,
    TimeSpan Idle,
    int? HostPid,
    string? RealtimeUsersPath,
    IReadOnlyList<int> Rates,
    TimeSpan FrameTimeout,
    int Conversations,
    long FileSizeBytes,
    int ChunkSizeBytes,
    IReadOnlyList<int> UploadParallelism,
    string? DdDirectory,
    Uri? FilesUrl,
    IReadOnlyList<string>? Channels,
    TimeSpan DrainTimeout,
    string KeyPrefix,
    string? Redis)
{
    public const string DefaultUsersPath = ".chat4all/demo-users.json";

    // Hard bounds so a typo cannot turn the bench into an hour-long or fork-bomb-sized run.
    private const int MaxSeconds = 600;
    private const int MaxConcurrency = 1024;
    private const int MaxListEntries = 8;
    private const int MaxLoadPercent = 200;
    private const int MaxMessages = 100_000;
    private const int MaxSendRate = 100_000;
    private const int MaxLabelLength = 80;
    private const int MaxConnections = 100_000;
    private const int MaxConversations = 1000;
    private const int MaxConnectRate = 10_000;
    private const int MaxConnectionsPerUser = 1000; // the host's own upper bound for Chat4All:Realtime:MaxConnectionsPerUser
    private const int MaxSourceAddresses = 250;
    private const int MaxFileSizeMiB = 2048; // the files API's limit
    private const int MinChunkSizeMiB = 5;
    private const int MaxChunkSizeMiB = 50;
    private const int MaxUploadParallelism = 64;
    private const long MiB = 1024 * 1024;

    /// <summary>The environment variable <c>scripts/infra.sh env</c> exports and the host reads.</summary>
    public const string PostgresEnvironmentVariable = "ConnectionStrings__Postgres";

    /// <summary>The PostgreSQL bin directory <c>scripts/infra.sh env</c> exports.</summary>
    public const string PostgresBinEnvironmentVariable = "CHAT4ALL_PG_BIN";

    private static readonly HashSet<string> ValueOptions =
        new(
        [
            "--url", "--users", "--duration", "--warmup", "--concurrency", "--token-concurrency", "--scenario",
            "--peak-concurrency", "--loads", "--max-in-flight", "--postgres", "--pg-bin",
            "--messages", "--send-concurrency", "--timeout", "--label", "--rate",
            "--connections", "--connect-rate", "--connections-per-user", "--source-addresses", "--idle", "--host-pid",
            "--realtime-users", "--rates", "--frame-timeout", "--conversations",
            "--file-size", "--chunk-size", "--parallel", "--dd-dir", "--files-url",
            "--channels", "--drain-timeout", "--key-prefix", "--redis",
        ], StringComparer.Ordinal);

    public const string Usage = """
        Chat4All.Bench: HTTP load against a running Chat4All host. token and noop: closed loop, next to a
        bare Kestrel ceiling. messages: closed-loop peak and open-loop offered loads, next to pgbench.
        deliveries: end-to-end deliveries/s and latency, message accepted -> every delivery delivered.

        connections: many idle WebSockets on one host, memory and CPU per connection. realtime-latency:
        POST /v1/messages to the message.created frame on the recipient's socket, open loop. uploads: one
        large file through the files API, sequential and parallel chunks, beside dd; the host's peak RSS.
        pipeline: messages into groups of three at fixed rates with every socket open: socket, delivered
        and receipt latency, end backlogs and drain time, CPU per message and per delivery.

        Usage: dotnet run -c Release --project bench/Chat4All.Bench -- [options]

          --url <url>                 Chat4All base URL; loopback only (default http://127.0.0.1:8080)
          --users <path>              demo users JSON (default .chat4all/demo-users.json, looked up in the
                                      current directory, then in the repo root holding Chat4All.sln)
          --duration <seconds>        measured period per target (default 10, max 600)
          --warmup <seconds>          unrecorded warm-up per target (default 3, max 600)
          --concurrency <n>           workers for the authenticated no-op (default 32, max 1024)
          --token-concurrency <n>     workers for token issuance (default 8; it is CPU-heavy server-side)
          --scenario all|token|noop|messages|deliveries|connections|realtime-latency|uploads|pipeline|isolation|chaos
                                      what to run (default all = token + noop; the others run only
                                      when named, because they need the setup below)
          --markdown                  print the results as a Markdown table
          --help                      show this text

        The messages scenario (POST /v1/messages, beside pgbench on the same PostgreSQL):
          --peak-concurrency <list>   closed-loop workers for the peak runs (default 8,32,64)
          --loads <list>              open-loop offered loads in % of the measured peak (default 25,50,75,100)
          --max-in-flight <n>         open-loop cap on requests in flight; a send due while the cap is
                                      reached is dropped and counted as an error (default 1024, max 1024)
          --postgres <conn-string>    the platform's PostgreSQL, as an Npgsql connection string
                                      (Host=...;Port=...;Database=...;Username=...;Password=...). Default:
                                      the ConnectionStrings__Postgres environment variable, which
                                      `eval "$(scripts/infra.sh env)"` exports. Loopback hosts only. The
                                      bench creates schema `bench` and table bench.messages there and
                                      truncates only that table; the password reaches pgbench and psql
                                      through PGPASSWORD, never on a command line
          --pg-bin <dir>              directory holding pgbench and psql (default: $CHAT4ALL_PG_BIN, else PATH)
          --no-pgbench                skip the pgbench baseline (then --postgres is optional)
          The host must run with rate limiting off, or 429s stop the bench:
            Chat4All__RateLimiting__Enabled=false scripts/run.sh

        The deliveries scenario (POST /v1/messages with channels whatsapp+sms to groups of the 4 chat demo
        users, 3 recipients x 2 channels = 6 deliveries per message, then waits until all are delivered):
          --messages <n>              messages to send (default 1000, max 100000)
          --send-concurrency <n>      sends in flight at once (default 16, max 1024)
          --rate <msgs/s>             pace the sends at this many messages/s (default: unpaced, as fast
                                      as --send-concurrency allows, i.e. a burst)
          --timeout <seconds>         after the last send, how long to wait for every delivery to be
                                      delivered before stopping with an error (default 120, max 600)
          --label <text>              names the run in the table, e.g. "zero latency" or "50-200 ms".
                                      The channel settings are host configuration the API does not
                                      show; start the host with them, e.g. (rate limiting off too):
            Chat4All__RateLimiting__Enabled=false \
            Chat4All__Delivery__Channels__whatsapp__DeliveredDelay=00:00:00 \
            Chat4All__Delivery__Channels__sms__DeliveredDelay=00:00:00 ... scripts/run.sh
                                      (see bench/README.md for both configurations)

        The connections scenario (N WebSockets to GET /ws, idle, answering the server's pings):
          --connections <n>           sockets to open (default 10000, max 100000)
          --connect-rate <n/s>        new sockets per second at most (default 500, max 10000)
          --connections-per-user <n>  sockets per user (default 10, the host's default
                                      Chat4All:Realtime:MaxConnectionsPerUser; at most 1000, the
                                      most the host accepts for that setting). The bench provisions
                                      ceil(connections / n) users through POST /v1/admin/users with the
                                      admin demo user and keeps their credentials for reruns
          --realtime-users <path>     where those credentials are kept (default: bench-realtime-users.json
                                      next to the demo users file; mode 600)
          --source-addresses <n>      client source addresses 127.0.0.2 .. 127.0.0.(n+1), one ephemeral
                                      port range each (default 8; 0 = let the kernel pick)
          --idle <seconds>            idle window with every socket open, over which the host's CPU is
                                      measured (default 30, max 600)
          --host-pid <pid>            the host process to read /proc/<pid>/status and stat from (default:
                                      the process listening on --url's port)
          Raise the fd limit of both processes first (ulimit -n 65536), and start the host with a short
          heartbeat so pings happen during the idle window, e.g.
            Chat4All__Realtime__HeartbeatInterval=00:00:05 Chat4All__Realtime__PongTimeout=00:00:04

        The realtime-latency scenario (one sender, one recipient with an open socket):
          --rates <list>              offered messages/s, open loop (default 100,500,1000; each 1..100000)
          --conversations <n>         1 = one private conversation (every message in one partition, so
                                      consumed strictly one after another); n > 1 = n group conversations
                                      of sender, recipient and a third demo user, sent to round robin, the
                                      rate spread over the bus's shards (default 32, max 1000)
          --frame-timeout <seconds>   a message whose frame has not arrived this long after its send is
                                      lost (default 10, max 600)
          --duration, --warmup, --max-in-flight as for the messages scenario. Rate limiting must be off:
            Chat4All__RateLimiting__Enabled=false

        The pipeline scenario (the first chat demo user sends into groups with the next two; all three
        hold a WebSocket; one run per rate, each drained before the next):
          --rates <list>              offered messages/s, open loop (default 100,500,1000)
          --duration <seconds>        sending time per rate (default 10)
          --channels all|default|<list>  the messages' channels (default all: broadcast on every channel
                                      the recipient has an address on; default: the field left out, so
                                      each recipient gets it on their preferred channel)
          --conversations <n>         groups sent to round robin (default 32)
          --drain-timeout <seconds>   after the last send, how long to wait for every backlog to empty
                                      (default 60, max 600)
          --postgres, --pg-bin        as for the messages scenario: psql reads the outbox and delivery backlogs
          --redis <host:port>         Redis, for stream lag (default $ConnectionStrings__Redis; redis-cli)
          --key-prefix <prefix>       the host's Chat4All__EventBus__KeyPrefix (default chat4all)
          --host-pid <pid>            the host process for Host CPU % (default: listening on --url's port)
          Rate limiting must be off; eval "$(scripts/infra.sh env)" exports the connection strings.

        The isolation scenario (the pipeline scenario's users, groups, backlogs and CPU): first --messages
        messages with ["all"] as fast as they are accepted (the delivery backlog; 5000 queue ~50,000
        deliveries), then sockets open and the first of --rates for --duration with --channels: socket
        latency while the backlog is queued, the backlog at the start and end of that window.

        The uploads scenario (initiate, POST every chunk, complete, wait for completed; per entry of --parallel):
          --file-size <MiB>           file size (default 2048 = 2 GiB, the API's maximum; at least 1)
          --chunk-size <MiB>          chunk size (default 8; 5..50 as the API allows)
          --parallel <list>           chunk requests in flight, one run each (default 1,4; each 1..64)
          --dd-dir <path>             where dd writes the same number of bytes for comparison, then
                                      deletes them (default: the folder of the demo users file, i.e.
                                      the host's data directory, which holds its blobs: same disk)
          --files-url <url>           a host serving the files target on its own (default: --url); tokens
                                      and the conversation still come from --url. Its memory is the
                                      files service's alone, as in a deployment with one app per target
          --host-pid <pid>            the process whose memory is sampled (default: the process listening
                                      on the port of --files-url, else --url)
          Rate limiting must be off (a 2 GiB file is 256 chunk requests): Chat4All__RateLimiting__Enabled=false

        The chaos scenario (faults injected into the cluster of scripts/ha.sh under steady sends with
        idempotency keys and client retries, resuming sockets and deliveries; one report row per fault:
        SIGKILL of a host, of the PostgreSQL leader, of the Redis master, SIGSTOP of a host for 20 s,
        a restart of everything). Run it from the repository, against HAProxy and the cluster's users:
            scripts/ha.sh up
            dotnet run -c Release --project bench/Chat4All.Bench -- --scenario chaos \
              --url http://127.0.0.1:18179 --users .chat4all/ha/demo-users.json
        """;

    public static BenchOptions Default { get; } = new(
        new Uri("http://127.0.0.1:8080"),
        UsersPath: null,
        Duration: TimeSpan.FromSeconds(10),
        Warmup: TimeSpan.FromSeconds(3),
        Concurrency: 32,
        TokenConcurrency: 8,
        ScenarioSelection.All,
        Markdown: false,
        PeakConcurrencies: [8, 32, 64],
        LoadPercents: [25, 50, 75, 100],
        MaxInFlight: 1024,
        Postgres: null,
        PostgresBin: null,
        Pgbench: true,
        Messages: 1000,
        SendConcurrency: 16,
        DeliveryTimeout: TimeSpan.FromSeconds(120),
        Label: null,
        SendRate: null,
        Connections: 10_000,
        ConnectRate: 500,
        ConnectionsPerUser: 10,
        SourceAddresses: 8,
        Idle: TimeSpan.FromSeconds(30),
        HostPid: null,
        RealtimeUsersPath: null,
        Rates: [100, 500, 1000],
        FrameTimeout: TimeSpan.FromSeconds(10),
        Conversations: 32,
        FileSizeBytes: 2048 * MiB,
        ChunkSizeBytes: (int)(8 * MiB),
        UploadParallelism: [1, 4],
        DdDirectory: null,
        FilesUrl: null,
        Channels: ["all"],
        DrainTimeout: TimeSpan.FromSeconds(60),
        KeyPrefix: "chat4all",
        Redis: null);

    /// <summary>The environment variable <c>scripts/infra.sh env</c> exports for Redis (host:port).</summary>
    public const string RedisEnvironmentVariable = "ConnectionStrings__Redis";

    /// <summary>Redis from <c>--redis</c>, else the environment, as (host, port); null when neither is set or it is not host:port.</summary>
    public (string Host, int Port)? ResolveRedis()
    {
        var value = Redis ?? Environment.GetEnvironmentVariable(RedisEnvironmentVariable);
        var first = value?.Split(',')[0].Trim();
        var colon = first?.LastIndexOf(':') ?? -1;
        return first is not null && colon > 0 && int.TryParse(first[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port)
            ? (first[..colon], port)
            : null;
    }

    /// <summary>The connection string from <c>--postgres</c>, else from the environment; null when neither is set.</summary>
    public string? ResolvePostgres() =>
        Postgres ?? (Environment.GetEnvironmentVariable(PostgresEnvironmentVariable) is { Length: > 0 } fromEnvironment ? fromEnvironment : null);

    /// <summary>Parses <paramref name="args"/>; returns null and sets <paramref name="error"/> (empty for --help).</summary>
    public static BenchOptions? Parse(IReadOnlyList<string> args, out string? error)
    {
        var options = Default;
        error = null;
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string? inlineValue = null;
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && equals > 0)
            {
                inlineValue = arg[(equals + 1)..];
                arg = arg[..equals];
            }

            switch (arg)
            {
                case "--help" or "-h" or "-?":
                    error = string.Empty;
                    return null;
                case "--markdown":
                    options = options with { Markdown = true };
                    continue;
                case "--no-pgbench":
                    options = options with { Pgbench = false };
                    continue;
            }

            if (!ValueOptions.Contains(arg))
            {
                error = $"Unknown option '{arg}'.";
                return null;
            }

            // Every remaining flag takes a value, either inline (--x=1) or as the next argument.
            string value;
            if (inlineValue is not null)
            {
                value = inlineValue;
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                error = $"{arg} needs a value.";
                return null;
            }

            switch (arg)
            {
                case "--url":
                    if (!TryParseLoopbackUrl(value, out var url, out error))
                    {
                        return null;
                    }

                    options = options with { Url = url };
                    break;
                case "--users":
                    options = options with { UsersPath = value };
                    break;
                case "--duration":
                    if (!TryParseInt(arg, value, 1, MaxSeconds, out var duration, out error))
                    {
                        return null;
                    }

                    options = options with { Duration = TimeSpan.FromSeconds(duration) };
                    break;
                case "--warmup":
                    if (!TryParseInt(arg, value, 0, MaxSeconds, out var warmup, out error))
                    {
                        return null;
                    }

                    options = options with { Warmup = TimeSpan.FromSeconds(warmup) };
                    break;
                case "--concurrency":
                    if (!TryParseInt(arg, value, 1, MaxConcurrency, out var concurrency, out error))
                    {
                        return null;
                    }

                    options = options with { Concurrency = concurrency };
                    break;
                case "--token-concurrency":
                    if (!TryParseInt(arg, value, 1, MaxConcurrency, out var tokenConcurrency, out error))
                    {
                        return null;
                    }

                    options = options with { TokenConcurrency = tokenConcurrency };
                    break;
                case "--scenario":
                    ScenarioSelection? scenario = value.ToUpperInvariant() switch
                    {
                        "ALL" => ScenarioSelection.All,
                        "TOKEN" => ScenarioSelection.Token,
                        "NOOP" => ScenarioSelection.Noop,
                        "MESSAGES" => ScenarioSelection.Messages,
                        "DELIVERIES" => ScenarioSelection.Deliveries,
                        "CONNECTIONS" => ScenarioSelection.Connections,
                        "REALTIME-LATENCY" => ScenarioSelection.RealtimeLatency,
                        "UPLOADS" => ScenarioSelection.Uploads,
                        "PIPELINE" => ScenarioSelection.Pipeline,
                        "ISOLATION" => ScenarioSelection.Isolation,
                        "CHAOS" => ScenarioSelection.Chaos,
                        _ => null,
                    };
                    if (scenario is null)
                    {
                        error = $"--scenario must be all, token, noop, messages, deliveries, connections, realtime-latency, uploads, pipeline, isolation or chaos (got '{value}').";
                        return null;
                    }

                    options = options with { Scenario = scenario.Value };
                    break;
                case "--peak-concurrency":
                    if (!TryParseIntList(arg, value, 1, MaxConcurrency, out var peakConcurrencies, out error))
                    {
                        return null;
                    }

                    options = options with { PeakConcurrencies = peakConcurrencies };
                    break;
                case "--loads":
                    if (!TryParseIntList(arg, value, 1, MaxLoadPercent, out var loads, out error))
                    {
                        return null;
                    }

                    options = options with { LoadPercents = loads };
                    break;
                case "--max-in-flight":
                    if (!TryParseInt(arg, value, 1, MaxConcurrency, out var maxInFlight, out error))
                    {
                        return null;
                    }

                    options = options with { MaxInFlight = maxInFlight };
                    break;
                case "--postgres":
                    if (string.IsNullOrWhiteSpace(value))
                    {
                        error = "--postgres needs a connection string.";
                        return null;
                    }

                    options = options with { Postgres = value };
                    break;
                case "--pg-bin":
                    options = options with { PostgresBin = value };
                    break;
                case "--messages":
                    if (!TryParseInt(arg, value, 1, MaxMessages, out var messages, out error))
                    {
                        return null;
                    }

                    options = options with { Messages = messages };
                    break;
                case "--send-concurrency":
                    if (!TryParseInt(arg, value, 1, MaxConcurrency, out var sendConcurrency, out error))
                    {
                        return null;
                    }

                    options = options with { SendConcurrency = sendConcurrency };
                    break;
                case "--timeout":
                    if (!TryParseInt(arg, value, 1, MaxSeconds, out var timeout, out error))
                    {
                        return null;
                    }

                    options = options with { DeliveryTimeout = TimeSpan.FromSeconds(timeout) };
                    break;
                case "--rate":
                    if (!TryParseInt(arg, value, 1, MaxSendRate, out var sendRate, out error))
                    {
                        return null;
                    }

                    options = options with { SendRate = sendRate };
                    break;
                case "--label":
                    // It lands in a table cell: one line, no pipe (it would split the Markdown row).
                    var label = value.Trim();
                    if (label.Length is 0 or > MaxLabelLength || label.Any(c => char.IsControl(c) || c == '|'))
                    {
                        error = $"--label must be 1 to {MaxLabelLength} characters on one line, without '|' (got '{value}').";
                        return null;
                    }

                    options = options with { Label = label };
                    break;
                case "--conversations":
                    if (!TryParseInt(arg, value, 1, MaxConversations, out var conversations, out error))
                    {
                        return null;
                    }

                    options = options with { Conversations = conversations };
                    break;
                case "--connections":
                    if (!TryParseInt(arg, value, 1, MaxConnections, out var connections, out error))
                    {
                        return null;
                    }

                    options = options with { Connections = connections };
                    break;
                case "--connect-rate":
                    if (!TryParseInt(arg, value, 1, MaxConnectRate, out var connectRate, out error))
                    {
                        return null;
                    }

                    options = options with { ConnectRate = connectRate };
                    break;
                case "--connections-per-user":
                    if (!TryParseInt(arg, value, 1, MaxConnectionsPerUser, out var perUser, out error))
                    {
                        return null;
                    }

                    options = options with { ConnectionsPerUser = perUser };
                    break;
                case "--source-addresses":
                    if (!TryParseInt(arg, value, 0, MaxSourceAddresses, out var sources, out error))
                    {
                        return null;
                    }

                    options = options with { SourceAddresses = sources };
                    break;
                case "--idle":
                    if (!TryParseInt(arg, value, 1, MaxSeconds, out var idle, out error))
                    {
                        return null;
                    }

                    options = options with { Idle = TimeSpan.FromSeconds(idle) };
                    break;
                case "--host-pid":
                    if (!TryParseInt(arg, value, 1, int.MaxValue, out var hostPid, out error))
                    {
                        return null;
                    }

                    options = options with { HostPid = hostPid };
                    break;
                case "--realtime-users":
                    if (string.IsNullOrWhiteSpace(value))
                    {
                        error = "--realtime-users needs a path.";
                        return null;
                    }

                    options = options with { RealtimeUsersPath = value };
                    break;
                case "--rates":
                    if (!TryParseIntList(arg, value, 1, MaxSendRate, out var rates, out error))
                    {
                        return null;
                    }

                    options = options with { Rates = rates };
                    break;
                case "--channels":
                    // "default" leaves the field out, so the server routes each recipient to their preferred channel.
                    options = options with
                    {
                        Channels = value.Equals("default", StringComparison.OrdinalIgnoreCase) ? null
                            : value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
                    };
                    break;
                case "--drain-timeout":
                    if (!TryParseInt(arg, value, 1, MaxSeconds, out var drainTimeout, out error))
                    {
                        return null;
                    }

                    options = options with { DrainTimeout = TimeSpan.FromSeconds(drainTimeout) };
                    break;
                case "--key-prefix":
                    options = options with { KeyPrefix = value };
                    break;
                case "--redis":
                    options = options with { Redis = value };
                    break;
                case "--frame-timeout":
                    if (!TryParseInt(arg, value, 1, MaxSeconds, out var frameTimeout, out error))
                    {
                        return null;
                    }

                    options = options with { FrameTimeout = TimeSpan.FromSeconds(frameTimeout) };
                    break;
                case "--file-size":
                    if (!TryParseInt(arg, value, 1, MaxFileSizeMiB, out var fileSize, out error))
                    {
                        return null;
                    }

                    options = options with { FileSizeBytes = fileSize * MiB };
                    break;
                case "--chunk-size":
                    if (!TryParseInt(arg, value, MinChunkSizeMiB, MaxChunkSizeMiB, out var chunkSize, out error))
                    {
                        return null;
                    }

                    options = options with { ChunkSizeBytes = (int)(chunkSize * MiB) };
                    break;
                case "--parallel":
                    if (!TryParseIntList(arg, value, 1, MaxUploadParallelism, out var parallelism, out error))
                    {
                        return null;
                    }

                    options = options with { UploadParallelism = parallelism };
                    break;
                case "--dd-dir":
                    options = options with { DdDirectory = value };
                    break;
                case "--files-url":
                    if (!TryParseLoopbackUrl(value, out var filesUrl, out error))
                    {
                        return null;
                    }

                    options = options with { FilesUrl = filesUrl };
                    break;
                default:
                    throw new InvalidOperationException("ValueOptions lists " + arg + " but nothing parses it.");
            }
        }

        return options;
    }

    /// <summary>
    /// Accepts only http(s) URLs whose host is a loopback address (127.0.0.0/8, ::1) or <c>localhost</c>:
    /// the bench is a load generator, and pointing it at a shared or remote machine is never intended.
    /// </summary>
    public static bool TryParseLoopbackUrl(string value, out Uri url, out string? error)
    {
        url = null!;
        if (!Uri.TryCreate(value, UriKind.Absolute, out var parsed) || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps))
        {
            error = $"--url must be an absolute http:// or https:// URL (got '{value}').";
            return false;
        }

        var host = parsed.DnsSafeHost; // IPv6 without brackets
        var isLoopback = string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) ||
            (IPAddress.TryParse(host, out var address) &&
             IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address));
        if (!isLoopback)
        {
            error = $"Refusing --url '{value}': the host '{parsed.Host}' is not a loopback address. " +
                "The bench only targets this machine (127.0.0.0/8, ::1 or localhost).";
            return false;
        }

        // A trailing slash makes relative request URIs ("auth/token") resolve under any path base.
        url = parsed.AbsolutePath.EndsWith('/') ? parsed : new Uri(parsed.AbsoluteUri + "/");
        error = null;
        return true;
    }

    /// <summary>A comma-separated list of distinct whole numbers, kept in the given order.</summary>
    private static bool TryParseIntList(string name, string value, int min, int max, out IReadOnlyList<int> result, out string? error)
    {
        var parts = value.Split(',', StringSplitOptions.TrimEntries);
        var numbers = new List<int>(parts.Length);
        foreach (var part in parts)
        {
            if (!TryParseInt(name, part, min, max, out var number, out error))
            {
                result = [];
                error = $"{name} must be a comma-separated list of whole numbers from {min} to {max} (got '{value}').";
                return false;
            }

            if (!numbers.Contains(number))
            {
                numbers.Add(number);
            }
        }

        if (numbers.Count > MaxListEntries)
        {
            result = [];
            error = $"{name} takes at most {MaxListEntries} values (got {numbers.Count}).";
            return false;
        }

        result = numbers;
        error = null;
        return true;
    }

    private static bool TryParseInt(string name, string value, int min, int max, out int result, out string? error)
    {
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out result) && result >= min && result <= max)
        {
            error = null;
            return true;
        }

        error = $"{name} must be a whole number from {min} to {max} (got '{value}').";
        return false;
    }
}
