using System.Net;
using System.Security.Cryptography;
using Chat4All.Client;
using Chat4All.Contracts.Conversations;

namespace Chat4All.Clients.Tests;

/// <summary>The .NET SDK against the real host over Kestrel: safe retries, resumable uploads, verified downloads.</summary>
public sealed class SdkTests(ClientsPlatform platform) : IClassFixture<ClientsPlatform>
{
    private const int MiB = 1024 * 1024;

    [Fact]
    public async Task ASendRetriedAfterItsAnswerWasLostCreatesOneMessage()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var conversationId = await platform.CreateConversationAsync(alice, bob);
        var network = new RecordingHandler();
        using var chat = Chat4AllClient.Create(platform.Host.BaseAddress, alice.ClientId, alice.ClientSecret, network);
        network.DropTheAnswerOnce(r => r.Method == HttpMethod.Post && r.RequestUri!.AbsolutePath == "/v1/messages");

        var accepted = await chat.SendTextAsync(conversationId, "exactly once");

        var sends = network.Exchanges.Where(e => e.Path == "/v1/messages").ToList();
        Assert.Equal(2, sends.Count);
        Assert.True(sends[0].AnswerDropped);
        Assert.Equal(HttpStatusCode.Accepted, sends[0].Status); // the server did accept the first attempt
        Assert.NotNull(sends[0].IdempotencyKey);
        Assert.Equal(sends[0].IdempotencyKey, sends[1].IdempotencyKey);
        using var http = await platform.CreateAuthenticatedClientAsync(bob);
        var history = await (await http.GetAsync($"/v1/conversations/{conversationId}/messages?after_seq=0")).ReadJsonAsync();
        var messages = history.GetProperty("messages").EnumerateArray().ToList();
        var only = Assert.Single(messages);
        Assert.Equal(accepted.MessageId, only.GetProperty("message_id").GetGuid());
        Assert.Equal("exactly once", only.GetProperty("payload").GetProperty("text").GetString());
    }

    [Fact]
    public async Task ACreationTheServerCannotDeduplicateIsNotRepeatedAfterItsAnswerWasLost()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var network = new RecordingHandler();
        using var chat = Chat4AllClient.Create(platform.Host.BaseAddress, alice.ClientId, alice.ClientSecret, network);
        network.DropTheAnswerOnce(r => r.Method == HttpMethod.Post && r.RequestUri!.AbsolutePath == "/v1/conversations");

        await Assert.ThrowsAsync<HttpRequestException>(() => chat.CreateConversationAsync("group", [bob.UserId]));

        Assert.Single(network.Exchanges, e => e.Path == "/v1/conversations");
    }

    [Fact]
    public async Task TypedCallsCreateAGroupChangeItsMembersAndEditDeleteAndReadItsMessages()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var carol = await platform.CreateUserAsync();
        var dave = await platform.CreateUserAsync();
        using var chat = Chat4AllClient.Create(platform.Host.BaseAddress, alice.ClientId, alice.ClientSecret);

        var me = await chat.GetMeAsync();
        var found = await chat.SearchUsersAsync(carol.Name);
        var group = await chat.CreateConversationAsync("group", [bob.UserId, dave.UserId], new ConversationMetadata("plans", null));
        var grown = await chat.AddMembersAsync(group.ConversationId, [carol.UserId]);
        await chat.RemoveMemberAsync(group.ConversationId, carol.UserId);
        var sent = await chat.SendTextAsync(group.ConversationId, "frist");
        var edited = await chat.EditMessageAsync(sent.MessageId, "first");
        var history = await chat.GetHistoryAsync(group.ConversationId);
        var deleted = await chat.DeleteMessageAsync(sent.MessageId);
        var afterDelete = await chat.GetMessageAsync(sent.MessageId);

        Assert.Equal(alice.UserId.ToString(), me.UserId);
        Assert.Contains(found.Items, u => u.UserId == carol.UserId);
        Assert.Contains(carol.UserId, grown.Members);
        Assert.DoesNotContain(carol.UserId, (await chat.GetConversationAsync(group.ConversationId)).Members);
        Assert.Equal("first", edited.Payload.Text);
        var message = Assert.Single(history.Messages);
        Assert.Equal("first", message.Payload.Text);
        Assert.NotNull(message.EditedAt);
        Assert.NotNull(deleted.DeletedAt);
        Assert.NotNull(afterDelete.DeletedAt);
    }

    [Fact]
    public async Task ARefusalCarriesTheProblemsCodeStatusDetailAndTraceId()
    {
        var alice = await platform.CreateUserAsync();
        using var chat = Chat4AllClient.Create(platform.Host.BaseAddress, alice.ClientId, alice.ClientSecret);

        var refused = await Assert.ThrowsAsync<Chat4AllApiException>(() => chat.GetConversationAsync(Guid.NewGuid()));

        Assert.Equal(HttpStatusCode.NotFound, refused.Status);
        Assert.Equal(404, refused.Problem!.Status);
        Assert.False(string.IsNullOrEmpty(refused.Code));
        Assert.Equal(refused.Problem.Code, refused.Code);
        Assert.False(string.IsNullOrEmpty(refused.Problem.Detail));
        Assert.False(string.IsNullOrEmpty(refused.TraceId));
    }

    [Fact]
    public async Task AnUploadInterruptedMidwayResumesFromTheReceivedChunksAndTheDownloadVerifies()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var conversationId = await platform.CreateConversationAsync(alice, bob);
        using var files = new TemporaryDirectory();
        var content = RandomNumberGenerator.GetBytes((2 * 5 * MiB) + 123_456);
        var source = Path.Combine(files.Path, "data.bin");
        await File.WriteAllBytesAsync(source, content);
        UploadResumePoint? point = null;

        UploadResult first;
        using (var chat = Chat4AllClient.Create(platform.Host.BaseAddress, alice.ClientId, alice.ClientSecret))
        {
            first = await chat.Files.UploadAsync(source, conversationId, "application/octet-stream",
                new UploadOptions { ChunkSize = 5 * MiB, Parallelism = 1, StopAfterChunks = 2, Started = (p, _) => point = p });
        }

        Assert.True(first.Interrupted);
        Assert.False(first.Completed);
        Assert.Equal(3, first.TotalChunks);
        Assert.Equal(2, first.ChunksSent);
        Assert.NotNull(point);

        // A new client (another process, after a crash) continues from what the server received.
        var network = new RecordingHandler();
        using var resumedChat = Chat4AllClient.Create(platform.Host.BaseAddress, alice.ClientId, alice.ClientSecret, network);
        var resumed = await resumedChat.Files.UploadAsync(source, conversationId, "application/octet-stream", new UploadOptions { Resume = point });

        Assert.True(resumed.Completed, resumed.FailureReason);
        Assert.True(resumed.Resumed);
        Assert.Equal(first.UploadId, resumed.UploadId);
        Assert.Equal(2, resumed.ChunksSkipped);
        Assert.Equal(1, resumed.ChunksSent);
        Assert.Single(network.Exchanges, e => e.Path.EndsWith("/chunks", StringComparison.Ordinal));
        var metadata = await resumedChat.Files.GetMetadataAsync(resumed.FileId!.Value);
        var target = Path.Combine(files.Path, "back.bin");
        var download = await resumedChat.Files.DownloadToFileAsync(metadata, target);

        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), download.Sha256);
        Assert.Equal(content, await File.ReadAllBytesAsync(target));
        Assert.False(File.Exists(target + ".part"));
    }

    [Fact]
    public async Task ADownloadWhoseBytesDoNotMatchTheChecksumIsRefusedAndNotKept()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var conversationId = await platform.CreateConversationAsync(alice, bob);
        using var files = new TemporaryDirectory();
        var source = Path.Combine(files.Path, "note.txt");
        await File.WriteAllTextAsync(source, "the bytes the server recorded");
        var network = new RecordingHandler();
        using var chat = Chat4AllClient.Create(platform.Host.BaseAddress, alice.ClientId, alice.ClientSecret, network);
        var upload = await chat.Files.UploadAsync(source, conversationId, "text/plain");
        Assert.True(upload.Completed, upload.FailureReason);
        var metadata = await chat.Files.GetMetadataAsync(upload.FileId!.Value);
        network.RewriteBody = (request, body) => request.RequestUri!.AbsolutePath.EndsWith("/content", StringComparison.Ordinal)
            ? [.. body.Select((b, i) => i == 4 ? (byte)(b ^ 0xFF) : b)]
            : body;
        var target = Path.Combine(files.Path, "copy.txt");

        var mismatch = await Assert.ThrowsAsync<Chat4AllChecksumException>(() => chat.Files.DownloadToFileAsync(metadata, target));

        Assert.Equal(metadata.ChecksumSha256, mismatch.Expected);
        Assert.False(File.Exists(target));
        Assert.False(File.Exists(target + ".part"));
    }
}

/// <summary>With five-second access tokens: the SDK refreshes before expiry, and its realtime session rides through the server's 4001 closes.</summary>
public sealed class SdkShortTokenTests(ShortTokenClientsPlatform platform) : IClassFixture<ShortTokenClientsPlatform>
{
    [Fact]
    public async Task TheTokenIsRefreshedBeforeItExpiresSoNoCallIsRefused()
    {
        var alice = await platform.CreateUserAsync();
        var network = new RecordingHandler();
        using var chat = Chat4AllClient.Create(platform.Host.BaseAddress, alice.ClientId, alice.ClientSecret, network);

        // Eight calls a second from four callers at once, across about two token lifetimes.
        var until = DateTimeOffset.UtcNow.AddSeconds(9);
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            while (DateTimeOffset.UtcNow < until)
            {
                var me = await chat.GetMeAsync();
                Assert.Equal(alice.UserId.ToString(), me.UserId);
                await Task.Delay(500);
            }
        }));

        Assert.DoesNotContain(network.Exchanges, e => e.Status == HttpStatusCode.Unauthorized);
        Assert.True(chat.TokenSource!.Refreshes >= 1, $"refreshes: {chat.TokenSource.Refreshes}");
        var refreshes = network.Exchanges.Count(e => e.Path == "/auth/refresh");
        Assert.Equal(chat.TokenSource.Refreshes, refreshes); // one renewal at a time, shared by the four callers
        Assert.Single(network.Exchanges, e => e.Path == "/auth/token");
    }

    [Fact]
    public async Task TheRealtimeSessionResumesAcrossServerSideClosesWithoutLosingOrRepeatingAMessage()
    {
        var alice = await platform.CreateUserAsync();
        var bob = await platform.CreateUserAsync();
        var conversationId = await platform.CreateConversationAsync(alice, bob);
        using var aliceChat = Chat4AllClient.Create(platform.Host.BaseAddress, alice.ClientId, alice.ClientSecret);
        using var bobChat = Chat4AllClient.Create(platform.Host.BaseAddress, bob.ClientId, bob.ClientSecret);
        var notices = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var session = aliceChat.OpenRealtime(notices.Enqueue);
        session.Track(conversationId, 0);
        const int Count = 24;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var received = new List<Contracts.Realtime.MessageCreatedData>();
        var reading = Task.Run(async () =>
        {
            await foreach (var e in session.ReadAllAsync(timeout.Token))
            {
                if (e.Message is { } message)
                {
                    received.Add(message);
                    if (received.Count == Count)
                    {
                        return;
                    }
                }
            }
        });

        for (var i = 1; i <= Count; i++)
        {
            await bobChat.SendTextAsync(conversationId, $"message {i}");
            await Task.Delay(400); // about ten seconds: the server closes alice's socket at least once as her token expires
        }

        await reading.WaitAsync(timeout.Token);

        Assert.Equal(Enumerable.Range(1, Count).Select(i => (long)i), received.Select(m => m.Seq));
        Assert.Equal(Enumerable.Range(1, Count).Select(i => $"message {i}"), received.Select(m => m.Payload.Text));
        Assert.True(session.Reconnects >= 1, string.Join('\n', notices));
        Assert.Contains(notices, n => n.StartsWith("disconnected (4001", StringComparison.Ordinal)); // closed by the server, not by the client
        Assert.Equal(Count, session.Positions[conversationId]);
    }
}
