using System.Text;
using System.Text.Json;
using Chat4All.Cli;

namespace Chat4All.Clients.Tests;

/// <summary>
/// One person at a terminal: the <c>chat4all</c> CLI run in-process (its real entry point) with a
/// configuration directory of their own and captured stdout/stderr.
/// </summary>
public sealed class CliRunner : IDisposable
{
    private readonly TemporaryDirectory _config = new();

    public CliRunner(Chat4AllHost host, TestUser user)
    {
        Host = host;
        User = user;
    }

    public Chat4AllHost Host { get; }

    public TestUser User { get; }

    public string ConfigDirectory => _config.Path;

    /// <summary>Columns of the terminal stdout pretends to be; null: stdout is redirected (a pipe or a file).</summary>
    public int? TerminalWidth { get; set; }

    /// <summary>The CLI's environment variables (e.g. <c>NO_COLOR</c>).</summary>
    public Dictionary<string, string> Environment { get; } = [];

    public string ProfilePath => Path.Combine(ConfigDirectory, "profiles", "default.json");

    public static async Task<CliRunner> SignedInAsync(Chat4AllHost host, TestUser user)
    {
        var cli = new CliRunner(host, user);
        var login = await cli.LoginAsync();
        Assert.True(login.ExitCode == 0, login.ToString());
        return cli;
    }

    public Task<CliResult> LoginAsync(string? secret = null) =>
        RunWithInputAsync((secret ?? User.ClientSecret) + "\n", "login", "--url", Host.BaseAddress.ToString(), "--client-id", User.ClientId, "--client-secret-stdin");

    public Task<CliResult> RunAsync(params string[] args) => RunWithInputAsync("", args);

    public async Task<CliResult> RunWithInputAsync(string input, params string[] args)
    {
        using var running = Start(args, input, CancellationToken.None);
        return await running.Completion;
    }

    /// <summary>Starts a command that keeps running (tail); its output can be watched while it runs.</summary>
    public RunningCli Start(string[] args, string input = "", CancellationToken cancellationToken = default)
    {
        var output = new WatchedWriter();
        var error = new WatchedWriter();
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var context = new CliContext(output, error, ConfigDirectory, Environment, ErrorIsTerminal: false, new StringReader(input),
            TerminalWidth: TerminalWidth);
        var task = Task.Run(() => CliApp.RunAsync(args, context, cancellation.Token));
        return new RunningCli(args, output, error, cancellation, task);
    }

    public void Dispose() => _config.Dispose();
}

public sealed record CliResult(string[] Args, int ExitCode, string Stdout, string Stderr)
{
    public JsonElement Json => JsonDocument.Parse(Stdout).RootElement;

    public IEnumerable<JsonElement> JsonLines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement);

    public override string ToString() => $"chat4all {string.Join(' ', Args)} → exit {ExitCode}\nstdout:\n{Stdout}\nstderr:\n{Stderr}";
}

public sealed class RunningCli(string[] args, WatchedWriter output, WatchedWriter error, CancellationTokenSource cancellation, Task<int> task) : IDisposable
{
    public WatchedWriter Output { get; } = output;

    public WatchedWriter Error { get; } = error;

    public Task<CliResult> Completion { get; } = task.ContinueWith(t => new CliResult(args, t.Result, output.Text, error.Text), TaskScheduler.Default);

    /// <summary>Ctrl-C.</summary>
    public void Interrupt() => cancellation.Cancel();

    public void Dispose()
    {
        cancellation.Cancel();
        cancellation.Dispose();
    }
}

/// <summary>A thread-safe writer whose text can be awaited for.</summary>
public sealed class WatchedWriter : TextWriter
{
    private readonly StringBuilder _text = new();
    private readonly Lock _gate = new();

    public override Encoding Encoding => Encoding.UTF8;

    public string Text
    {
        get
        {
            lock (_gate)
            {
                return _text.ToString();
            }
        }
    }

    public override void Write(char value)
    {
        lock (_gate)
        {
            _text.Append(value);
        }
    }

    public override void Write(string? value)
    {
        lock (_gate)
        {
            _text.Append(value);
        }
    }

    public async Task WaitForAsync(Func<string, bool> condition, TimeSpan timeout, string what)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition(Text))
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Timed out waiting for {what}. Output so far:\n{Text}");
            }

            await Task.Delay(50);
        }
    }
}
