using System.Text.RegularExpressions;

namespace Chat4All.Clients.Tests;

/// <summary>
/// Text output for people: lists are tables laid out within the terminal's width, with colour on a
/// terminal only; redirected (or with <c>NO_COLOR</c>) the same tables carry no escape sequence and
/// cut nothing. Users appear by name.
/// </summary>
public sealed partial class CliTerminalOutputTests(ClientsPlatform platform) : IClassFixture<ClientsPlatform>
{
    private const int Columns = 72;

    [Fact]
    public async Task ListsOnATerminalAreColouredTablesThatFitItsWidth()
    {
        var (cli, bob, conversationId, longText) = await ConversationWithALongMessageAsync();
        using var _ = cli;
        cli.TerminalWidth = Columns;

        var list = await cli.RunAsync("conversations", "list");
        var history = await cli.RunAsync("history", "-c", conversationId.ToString());
        var profiles = await cli.RunAsync("profiles", "list");

        foreach (var result in new[] { list, history, profiles })
        {
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Contains("\u001b[", result.Stdout); // colour
            Assert.Contains("╭", result.Stdout);
            var lines = Visible(result.Stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.All(lines, line => Assert.True(line.Length <= Columns, $"{line.Length} columns: {line}"));
        }

        Assert.Contains(conversationId.ToString(), Visible(list.Stdout)); // ids are never wrapped
        Assert.True(Visible(list.Stdout).Contains(bob.Name, StringComparison.Ordinal), Visible(list.Stdout) + Visible(history.Stdout));
        Assert.DoesNotContain(longText, Visible(history.Stdout)); // wrapped across lines to fit
        Assert.Contains(bob.Name + ":", Visible(history.Stdout));
    }

    [Fact]
    public async Task RedirectedOutputHasNoEscapeSequencesAndCutsNoCell()
    {
        var (cli, bob, conversationId, longText) = await ConversationWithALongMessageAsync();
        using var _ = cli;

        var list = await cli.RunAsync("conversations", "list");
        var history = await cli.RunAsync("history", "-c", conversationId.ToString());
        var users = await cli.RunAsync("users", bob.Name);
        var profiles = await cli.RunAsync("profiles", "list");

        foreach (var result in new[] { list, history, users, profiles })
        {
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.DoesNotContain('\u001b', result.Stdout + result.Stderr);
            Assert.DoesNotContain("╭", result.Stdout);
        }

        Assert.Contains(bob.Name + ": " + longText, history.Stdout); // one line, whole
        Assert.Contains(bob.UserId.ToString(), users.Stdout);
        Assert.Contains(bob.Name, users.Stdout);
        Assert.Contains(conversationId.ToString(), list.Stdout);
    }

    [Fact]
    public async Task NoColorKeepsTheTableOnATerminalButDropsTheColour()
    {
        var (cli, _, conversationId, _) = await ConversationWithALongMessageAsync();
        using var __ = cli;
        cli.TerminalWidth = Columns;
        cli.Environment["NO_COLOR"] = "1";

        var history = await cli.RunAsync("history", "-c", conversationId.ToString());

        Assert.True(history.ExitCode == 0, history.ToString());
        Assert.DoesNotContain('\u001b', history.Stdout);
        Assert.Contains("╭", history.Stdout);
        Assert.All(history.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => Assert.True(line.Length <= Columns, line));
    }

    [Fact]
    public async Task DeliveriesListEachRecipientByNameWithItsChannelAndStatus()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var conversationId = await platform.CreateConversationAsync(alice, bob);
        using var cli = await CliRunner.SignedInAsync(platform.Host, alice);
        var sent = await cli.RunAsync("send", "-c", conversationId.ToString(), "--channel", "sms", "where did this go", "-o", "json");
        Assert.True(sent.ExitCode == 0, sent.ToString());
        var messageId = sent.Json.GetProperty("message_id").GetString()!;

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while ((await cli.RunAsync("deliveries", messageId, "-o", "json")).Json.GetProperty("deliveries").GetArrayLength() == 0)
        {
            await Task.Delay(50, timeout.Token);
        }

        var table = await cli.RunAsync("deliveries", messageId);

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains("you: where did this go", table.Stdout);
        var row = Assert.Single(table.Stdout.Split('\n'), line => line.Contains(bob.Name, StringComparison.Ordinal));
        Assert.Contains("sms", row);
    }

    private async Task<(CliRunner Cli, TestUser Bob, Guid ConversationId, string LongText)> ConversationWithALongMessageAsync()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var conversationId = await platform.CreateConversationAsync(alice, bob);
        var longText = string.Join(' ', Enumerable.Repeat("a message longer than any terminal line", 4));
        await platform.SendTextAsync(bob, conversationId, longText);
        return (await CliRunner.SignedInAsync(platform.Host, alice), bob, conversationId, longText);
    }

    /// <summary>What the terminal shows: the text without its escape sequences.</summary>
    private static string Visible(string output) => AnsiEscape().Replace(output, "");

    [GeneratedRegex(@"\u001b\[[0-9;]*m")]
    private static partial Regex AnsiEscape();
}
