using System.Diagnostics.Metrics;
using System.Net.WebSockets;
using Chat4All.Realtime.Connections;
using Microsoft.Extensions.DependencyInjection;

namespace Chat4All.Realtime.Tests;

/// <summary>A client that stops reading fills its bounded queue and is closed; nobody else waits for it.</summary>
public sealed class SlowClientTests
{
    [Fact]
    public async Task AConnectionWhoseClientStopsReadingIsClosedWith4008WhenItsQueueOverflows()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new RealtimeMetrics(services.GetRequiredService<IMeterFactory>());
        var socket = new StuckSocket();
        using var connection = new RealtimeConnection(socket, Guid.NewGuid(), null, queueCapacity: 8, metrics, DateTimeOffset.UtcNow);
        using var aborted = new CancellationTokenSource();
        var writing = connection.WriteAsync(aborted.Token);

        var accepted = 0;
        for (var i = 0; i < 100 && connection.Send([1, 2, 3]); i++)
        {
            accepted++;
        }

        Assert.InRange(accepted, 8, 9); // the queue, plus the frame stuck in the socket
        Assert.Equal(4008, connection.CloseRequested?.Code);
        Assert.Equal("send_queue_overflow", connection.CloseRequested?.Reason);
        Assert.False(connection.Send([4]));
        await aborted.CancelAsync();
        await writing.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task FramesOfAConversationBeingResumedWaitAndOnlyThoseAfterTheReplayAreSentInOrder()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new RealtimeMetrics(services.GetRequiredService<IMeterFactory>());
        var socket = new StuckSocket { Stuck = false };
        using var connection = new RealtimeConnection(socket, Guid.NewGuid(), null, queueCapacity: 100, metrics, DateTimeOffset.UtcNow);
        var conversation = Guid.NewGuid();

        connection.BeginResume([conversation]);
        connection.Deliver(conversation, 6, [6]); // live, during the replay
        connection.Deliver(conversation, 5, [5]);
        connection.Replay(conversation, 4, [4]);
        connection.Replay(conversation, 5, [5]);
        var last = connection.EndResume(conversation, fromSeq: 3);
        connection.Deliver(conversation, 6, [6]); // a late duplicate
        connection.Deliver(conversation, 7, [7]);
        connection.Complete();
        await connection.WriteAsync(CancellationToken.None);

        Assert.Equal(6, last);
        Assert.Equal([4, 5, 6, 7], socket.Sent.Select(f => (int)f[0]));
    }

    /// <summary>A socket whose every send hangs until cancelled (a client that stopped reading), or that records sends.</summary>
    private sealed class StuckSocket : WebSocket
    {
        public bool Stuck { get; init; } = true;

        public List<byte[]> Sent { get; } = [];

        public override WebSocketCloseStatus? CloseStatus => null;

        public override string? CloseStatusDescription => null;

        public override WebSocketState State => WebSocketState.Open;

        public override string? SubProtocol => null;

        public override void Abort()
        {
        }

        public override Task CloseAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) => Task.CompletedTask;

        public override Task CloseOutputAsync(WebSocketCloseStatus closeStatus, string? statusDescription, CancellationToken cancellationToken) =>
            Task.CompletedTask;

        public override void Dispose()
        {
        }

        public override Task<WebSocketReceiveResult> ReceiveAsync(ArraySegment<byte> buffer, CancellationToken cancellationToken) =>
            Task.Delay(Timeout.Infinite, cancellationToken).ContinueWith(_ => new WebSocketReceiveResult(0, WebSocketMessageType.Close, true), TaskScheduler.Default);

        public override Task SendAsync(ArraySegment<byte> buffer, WebSocketMessageType messageType, bool endOfMessage, CancellationToken cancellationToken)
        {
            if (Stuck)
            {
                return Task.Delay(Timeout.Infinite, cancellationToken);
            }

            Sent.Add(buffer.ToArray());
            return Task.CompletedTask;
        }
    }
}
