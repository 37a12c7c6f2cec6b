using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Chat4All.Host.Tests;

/// <summary>
/// The README's copy-paste blocks, run as a reader would paste them into a shell, in order, against
/// the host binary serving with demo users (as <c>scripts/run.sh</c> leaves it). The only changes:
/// - the host's port in place of 8080;
/// - a line whose comment says "Ctrl-C to stop" gets a few seconds before it is interrupted, as a
///   reader would;
/// - an <c>alias</c> becomes a command of that name on the PATH (aliases are for interactive shells);
/// - a build or install (<c>dotnet pack</c>, <c>dotnet tool</c>) is left out: the suite has built everything.
/// Every <c>curl</c> must get a 2xx or 3xx answer, and every command must succeed
/// (<c>set -euo pipefail</c>), so a block that no longer matches the API fails here.
/// </summary>
public sealed partial class ReadmeWalkthroughTests : IAsyncLifetime
{
    /// <summary>The sections whose blocks talk to a running host, in README order.</summary>
    private static readonly string[] Sections =
        ["Use the CLI and the web console", "Try the auth flow", "Try messaging", "Try delivery", "Try the WebSocket", "Try files"];

    private readonly TemporaryDirectory _work = new();
    private TestDatabase _database = null!;
    private Dictionary<string, string> _environment = null!;

    public async Task InitializeAsync()
    {
        _database = await TestDatabase.CreateAsync();
        // The issuer a reader's host has: the configured default, not the tests' one.
        _environment = HostProcess.Environment(_database.ConnectionString, await TestInfrastructure.RedisConnectionStringAsync(),
            Path.Combine(_work.Path, ".chat4all"), HostProcess.KeyPrefix("readme"), issuer: null);
    }

    public async Task DisposeAsync()
    {
        await _database.DisposeAsync();
        _work.Dispose();
    }

    [Fact]
    public async Task TheReadmesBlocksRunAsWrittenAgainstARunningHost()
    {
        Assert.Equal(0, (await HostProcess.RunAsync(_environment, "migrate")).ExitCode);
        var seeded = await HostProcess.RunAsync(_environment, "users", "seed-demo", "--output", Path.Combine(_work.Path, ".chat4all", "demo-users.json"));
        Assert.True(seeded.ExitCode == 0, seeded.Stderr);
        using var host = HostProcess.Start(_environment, "--target", "all", "--urls", HostProcess.AnyLoopbackPort);
        var address = await host.WaitForAddressAsync();
        using (var client = new HttpClient { BaseAddress = address })
        {
            await host.WaitUntilServingAsync(client);
        }

        // What a reader has at hand: the repository's built clients, a video to upload, a home of their own.
        Directory.CreateSymbolicLink(Path.Combine(_work.Path, "clients"), Path.Combine(RepositoryRoot.Path, "clients"));
        await File.WriteAllBytesAsync(Path.Combine(_work.Path, "video.mp4"), Mp4(300_000));
        Directory.CreateDirectory(Path.Combine(_work.Path, "home"));
        var script = Script(await File.ReadAllTextAsync(Path.Combine(RepositoryRoot.Path, "README.md")), address.Port);
        await File.WriteAllTextAsync(Path.Combine(_work.Path, "walkthrough.sh"), script);

        var (exitCode, output) = await RunBashAsync(Path.Combine(_work.Path, "walkthrough.sh"), address, TimeSpan.FromMinutes(4));

        Assert.True(exitCode == 0, $"The README walkthrough failed (exit {exitCode}); the last lines:\n{Tail(output, 60)}\n\nhost errors:\n{Tail(host.StandardError, 20)}");
    }

    /// <summary>The bash blocks of <see cref="Sections"/>, one script, with the harness around them.</summary>
    internal static string Script(string readme, int port)
    {
        var script = new StringBuilder("""
            set -euo pipefail
            export PATH="$PWD/bin:$PATH"
            # A request the API refuses fails the walkthrough, as it would stop a reader.
            curl() { command curl --fail-with-body "$@"; }
            # "Ctrl-C to stop": a few seconds, then the interrupt a reader would send.
            interrupted() { local rc=0; timeout -s INT 4 "$@" || rc=$?; [[ $rc -eq 0 || $rc -eq 124 || $rc -eq 130 ]] || return $rc; }

            """);
        foreach (var section in Sections)
        {
            var blocks = BashBlocksOf(readme, section);
            Assert.True(blocks.Count > 0, $"README has no bash block under '## {section}'");
            script.AppendLine($"echo '### {section}' >&2");
            foreach (var line in LogicalLines(string.Join('\n', blocks)))
            {
                var command = line.Replace("127.0.0.1:8080", FormattableString.Invariant($"127.0.0.1:{port}"), StringComparison.Ordinal);
                if (Alias().Match(command) is { Success: true } alias)
                {
                    // The same command, reachable from `timeout` and scripts too.
                    script.AppendLine($"mkdir -p bin && printf '#!/bin/sh\\nexec %s \"$@\"\\n' '{alias.Groups[2].Value}' > bin/{alias.Groups[1].Value} && chmod +x bin/{alias.Groups[1].Value}");
                    continue;
                }

                if (command.StartsWith("dotnet pack ", StringComparison.Ordinal) || command.StartsWith("dotnet tool ", StringComparison.Ordinal))
                {
                    continue;
                }

                script.AppendLine(command.Contains("Ctrl-C to stop", StringComparison.Ordinal) ? "interrupted " + command : command);
            }
        }

        return script.ToString();
    }

    private static List<string> BashBlocksOf(string readme, string section)
    {
        var start = readme.IndexOf("\n## " + section + "\n", StringComparison.Ordinal);
        Assert.True(start >= 0, $"README has no section '## {section}'");
        var end = readme.IndexOf("\n## ", start + 4, StringComparison.Ordinal);
        var body = readme[start..(end < 0 ? readme.Length : end)];
        return [.. BashBlock().Matches(body).Select(m => m.Groups[1].Value)];
    }

    /// <summary>Lines joined across trailing backslashes, so a marker in a continued command's comment applies to the whole command.</summary>
    private static IEnumerable<string> LogicalLines(string text)
    {
        var current = new StringBuilder();
        foreach (var raw in text.Split('\n'))
        {
            if (raw.EndsWith('\\'))
            {
                current.Append(raw[..^1]).Append(' ');
                continue;
            }

            current.Append(raw);
            yield return current.ToString();
            current.Clear();
        }
    }

    private async Task<(int ExitCode, string Output)> RunBashAsync(string script, Uri host, TimeSpan timeout)
    {
        var info = new ProcessStartInfo("bash", [script])
        {
            WorkingDirectory = _work.Path,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["HOME"] = Path.Combine(_work.Path, "home");
        info.Environment["XDG_CONFIG_HOME"] = Path.Combine(_work.Path, "home", ".config");
        info.Environment["CHAT4ALL_URL"] = host.ToString().TrimEnd('/');
        info.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (output) { output.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }

        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }

    /// <summary>An MP4 as far as a type check looks (an <c>ftyp</c> box first), then random bytes.</summary>
    private static byte[] Mp4(int count)
    {
        var bytes = new byte[count];
        Random.Shared.NextBytes(bytes);
        byte[] ftyp = [0, 0, 0, 0x18, .. "ftypisom"u8, 0, 0, 2, 0, .. "isomiso2"u8];
        ftyp.CopyTo(bytes, 0);
        return bytes;
    }

    private static string Tail(string text, int lines) => string.Join('\n', text.Split('\n').TakeLast(lines));

    [GeneratedRegex(@"```bash\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex BashBlock();

    [GeneratedRegex(@"^alias ([\w-]+)='([^']*)'\s*$")]
    private static partial Regex Alias();
}
