using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;

namespace Chat4All.Clients.Tests;

/// <summary>The <c>chat4all</c> CLI end to end against a real host on Kestrel (PostgreSQL, Redis, every service).</summary>
public sealed class CliTests(ClientsPlatform platform) : IClassFixture<ClientsPlatform>
{
    private const int MiB = 1024 * 1024;

    [Fact]
    public async Task LoginCachesTheTokenInAPrivateProfileFileAndPrintsNoSecret()
    {
        var alice = await platform.CreateUserAsync();
        using var cli = new CliRunner(platform.Host, alice);

        var login = await cli.LoginAsync();

        Assert.True(login.ExitCode == 0, login.ToString());
        Assert.Contains(alice.UserId.ToString(), login.Stdout);
        var profile = JsonDocument.Parse(await File.ReadAllTextAsync(cli.ProfilePath)).RootElement;
        var accessToken = profile.GetProperty("access_token").GetString()!;
        Assert.False(string.IsNullOrEmpty(profile.GetProperty("refresh_token").GetString()));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(cli.ProfilePath));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(cli.ProfilePath)!));
        Assert.DoesNotContain(alice.ClientSecret, login.Stdout + login.Stderr);
        Assert.DoesNotContain(accessToken, login.Stdout + login.Stderr);

        var json = await cli.RunAsync("conversations", "list", "--output", "json");
        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.Equal(0, json.Json.GetProperty("items").GetArrayLength());
    }

    [Fact]
    public async Task ASignedInUserCreatesAConversationSendsAndReadsTheHistory()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        using var cli = await CliRunner.SignedInAsync(platform.Host, alice);

        var created = await cli.RunAsync("conversations", "create", "--member", bob.UserId.ToString(), "-o", "json");
        Assert.True(created.ExitCode == 0, created.ToString());
        var conversationId = created.Json.GetProperty("conversation_id").GetString()!;
        Assert.Equal("private", created.Json.GetProperty("type").GetString());

        var sent = await cli.RunAsync("send", "--conversation", conversationId, "hello", "bob", "-o", "json");
        Assert.True(sent.ExitCode == 0, sent.ToString());
        Assert.Equal(1, sent.Json.GetProperty("seq").GetInt64());
        var second = await cli.RunAsync("send", "-c", conversationId, "second line");
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Contains("(seq 2)", second.Stdout);

        var history = await cli.RunAsync("history", "--conversation", conversationId, "-o", "json");
        Assert.True(history.ExitCode == 0, history.ToString());
        var messages = history.Json.GetProperty("messages").EnumerateArray().ToList();
        Assert.Equal(["hello bob", "second line"], messages.Select(m => m.GetProperty("payload").GetProperty("text").GetString()));
        Assert.Equal([1L, 2L], messages.Select(m => m.GetProperty("seq").GetInt64()));

        var text = await cli.RunAsync("history", "-c", conversationId);
        Assert.Contains("you: hello bob", text.Stdout);

        var list = await cli.RunAsync("conversations", "list");
        Assert.True(list.ExitCode == 0, list.ToString());
        Assert.Contains(conversationId, list.Stdout);
        Assert.Contains("#2 second line", list.Stdout);
    }

    [Fact]
    public async Task TailPrintsAMessageThatAnotherUserSends()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var conversationId = await platform.CreateConversationAsync(alice, bob);
        using var aliceCli = await CliRunner.SignedInAsync(platform.Host, alice);
        using var bobCli = await CliRunner.SignedInAsync(platform.Host, bob);

        using var tail = aliceCli.Start(["tail", "--output", "json", "--messages-only", "--count", "1"]);
        await tail.Error.WaitForAsync(t => t.Contains("connected", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "tail to connect");
        var sent = await bobCli.RunAsync("send", "-c", conversationId.ToString(), "hi alice, from bob's terminal");
        Assert.True(sent.ExitCode == 0, sent.ToString());

        var result = await tail.Completion.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(result.ExitCode == 0, result.ToString());
        var frame = Assert.Single(result.JsonLines);
        Assert.Equal("message.created", frame.GetProperty("type").GetString());
        Assert.Equal("hi alice, from bob's terminal", frame.GetProperty("data").GetProperty("payload").GetProperty("text").GetString());
        Assert.Equal(bob.UserId, frame.GetProperty("data").GetProperty("sender_id").GetGuid());
    }

    [Fact]
    public async Task TailReconnectsAfterANetworkOutageAndPrintsEveryMessageOnceInOrder()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var conversationId = await platform.CreateConversationAsync(alice, bob);
        await using var network = new TcpProxy(platform.Host.Port);
        using var aliceCli = new CliRunner(platform.Host, alice);
        var login = await aliceCli.RunWithInputAsync(alice.ClientSecret + "\n", "login", "--url", network.BaseAddress.ToString(), "--client-id", alice.ClientId,
            "--client-secret-stdin");
        Assert.True(login.ExitCode == 0, login.ToString());
        using var bobApi = await platform.CreateAuthenticatedClientAsync(bob);
        async Task SendAsync(string text)
        {
            using var response = await bobApi.PostAsJsonAsync("/v1/messages", new { conversation_id = conversationId, payload = new { type = "text", text } });
            Assert.Equal(System.Net.HttpStatusCode.Accepted, response.StatusCode);
        }

        using var tail = aliceCli.Start(["tail", "-o", "json", "--messages-only", "--count", "8"]);
        await tail.Error.WaitForAsync(t => t.Contains("connected", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "tail to connect");
        await SendAsync("before");
        await tail.Output.WaitForAsync(t => t.Contains("\"before\"", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "the first message");

        await network.CutAsync();
        foreach (var i in Enumerable.Range(1, 5))
        {
            await SendAsync($"while away {i}"); // alice's tail cannot receive these live
        }

        await tail.Error.WaitForAsync(t => t.Contains("reconnecting in", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "tail to notice the outage");
        network.Restore();
        await tail.Error.WaitForAsync(t => t.Split("chat4all: connected").Length > 2, TimeSpan.FromSeconds(60), "tail to reconnect");
        await SendAsync("after 1");
        await SendAsync("after 2");

        var result = await tail.Completion.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(result.ExitCode == 0, result.ToString());
        var texts = result.JsonLines.Select(f => f.GetProperty("data").GetProperty("payload").GetProperty("text").GetString()).ToList();
        Assert.Equal(["before", "while away 1", "while away 2", "while away 3", "while away 4", "while away 5", "after 1", "after 2"], texts);
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), result.JsonLines.Select(f => f.GetProperty("data").GetProperty("seq").GetInt64()));
    }

    [Fact]
    public async Task TailFromASeqReplaysWhatWasSentBeforeItStarted()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var conversationId = (await platform.CreateConversationAsync(alice, bob)).ToString();
        using var bobCli = await CliRunner.SignedInAsync(platform.Host, bob);
        foreach (var text in new[] { "one", "two", "three" })
        {
            Assert.Equal(0, (await bobCli.RunAsync("send", "-c", conversationId, text)).ExitCode);
        }

        using var aliceCli = await CliRunner.SignedInAsync(platform.Host, alice);
        var tail = await aliceCli.Start(["tail", "-c", conversationId, "--from-seq", "1", "--count", "2", "-o", "json"])
            .Completion.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(tail.ExitCode == 0, tail.ToString());
        Assert.Equal(["two", "three"], tail.JsonLines.Select(f => f.GetProperty("data").GetProperty("payload").GetProperty("text").GetString()));
    }

    [Fact]
    public async Task AnUploadDownloadsBackWithTheSameSha256AndIsSharedAsAFileMessage()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var conversationId = (await platform.CreateConversationAsync(alice, bob)).ToString();
        using var aliceCli = await CliRunner.SignedInAsync(platform.Host, alice);
        using var bobCli = await CliRunner.SignedInAsync(platform.Host, bob);
        using var files = new TemporaryDirectory();
        var content = RandomNumberGenerator.GetBytes((12 * MiB) + 12345); // three 5 MiB chunks, the last one short
        var source = Path.Combine(files.Path, "holiday.bin");
        await File.WriteAllBytesAsync(source, content);

        var upload = await aliceCli.RunAsync("upload", source, "--conversation", conversationId, "--chunk-size", "5MiB", "--parallel", "3", "-o", "json");

        Assert.True(upload.ExitCode == 0, upload.ToString());
        Assert.Equal("completed", upload.Json.GetProperty("status").GetString());
        Assert.Equal(3, upload.Json.GetProperty("total_chunks").GetInt32());
        Assert.Equal(3, upload.Json.GetProperty("chunks_sent").GetInt32());
        Assert.Contains("upload [", upload.Stderr); // the progress line
        Assert.Contains("/s ETA", upload.Stderr);
        var fileId = upload.Json.GetProperty("file_id").GetString()!;
        var expected = Convert.ToHexStringLower(SHA256.HashData(content));
        Assert.Equal(expected, upload.Json.GetProperty("sha256").GetString());

        // Bob, the other member, finds it in the conversation and downloads it.
        var history = await bobCli.RunAsync("history", "-c", conversationId, "-o", "json");
        var message = Assert.Single(history.Json.GetProperty("messages").EnumerateArray());
        Assert.Equal("file", message.GetProperty("payload").GetProperty("type").GetString());
        Assert.Equal(fileId, message.GetProperty("payload").GetProperty("file_id").GetString());

        var download = await bobCli.RunAsync("download", fileId, "--to", files.Path + "/copy.bin", "-o", "json");
        Assert.True(download.ExitCode == 0, download.ToString());
        Assert.Equal(expected, download.Json.GetProperty("sha256").GetString());
        Assert.Equal(expected, Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(files.Path, "copy.bin")))));
        Assert.False(File.Exists(Path.Combine(files.Path, "copy.bin.part")));

        var again = await bobCli.RunAsync("download", fileId, "--to", files.Path + "/copy.bin");
        Assert.Equal(2, again.ExitCode);
        Assert.Contains("--force", again.Stderr);
    }

    [Fact]
    public async Task AnInterruptedUploadResumesAndSendsOnlyTheMissingChunks()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var conversationId = (await platform.CreateConversationAsync(alice, bob)).ToString();
        using var cli = await CliRunner.SignedInAsync(platform.Host, alice);
        using var files = new TemporaryDirectory();
        var content = RandomNumberGenerator.GetBytes((22 * MiB) + 1); // five chunks of 5 MiB
        var source = Path.Combine(files.Path, "big.bin");
        await File.WriteAllBytesAsync(source, content);
        string[] upload = ["upload", source, "-c", conversationId, "--chunk-size", "5MiB", "--no-send", "-o", "json"];

        var interrupted = await cli.RunAsync([.. upload, "--parallel", "1", "--stop-after-chunks", "2"]);

        Assert.True(interrupted.ExitCode == 130, interrupted.ToString());
        Assert.Equal("interrupted", interrupted.Json.GetProperty("status").GetString());
        Assert.Equal(2, interrupted.Json.GetProperty("chunks_sent").GetInt32());
        Assert.Contains("Run the same command again", interrupted.Stderr);
        var uploadId = interrupted.Json.GetProperty("upload_id").GetString()!;
        using (var api = await platform.CreateAuthenticatedClientAsync(alice))
        {
            var status = await api.GetFromJsonAsync<JsonElement>($"/v1/files/{uploadId}/status");
            Assert.Equal(2, status.GetProperty("uploaded_chunks").GetInt32());
            Assert.Equal([3, 4, 5], status.GetProperty("missing_chunks").EnumerateArray().Select(c => c.GetInt32()));
        }

        var resumed = await cli.RunAsync([.. upload, "--parallel", "2"]);

        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Equal(uploadId, resumed.Json.GetProperty("upload_id").GetString());
        Assert.True(resumed.Json.GetProperty("resumed").GetBoolean());
        Assert.Equal(2, resumed.Json.GetProperty("chunks_skipped").GetInt32());
        Assert.Equal(3, resumed.Json.GetProperty("chunks_sent").GetInt32());
        Assert.Equal(content.Length - (10L * MiB), resumed.Json.GetProperty("bytes_sent").GetInt64());
        Assert.Contains("2 of 5 chunks already stored", resumed.Stderr);

        var download = await cli.RunAsync("download", resumed.Json.GetProperty("file_id").GetString()!, "--to", files.Path + "/back.bin", "-o", "json");
        Assert.True(download.ExitCode == 0, download.ToString());
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), download.Json.GetProperty("sha256").GetString());
    }

    [Fact]
    public async Task ProblemDetailsAreExplainedWithTheirCodeDetailAndAHint()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var carol = await platform.CreateUserAsync();
        var notAlices = (await platform.CreateConversationAsync(bob, carol)).ToString();
        using var cli = await CliRunner.SignedInAsync(platform.Host, alice);

        var forbidden = await cli.RunAsync("send", "-c", notAlices, "let me in");
        Assert.Equal(1, forbidden.ExitCode);
        Assert.Contains("(403 not_a_member)", forbidden.Stderr);
        Assert.Contains("hint: only members", forbidden.Stderr);
        Assert.Contains("trace_id: ", forbidden.Stderr);

        var tooLong = await cli.RunAsync("send", "-c", notAlices, new string('x', 5000), "-o", "json");
        Assert.Equal(1, tooLong.ExitCode);
        var error = JsonDocument.Parse(tooLong.Stderr).RootElement.GetProperty("error");
        Assert.Equal(400, error.GetProperty("status").GetInt32());
        Assert.True(error.GetProperty("problem").TryGetProperty("errors", out _) || error.GetProperty("problem").GetProperty("detail").GetString()!.Length > 0);

        var group = await cli.RunAsync("conversations", "create", "--member", bob.UserId.ToString(), "--group");
        Assert.Equal(1, group.ExitCode);
        Assert.Contains("validation_failed", group.Stderr);
        Assert.Contains("members", group.Stderr);

        var wrongSecret = await new CliRunner(platform.Host, alice).LoginAsync("not-the-secret");
        Assert.Equal(3, wrongSecret.ExitCode);
        Assert.Contains("Sign-in refused: invalid_client", wrongSecret.Stderr);
        Assert.DoesNotContain("not-the-secret", wrongSecret.Stderr);
    }

    [Fact]
    public async Task LogoutRevokesTheRefreshTokenAndForgetsTheProfile()
    {
        var alice = await platform.CreateUserAsync();
        using var cli = await CliRunner.SignedInAsync(platform.Host, alice);
        var refreshToken = JsonDocument.Parse(await File.ReadAllTextAsync(cli.ProfilePath)).RootElement.GetProperty("refresh_token").GetString()!;

        var logout = await cli.RunAsync("logout");

        Assert.True(logout.ExitCode == 0, logout.ToString());
        Assert.False(File.Exists(cli.ProfilePath));
        using var http = platform.Host.CreateHttpClient();
        using var refresh = await OAuth.RefreshAsync(http, alice, refreshToken);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, refresh.StatusCode); // invalid_grant: revoked
        Assert.Equal(3, (await cli.RunAsync("conversations", "list")).ExitCode);
    }

    [Fact]
    public async Task AMissingRequiredOptionIsAUsageErrorThatPointsToHelp()
    {
        var alice = await platform.CreateUserAsync();
        using var cli = await CliRunner.SignedInAsync(platform.Host, alice);

        var result = await cli.RunAsync("conversations", "create");

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--member", result.Stderr);
        Assert.Contains("chat4all conversations create --help", result.Stderr);
    }

    [Fact]
    public async Task CommandsBeforeLoginSayHowToSignIn()
    {
        var alice = await platform.CreateUserAsync();
        using var cli = new CliRunner(platform.Host, alice);

        var result = await cli.RunAsync("conversations", "list");

        Assert.Equal(3, result.ExitCode);
        Assert.Contains("chat4all login", result.Stderr);
    }
}
