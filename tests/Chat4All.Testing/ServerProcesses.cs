using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace Chat4All.Testing;

/// <summary>
/// A private redis-server on a loopback port that a fault test may stop and start again
/// (the shared test Redis is never disturbed).
/// </summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private readonly TemporaryDirectory _directory = new("chat4all-redis-");
    private Process? _process;
    private bool _started;

    /// <summary>The port, chosen on the first start and kept across restarts (a restarted server is the same address).</summary>
    public int Port { get; private set; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>
    /// Starts the server. redis-server cannot bind port 0 and report it (port 0 turns TCP off), so the first
    /// start tries a free port and proves the server that answers there is this process (INFO's process_id);
    /// if another process took the port in between, it tries another one.
    /// </summary>
    public async Task StartAsync()
    {
        for (var attempt = 1; ; attempt++)
        {
            if (!_started)
            {
                Port = ProcessHelpers.FreeLoopbackPort();
            }

            _process?.Dispose();
            _process = ProcessHelpers.Start("redis-server",
                "--bind", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                "--save", "", "--appendonly", "no", "--dir", _directory.Path);
            if (await AnswersAsItselfAsync(_process))
            {
                _started = true;
                return;
            }

            if (_started || attempt == 5)
            {
                throw new InvalidOperationException($"redis-server did not start on port {Port}.");
            }
        }
    }

    private async Task<bool> AnswersAsItselfAsync(Process process)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline && !process.HasExited)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port);
                var stream = client.GetStream();
                await stream.WriteAsync("INFO server\r\n"u8.ToArray());
                var buffer = new byte[8192];
                var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(2));
                var info = System.Text.Encoding.ASCII.GetString(buffer, 0, read);
                return info.Contains($"process_id:{process.Id}\r\n", StringComparison.Ordinal);
            }
            catch (Exception ex) when (ex is SocketException or IOException or TimeoutException)
            {
                await Task.Delay(50);
            }
        }

        return false;
    }

    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        await ProcessHelpers.WaitForPortAsync(Port, open: false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        _directory.Dispose();
    }
}

/// <summary>
/// A private PostgreSQL cluster (initdb + pg_ctl) on a loopback port that a fault test may stop
/// and start. As root it runs as the <c>postgres</c> OS user, as PostgreSQL requires.
/// </summary>
public sealed class PostgresServerProcess : IAsyncDisposable
{
    private readonly TemporaryDirectory _directory = new("chat4all-pg-");

    /// <summary>The port, chosen by <see cref="InitializeAsync"/> and kept across restarts.</summary>
    public int Port { get; private set; }

    private string DataDirectory => Path.Combine(_directory.Path, "data");

    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Password=postgres;Database=postgres;Timeout=3;Command Timeout=5";

    public async Task InitializeAsync()
    {
        var passwordFile = Path.Combine(_directory.Path, "pw");
        await File.WriteAllTextAsync(passwordFile, "postgres\n");
        if (ProcessHelpers.IsRoot)
        {
            await ProcessHelpers.RunAsync("chown", "-R", "postgres:postgres", _directory.Path);
        }

        await RunAsPostgresAsync(Path.Combine(TestInfrastructure.PostgresBinDirectory, "initdb"),
            "-D", DataDirectory, "-U", "postgres", "--auth=scram-sha-256", "--pwfile", passwordFile, "--no-sync", "-E", "UTF8", "--locale=C");

        // PostgreSQL cannot bind port 0 and report the port, so a free one is tried; a postmaster that
        // finds it taken in between fails to start (pg_ctl -w says so), and another port is tried.
        for (var attempt = 1; ; attempt++)
        {
            Port = ProcessHelpers.FreeLoopbackPort();
            try
            {
                await StartAsync();
                return;
            }
            catch (InvalidOperationException) when (attempt < 5)
            {
            }
        }
    }

    public async Task StartAsync()
    {
        var options = $"-c listen_addresses=127.0.0.1 -c port={Port} -c unix_socket_directories='{_directory.Path}' -c fsync=off";
        await RunAsPostgresAsync(Path.Combine(TestInfrastructure.PostgresBinDirectory, "pg_ctl"),
            "-D", DataDirectory, "-o", options, "-l", Path.Combine(_directory.Path, "log"), "-w", "-t", "60", "start");
    }

    public Task StopAsync() =>
        RunAsPostgresAsync(Path.Combine(TestInfrastructure.PostgresBinDirectory, "pg_ctl"), "-D", DataDirectory, "-m", "immediate", "-w", "stop");

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (InvalidOperationException)
        {
            // already stopped
        }

        _directory.Dispose();
    }

    private static Task RunAsPostgresAsync(string program, params string[] args) =>
        ProcessHelpers.IsRoot
            ? ProcessHelpers.RunAsync("runuser", ["-u", "postgres", "--", program, .. args])
            : ProcessHelpers.RunAsync(program, args);
}

/// <summary>
/// A private <c>moto_server</c> (an in-memory S3 and more, from the moto Python package) on a
/// loopback port, for the S3 blob-store adapter. Any access key and secret are accepted.
/// </summary>
public sealed partial class MotoServerProcess : IAsyncDisposable
{
    private Process? _process;

    /// <summary>The port moto bound (known once <see cref="StartAsync"/> has returned).</summary>
    public int Port { get; private set; }

    public Uri ServiceUrl => new($"http://127.0.0.1:{Port}");

    /// <summary>The S3 blob store's settings for <paramref name="bucket"/> on this server (moto takes any credentials; the bucket is created on first use).</summary>
    public Chat4All.BuildingBlocks.Blobs.S3StorageOptions StorageOptions(string bucket) => new()
    {
        ServiceUrl = ServiceUrl,
        Bucket = bucket,
        AccessKey = "test",
        SecretKey = "test",
        CreateBucket = true,
    };

    /// <summary>
    /// Starts the server on port 0 (the kernel picks the port as werkzeug binds it), reads the bound port from
    /// its "Running on" line, and waits until it answers HTTP (its Python start-up takes a few seconds).
    /// </summary>
    public async Task StartAsync()
    {
        var program = Environment.GetEnvironmentVariable("CHAT4ALL_MOTO_SERVER") is { Length: > 0 } path ? path : "moto_server";
        var bound = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, ArgumentList = { "-H", "127.0.0.1", "-p", "0" } };
        _process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {program}.");
        DataReceivedEventHandler onLine = (_, e) =>
        {
            if (e.Data is not null && RunningOn().Match(e.Data) is { Success: true } match)
            {
                bound.TrySetResult(int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture));
            }
        };
        _process.OutputDataReceived += onLine;
        _process.ErrorDataReceived += onLine;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        if (await Task.WhenAny(bound.Task, _process.WaitForExitAsync(timeout.Token)) != bound.Task)
        {
            throw new InvalidOperationException($"{program} exited or did not report its port within 60 s.");
        }

        Port = await bound.Task;

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{program} exited with {_process.ExitCode} before answering on port {Port}.");
            }

            try
            {
                using var response = await http.GetAsync(new Uri(ServiceUrl, "/moto-api/"));
                return; // any HTTP answer means it is serving
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }

    [GeneratedRegex(@"Running on http://127\.0\.0\.1:([0-9]+)")]
    private static partial Regex RunningOn();

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        _process?.Dispose();
    }
}

internal static class ProcessHelpers
{
    public static bool IsRoot => Environment.UserName == "root";

    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static Process Start(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {program}.");
        process.OutputDataReceived += static (_, _) => { };
        process.ErrorDataReceived += static (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public static async Task RunAsync(string program, params string[] args)
    {
        var info = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {program}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} exited {process.ExitCode}: {await stdout} {await stderr}");
        }
    }

    public static async Task WaitForPortAsync(int port, bool open)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            using var client = new TcpClient();
            try
            {
                await client.ConnectAsync(IPAddress.Loopback, port);
                if (open)
                {
                    return;
                }
            }
            catch (SocketException)
            {
                if (!open)
                {
                    return;
                }
            }

            await Task.Delay(50);
        }

        throw new TimeoutException($"Port {port} did not become {(open ? "open" : "closed")} within 30 s.");
    }
}
