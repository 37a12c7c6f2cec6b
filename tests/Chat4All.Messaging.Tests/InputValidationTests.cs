using System.Net;
using System.Net.Http.Json;
using System.Text;

namespace Chat4All.Messaging.Tests;

/// <summary>Malformed conversation and message bodies are 400 problems that change nothing, never 500s.</summary>
public sealed class InputValidationTests(MessagingPlatform platform) : IClassFixture<MessagingPlatform>
{
    public static TheoryData<string> BadConversationBodies()
    {
        var other = Guid.NewGuid();
        return new()
        {
            "{}",
            "null",
            $$"""{"members":["{{other}}"]}""",
            $$"""{"type":null,"members":["{{other}}"]}""",
            """{"type":"private"}""",
            """{"type":"private","members":null}""",
            """{"type":"private","members":[null]}""",
            $$$"""{"type":"private","members":["{{{other}}}"],"metadata":{"name":"{{{new string('n', 201)}}}"}}""",
            $$$"""{"type":"private","members":["{{{other}}}"],"metadata":{"description":"{{{new string('d', 1001)}}}"}}""",
            $$$"""{"type":"private","members":["{{{other}}}"],"metadata":{"name":"a\u0000b"}}""",
            $$$"""{"type":"private","members":["{{{other}}}"],"metadata":{"description":"\u0000"}}""",
            $$"""{"type":"pri\u0000vate","members":["{{other}}"]}""",
        };
    }

    [Theory]
    [MemberData(nameof(BadConversationBodies))]
    public async Task AMalformedConversationIsA400ProblemAndCreatesNothing(string body)
    {
        var alice = await platform.CreateUserAsync();
        using var client = await platform.CreateAuthenticatedClientAsync(alice);

        using var response = await client.PostAsync("/v1/conversations", new StringContent(body, Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty((await client.GetJsonAsync("/v1/conversations")).GetProperty("items").EnumerateArray());
    }

    [Theory]
    [InlineData("a\u0000b")]
    [InlineData("\u0000")]
    public async Task AMessageTextWithNulIsRefusedAndHistoryIsUnchanged(string text)
    {
        using var pair = await platform.Host.CreatePairAsync();
        await pair.AsAlice.SendAndGetSeqAsync(pair.ConversationId, "before");

        using var response = await pair.AsAlice.SendTextAsync(pair.ConversationId, text);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("validation_failed", (await response.ReadJsonAsync()).GetProperty("code").GetString());
        var history = await pair.AsAlice.GetJsonAsync($"/v1/conversations/{pair.ConversationId}/messages");
        Assert.Equal(["before"], history.GetProperty("messages").EnumerateArray().Select(m => m.GetProperty("payload").GetProperty("text").GetString()));
    }

    [Fact]
    public async Task AMessageTextMayCarryAnyUnicodeButNul()
    {
        using var pair = await platform.Host.CreatePairAsync();
        const string text = "tab\tnewline\n\u0001\u007f\u200b\ud83d\ude00 \uffff ümlaut";

        await pair.AsAlice.SendAndGetSeqAsync(pair.ConversationId, text);

        var history = await pair.AsBob.GetJsonAsync($"/v1/conversations/{pair.ConversationId}/messages");
        Assert.Equal(text, history.GetProperty("messages")[0].GetProperty("payload").GetProperty("text").GetString());
    }
}
