using System.Text.Json;
using Chat4All.Cli;

namespace Chat4All.Clients.Tests;

/// <summary>
/// What a first-time user of the CLI runs into: mistakes are explained (exit 2, no stack trace, no
/// .NET type name), values keep their meaning, and the small commands that make a tool feel finished.
/// </summary>
public sealed class CliUsabilityTests(ClientsPlatform platform) : IClassFixture<ClientsPlatform>
{
    [Fact]
    public async Task AMemberNameNobodyHasIsRefusedWithAClearUsageErrorInsteadOfACrash()
    {
        var alice = await platform.CreateUserAsync();
        using var cli = await CliRunner.SignedInAsync(platform.Host, alice);

        var result = await cli.RunAsync("conversations", "create", "--member", "bob");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("--member takes a user id", result.Stderr);
        Assert.Contains("user directory", result.Stderr);
        AssertNoInternals(result);
    }

    [Fact]
    public async Task AMemberNamedLikeALocalProfileIsRefusedWithThatProfilesUserIdAsAHint()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        using var cli = await CliRunner.SignedInAsync(platform.Host, alice);
        var bobLogin = await cli.RunWithInputAsync(bob.ClientSecret + "\n", "-p", "bob", "login", "--url", platform.Host.BaseAddress.ToString(),
            "--client-id", bob.ClientId, "--client-secret-stdin");
        Assert.True(bobLogin.ExitCode == 0, bobLogin.ToString());

        var result = await cli.RunAsync("conversations", "create", "--member", "bob");

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains($"--member {bob.UserId}", result.Stderr);
    }

    [Theory]
    [InlineData("tail", "-c", "bob")]
    [InlineData("history", "-c", "bob")]
    [InlineData("conversations", "show", "bob")]
    [InlineData("download", "not-an-id")]
    [InlineData("history", "-c", "0199e7a4-0000-7000-8000-000000000001", "--limit", "1000")]
    [InlineData("conversations", "list", "--limit", "0")]
    [InlineData("tail", "--count", "0")]
    [InlineData("upload", "/etc/hostname", "-c", "0199e7a4-0000-7000-8000-000000000001", "--parallel", "17")]
    [InlineData("upload", "/etc/hostname", "-c", "0199e7a4-0000-7000-8000-000000000001", "--chunk-size", "1MiB")]
    [InlineData("send", "-c", "0199e7a4-0000-7000-8000-000000000001", "--channel", "fax", "hi")]
    [InlineData("send", "-c", "0199e7a4-0000-7000-8000-000000000001", "--priority", "urgent", "hi")]
    public async Task AValueOutOfRangeOrOfTheWrongKindIsAUsageErrorWithoutTypeNames(params string[] args)
    {
        var alice = await platform.CreateUserAsync();
        using var cli = await CliRunner.SignedInAsync(platform.Host, alice);

        var result = await cli.RunAsync(args);

        Assert.True(result.ExitCode == ExitCodes.Usage, result.ToString());
        Assert.Contains("--help", result.Stderr);
        AssertNoInternals(result);
    }

    [Fact]
    public async Task AMistypedCommandGetsADidYouMean()
    {
        var alice = await platform.CreateUserAsync();
        using var cli = new CliRunner(platform.Host, alice);

        var root = await cli.RunAsync("conversatoins", "list");
        var sub = await cli.RunAsync("conversations", "lsit");

        Assert.Equal(ExitCodes.Usage, root.ExitCode);
        Assert.Contains("Did you mean 'conversations'", root.Stderr);
        Assert.Contains("Did you mean 'list'", sub.Stderr);
    }

    [Fact]
    public async Task TextAfterAChannelIsSentAsTheMessageAndJsonOutputKeepsPlusSignsReadable()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var conversationId = (await platform.CreateConversationAsync(alice, bob)).ToString();
        using var cli = await CliRunner.SignedInAsync(platform.Host, alice);

        var sent = await cli.RunAsync("send", "-c", conversationId, "--channel", "sms", "call me on +15550100", "-o", "json");
        var history = await cli.RunAsync("history", "-c", conversationId, "-o", "json");

        Assert.True(sent.ExitCode == 0, sent.ToString());
        var message = Assert.Single(history.Json.GetProperty("messages").EnumerateArray());
        Assert.Equal("call me on +15550100", message.GetProperty("payload").GetProperty("text").GetString());
        Assert.Equal(["sms"], message.GetProperty("channels").EnumerateArray().Select(c => c.GetString()));
        Assert.Contains("call me on +15550100", history.Stdout);
        Assert.DoesNotContain(@"\u002B", history.Stdout, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task AFileWhoseBytesContradictItsTypeIsRefusedBeforeAnyChunkIsSent()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var conversationId = (await platform.CreateConversationAsync(alice, bob)).ToString();
        using var cli = await CliRunner.SignedInAsync(platform.Host, alice);
        using var files = new TemporaryDirectory();
        var fake = Path.Combine(files.Path, "photo.png");
        await File.WriteAllTextAsync(fake, "this is text, not a PNG image");

        var result = await cli.RunAsync("upload", fake, "-c", conversationId);

        Assert.Equal(ExitCodes.Usage, result.ExitCode);
        Assert.Contains("photo.png was not sent", result.Stderr);
        Assert.Contains("image/png", result.Stderr);
        Assert.DoesNotContain("upload [", result.Stderr); // no progress: not one chunk went out
        Assert.False(Directory.Exists(Path.Combine(cli.ConfigDirectory, "uploads")) &&
            Directory.EnumerateFiles(Path.Combine(cli.ConfigDirectory, "uploads"), "*", SearchOption.AllDirectories).Any());
        AssertNoInternals(result);
    }

    [Fact]
    public async Task DownloadToAFolderThatDoesNotExistCreatesItAndWritesTheFileInside()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var conversationId = (await platform.CreateConversationAsync(alice, bob)).ToString();
        using var aliceCli = await CliRunner.SignedInAsync(platform.Host, alice);
        using var bobCli = await CliRunner.SignedInAsync(platform.Host, bob);
        using var files = new TemporaryDirectory();
        var source = Path.Combine(files.Path, "notes.txt");
        await File.WriteAllTextAsync(source, "plain text notes\n");
        var upload = await aliceCli.RunAsync("upload", source, "-c", conversationId, "-o", "json");
        Assert.True(upload.ExitCode == 0, upload.ToString());
        var fileId = upload.Json.GetProperty("file_id").GetString()!;

        var downloads = Path.Combine(files.Path, "Downloads");
        var intoFolder = await bobCli.RunAsync("download", fileId, "--to", downloads);
        var missingParent = await bobCli.RunAsync("download", fileId, "--to", Path.Combine(files.Path, "nowhere", "copy.txt"));

        Assert.True(intoFolder.ExitCode == 0, intoFolder.ToString());
        Assert.True(Directory.Exists(downloads));
        Assert.Equal("plain text notes\n", await File.ReadAllTextAsync(Path.Combine(downloads, "notes.txt")));
        Assert.Equal(ExitCodes.Usage, missingParent.ExitCode);
        Assert.Contains("does not exist", missingParent.Stderr);
        Assert.False(Directory.Exists(Path.Combine(files.Path, "nowhere")));
    }

    [Fact]
    public async Task WhoAmIAsksTheServerAndProfilesListShowsEverySignInWithoutSecrets()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        using var cli = await CliRunner.SignedInAsync(platform.Host, alice);
        await cli.RunWithInputAsync(bob.ClientSecret + "\n", "-p", "bob", "login", "--url", platform.Host.BaseAddress.ToString(),
            "--client-id", bob.ClientId, "--client-secret-stdin");

        var whoami = await cli.RunAsync("whoami", "-o", "json");
        var bobWhoami = await cli.RunAsync("-p", "bob", "whoami");
        var profiles = await cli.RunAsync("profiles", "list", "-o", "json");
        var table = await cli.RunAsync("profiles", "list");

        Assert.True(whoami.ExitCode == 0, whoami.ToString());
        Assert.Equal(alice.UserId.ToString(), whoami.Json.GetProperty("user_id").GetString());
        Assert.Equal("default", whoami.Json.GetProperty("profile").GetString());
        Assert.Contains(bob.UserId.ToString(), bobWhoami.Stdout);
        var listed = profiles.Json.GetProperty("profiles").EnumerateArray().ToDictionary(p => p.GetProperty("name").GetString()!);
        Assert.Equal(["bob", "default"], listed.Keys.Order());
        Assert.True(listed["default"].GetProperty("current").GetBoolean());
        Assert.Equal(bob.UserId.ToString(), listed["bob"].GetProperty("user_id").GetString());
        Assert.Contains("* default", table.Stdout.Replace("  ", " ", StringComparison.Ordinal));
        Assert.DoesNotContain(alice.ClientSecret, profiles.Stdout + table.Stdout);
        Assert.DoesNotContain(bob.ClientSecret, profiles.Stdout + table.Stdout);
    }

    [Fact]
    public async Task TheCompletionScriptAsksTheCliWhichCompletesCommandsAndOptionValues()
    {
        var alice = await platform.CreateUserAsync();
        using var cli = new CliRunner(platform.Host, alice);

        var script = await cli.RunAsync("completion", "bash");
        var commands = await cli.RunAsync("[suggest:4]", "conv");
        var priorities = await cli.RunAsync("[suggest:16]", "send --priority ");

        Assert.Contains("complete -o default -F _chat4all_complete chat4all", script.Stdout);
        Assert.Contains("[suggest:", script.Stdout);
        Assert.Contains("conversations", commands.Stdout.Split('\n', StringSplitOptions.TrimEntries));
        Assert.Equal(["high", "low", "normal"], priorities.Stdout.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Order());
    }

    [Fact]
    public async Task LoginOnATerminalAsksForTheSecretInsteadOfFailing()
    {
        var alice = await platform.CreateUserAsync();
        using var cli = new CliRunner(platform.Host, alice);
        var prompts = new List<string>();
        var context = new CliContext(TextWriter.Null, new StringWriter(), cli.ConfigDirectory, new Dictionary<string, string>(), ErrorIsTerminal: true,
            new StringReader(""), SecretPrompt: prompt =>
            {
                prompts.Add(prompt);
                return alice.ClientSecret;
            });

        var exitCode = await CliApp.RunAsync(["login", "--url", platform.Host.BaseAddress.ToString(), "--client-id", alice.ClientId], context,
            CancellationToken.None);

        Assert.Equal(ExitCodes.Ok, exitCode);
        Assert.Equal(["Client secret (not shown): "], prompts);
        Assert.Equal(alice.UserId.ToString(), JsonDocument.Parse(await File.ReadAllTextAsync(cli.ProfilePath)).RootElement.GetProperty("user_id").GetString());
    }

    private static void AssertNoInternals(CliResult result)
    {
        var output = result.Stdout + result.Stderr;
        Assert.DoesNotContain("   at ", output);
        Assert.DoesNotContain("System.", output);
        Assert.DoesNotContain("Exception", output);
    }
}
