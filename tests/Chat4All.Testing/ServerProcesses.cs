using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Chat4All.Testing;

/// <summary>
/// A private redis-server on a loopback port that a fault test may stop and start again
/// (the shared test Redis is never disturbed).
/// </summary>
public sealed class RedisServerProcess : IAsyncDisposable
{
    private readonly TemporaryDirectory _directory = new("chat4all-redis-");
    private Process? _process;

    public int Port { get; } = ProcessHelpers.FreeLoopbackPort();

    public string ConnectionString => $"127.0.0.1:{Port}";

    public async Task StartAsync()
    {
        _process = ProcessHelpers.Start("redis-server",
            "--bind", "127.0.0.1", "--port", Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--save", "", "--appendonly", "no", "--dir", _directory.Path);
        await ProcessHelpers.WaitForPortAsync(Port, open: true);
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

    public int Port { get; } = ProcessHelpers.FreeLoopbackPort();

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
        await StartAsync();
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
