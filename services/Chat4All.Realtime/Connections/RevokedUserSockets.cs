using Chat4All.Contracts.Realtime;
using Chat4All.Realtime.Fanout;
using Chat4All.ServiceDefaults.Auth;
using Microsoft.Extensions.Hosting;

namespace Chat4All.Realtime.Connections;

/// <summary>
/// A socket was authenticated once, at the upgrade; when its user is disabled or deleted this
/// closes it with 4001 (<c>user_revoked</c>) as soon as the revocation reaches this instance.
/// </summary>
internal sealed class RevokedUserSockets(RevokedUsers revoked, RealtimeFanout fanout) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        revoked.Revoked += CloseSockets;
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        revoked.Revoked -= CloseSockets;
        return Task.CompletedTask;
    }

    private void CloseSockets(Guid userId)
    {
        foreach (var connection in fanout.Connections.Where(c => c.UserId == userId))
        {
            connection.Close(CloseCodes.Unauthorized, "user_revoked");
        }
    }
}
