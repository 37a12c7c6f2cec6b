using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Chat4All.Testing;

/// <summary>Runs the real host binary (copied next to these tests) as a separate process.</summary>
public sealed partial class HostProcess : IDisposable
{
    /// <summary>The <c>--urls</c> value that lets the kernel choose a free loopback port as the host binds.</summary>
    public const string AnyLoopbackPort = "http://127.0.0.1:0";

    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private HostProcess(Process process)
    {
        _process = process;
    }

    public string StandardOutput { get { lock (_stdout) { return _stdout.ToString(); } } }

    public string StandardError { get { lock (_stderr) { return _stderr.ToString(); } } }

    public int Id => _process.Id;

    /// <summary>
    /// What every host process of a test starts from: its own database and data directory, the shared
    /// Redis under a key prefix of its own (event bus, presence and simulator keys), and the test issuer
    /// unless <paramref name="issuer"/> is null (the host's configured default then). A test adds its own
    /// settings to the returned dictionary.
    /// </summary>
    public static Dictionary<string, string> Environment(string postgres, string redis, string dataDirectory, string keyPrefix,
        string? issuer = Chat4AllHost.TestIssuer)
    {
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Postgres"] = postgres,
            ["ConnectionStrings__Redis"] = redis,
            ["Chat4All__DataDirectory"] = dataDirectory,
            ["Chat4All__EventBus__KeyPrefix"] = keyPrefix,
            ["Chat4All__Presence__KeyPrefix"] = keyPrefix,
            ["Chat4All__Delivery__Simulator__KeyPrefix"] = keyPrefix,
        };
        if (issuer is not null)
        {
            environment["Chat4All__Auth__Issuer"] = issuer;
        }

        return environment;
    }

    /// <summary>A key prefix no other test uses: <paramref name="name"/> and a random suffix.</summary>
    public static string KeyPrefix(string name) => "c4a-" + name + "-" + Guid.NewGuid().ToString("N")[..8];

    public static HostProcess Start(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        if (InterruptIgnored())
        {
            // Started in the background (`cmd &`, nohup), this process ignores SIGINT and children
            // inherit that; give the host back the default so Interrupt() means Ctrl-C. env execs, same pid.
            info.FileName = "env";
            info.ArgumentList.Add("--default-signal=INT");
            info.ArgumentList.Add("dotnet");
        }

        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Chat4All.Host.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["DOTNET_ENVIRONMENT"] = "Testing";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Testing";
        // Shared Redis and source address: see Chat4AllHost's per-address token budget.
        info.Environment["Chat4All__RateLimiting__Budgets__token_address__PermitLimit"] = "1000000";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var host = new HostProcess(Process.Start(info)!);
        host._process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (host._stdout) { host._stdout.AppendLine(e.Data); } } };
        host._process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (host._stderr) { host._stderr.AppendLine(e.Data); } } };
        host._process.BeginOutputReadLine();
        host._process.BeginErrorReadLine();
        return host;
    }

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        using var host = Start(environment, args);
        var exitCode = await host.WaitForExitAsync(TimeSpan.FromMinutes(2));
        return (exitCode, host.StandardOutput, host.StandardError);
    }

    /// <summary>Provisions a user with the <c>users create</c> command, as an operator would.</summary>
    public static async Task<TestUser> CreateUserAsync(IReadOnlyDictionary<string, string> environment, string? scopes = null)
    {
        string[] args = ["users", "create", "--name", "u" + Guid.NewGuid().ToString("N")[..10]];
        var (exitCode, stdout, stderr) = await RunAsync(environment, scopes is null ? args : [.. args, "--scopes", scopes]);
        Xunit.Assert.True(exitCode == 0, stderr);
        var json = System.Text.Json.JsonDocument.Parse(stdout).RootElement;
        return new TestUser(Guid.Parse(json.GetProperty("user_id").GetString()!), json.GetProperty("name").GetString()!,
            json.GetProperty("client_id").GetString()!, json.GetProperty("client_secret").GetString()!, []);
    }

    /// <summary>Waits until this host serves, then returns a client carrying a fresh token of <paramref name="user"/>.</summary>
    public async Task<HttpClient> CreateAuthenticatedClientAsync(TestUser user)
    {
        var client = new HttpClient { BaseAddress = await WaitForAddressAsync() };
        await WaitUntilServingAsync(client);
        var token = await OAuth.RequestTokenAsync(client, user);
        client.DefaultRequestHeaders.Authorization = new("Bearer", token.AccessToken);
        return client;
    }

    /// <summary>
    /// The address the host bound, read from its "Now listening on" log line: started with
    /// <c>--urls</c> <see cref="AnyLoopbackPort"/>, the kernel picks the port as Kestrel binds it.
    /// </summary>
    public async Task<Uri> WaitForAddressAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && !_process.HasExited)
        {
            if (ListeningAddress().Match(StandardOutput) is { Success: true } match)
            {
                return new Uri(match.Groups[1].Value + "/");
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("The host did not report the address it listens on: " + StandardError + StandardOutput);
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancellation = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cancellation.Token);
        _process.WaitForExit(); // drains the asynchronous output readers
        return _process.ExitCode;
    }

    /// <summary>
    /// Waits until the host logs "Application started" (every hosted service, telemetry included,
    /// has started; serving begins a little earlier) and answers /health.
    /// </summary>
    public async Task WaitUntilServingAsync(HttpClient client)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                break;
            }

            if (StandardOutput.Contains("Application started", StringComparison.Ordinal))
            {
                try
                {
                    using var health = await client.GetAsync("/health");
                    if (health.IsSuccessStatusCode)
                    {
                        return;
                    }
                }
                catch (HttpRequestException)
                {
                }
            }

            await Task.Delay(200);
        }

        throw new TimeoutException("The host did not start serving: " + StandardError + StandardOutput);
    }

    // Bit 2 (SIGINT) of SigIgn in /proc/self/status: set when a shell started us as a background job.
    private static bool InterruptIgnored()
    {
        try
        {
            var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
            return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << 1)) != 0;
        }
        catch (IOException)
        {
            return false; // no /proc: not Linux, nothing to undo
        }
    }

    /// <summary>SIGKILL: the process dies at once, mid-request, with nothing flushed.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>Ctrl-C, as a person at the terminal would press it.</summary>
    public void Interrupt() => Process.Start("kill", ["-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();

    [GeneratedRegex(@"Now listening on: (https?://127\.0\.0\.1:[0-9]+)")]
    private static partial Regex ListeningAddress();

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}
