using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Chat4All.Clients.Tests;

/// <summary>
/// The web console in Debian's headless Chromium, driven by Playwright (<c>browser/console.e2e.mjs</c>)
/// against a real host: two users in two pages. <c>scripts/test.sh</c> installs Chromium and the
/// npm packages; screenshots go to <c>$CHAT4ALL_TEST_RESULTS/console/</c> (or <c>test-results/console</c>
/// next to these tests).
/// </summary>
public sealed class ConsoleBrowserTests(ClientsPlatform platform) : IClassFixture<ClientsPlatform>
{
    // The script and its node_modules stay in the source tree (tests/Chat4All.Clients.Tests/browser), above bin/.
    private static readonly string BrowserDirectory = FindBrowserDirectory();

    [Fact]
    public async Task TheConsoleIsServedAsStaticFilesWithoutSigningIn()
    {
        using var http = platform.Host.CreateHttpClient();

        using var page = await http.GetAsync("/console/");
        using var client = await http.GetAsync("/console/chat4all-client.js");
        using var missing = await http.GetAsync("/console/nope.js");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("Chat4All console", await page.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, client.StatusCode);
        Assert.Equal("text/javascript", client.Content.Headers.ContentType?.MediaType);
        Assert.Contains("export class Chat4AllClient", await client.Content.ReadAsStringAsync());
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task AMessageSentInOnePageAppearsInTheOtherAndThePagesAreAccessibleAndFitAPhone()
    {
        var chromium = FindChromium();
        Assert.True(chromium is not null, "Chromium is not installed; scripts/test.sh installs Debian's 'chromium' package.");
        Assert.True(Directory.Exists(Path.Combine(BrowserDirectory, "node_modules", "playwright-core")),
            $"playwright-core is not installed in {BrowserDirectory}; scripts/test.sh runs `npm ci` in tests/Chat4All.Clients.Tests/browser.");
        Assert.True(Directory.Exists(Path.Combine(BrowserDirectory, "node_modules", "@axe-core", "playwright")),
            $"@axe-core/playwright is not installed in {BrowserDirectory}; scripts/test.sh runs `npm ci` in tests/Chat4All.Clients.Tests/browser.");
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var conversationId = await platform.CreateConversationAsync(alice, bob);
        // Presence is shared only between people who have written to each other (ADR 0028).
        await platform.SendTextAsync(alice, conversationId, "hi bob");
        await platform.SendTextAsync(bob, conversationId, "hi alice");
        var screenshots = ScreenshotDirectory();

        var (exitCode, output) = await RunNodeAsync(new
        {
            url = platform.Host.BaseAddress.ToString(),
            chromium,
            screenshots,
            conversation_id = conversationId,
            alice = new { client_id = alice.ClientId, client_secret = alice.ClientSecret, user_id = alice.UserId },
            bob = new { client_id = bob.ClientId, client_secret = bob.ClientSecret, user_id = bob.UserId },
        });

        Assert.True(exitCode == 0, "The browser run failed:\n" + output);
        Assert.Contains("the message appeared live in bob's page", output);
        Assert.Contains("alice sees bob's read receipt", output);
        Assert.Contains("caught up on every message sent while it was offline", output);
        Assert.Contains("axe-core: no critical or serious violations on the sign-in page", output);
        Assert.Contains("axe-core: no critical or serious violations on an open conversation", output);
        Assert.Contains("axe-core: no critical or serious violations on an open conversation on a phone", output);
        Assert.Contains("bob opened the conversation with the keyboard", output);
        Assert.Contains("presence is shown as text", output);
        Assert.Contains("alice cancelled an upload", output);
        Assert.Contains("a reload keeps bob signed in", output);
        Assert.Contains("after sign-out a reload shows the sign-in form", output);
        Assert.Contains("an open conversation fits a 390 px screen", output);
        Assert.True(File.Exists(Path.Combine(screenshots, "console-alice.png")), output);
        Assert.True(File.Exists(Path.Combine(screenshots, "console-phone-sign-in.png")), output);
        Assert.True(File.Exists(Path.Combine(screenshots, "console-phone-conversation.png")), output);
        Assert.True(new FileInfo(Path.Combine(screenshots, "console-bob.png")).Length > 10_000, output);
    }

    private static async Task<(int ExitCode, string Output)> RunNodeAsync(object config)
    {
        var info = new ProcessStartInfo("node", [Path.Combine(BrowserDirectory, "console.e2e.mjs")])
        {
            WorkingDirectory = BrowserDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.Environment["CHAT4ALL_E2E"] = JsonSerializer.Serialize(config);
        using var node = Process.Start(info)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await node.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            node.Kill(entireProcessTree: true);
            throw new TimeoutException("The browser run took more than 3 minutes:\n" + await stdout + await stderr);
        }

        return (node.ExitCode, await stdout + await stderr);
    }

    private static string ScreenshotDirectory()
    {
        var results = Environment.GetEnvironmentVariable("CHAT4ALL_TEST_RESULTS") is { Length: > 0 } explicitResults
            ? explicitResults
            : Environment.GetEnvironmentVariable("CHAT4ALL_DATA") is { Length: > 0 } data
                ? Path.Combine(data, "test-results")
                : Path.Combine(AppContext.BaseDirectory, "test-results");
        var directory = Path.Combine(results, "console");
        Directory.CreateDirectory(directory);
        return directory;
    }

    private static string FindBrowserDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "browser", "console.e2e.mjs");
            if (File.Exists(candidate))
            {
                return Path.GetDirectoryName(candidate)!;
            }
        }

        return Path.Combine(AppContext.BaseDirectory, "browser");
    }

    private static string? FindChromium() =>
        new[] { Environment.GetEnvironmentVariable("CHAT4ALL_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser" }
            .FirstOrDefault(p => p is { Length: > 0 } && File.Exists(p));
}
