using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Chat4All.Testing;

/// <summary>
/// A loopback port held by a bound socket that does not listen: a connection to it is refused at once
/// (an endpoint that is down), and no other process can take the port. <see cref="ListenOn"/> hands the
/// same socket to Kestrel, so the endpoint comes up on that port without ever releasing it.
/// </summary>
public sealed class ReservedPort : IDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private bool _handedOver;

    public ReservedPort()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
    }

    public int Port { get; }

    public Uri BaseUrl => new($"http://127.0.0.1:{Port}");

    /// <summary>Makes Kestrel listen on this socket; Kestrel owns (and closes) it from then on.</summary>
    public void ListenOn(KestrelServerOptions kestrel)
    {
        ObjectDisposedException.ThrowIf(_handedOver, this);
        _handedOver = true;
        kestrel.ListenHandle((ulong)_socket.SafeHandle.DangerousGetHandle());
        _socket.SafeHandle.SetHandleAsInvalid(); // Kestrel closes the descriptor; ours must not close it again
    }

    public void Dispose()
    {
        if (!_handedOver)
        {
            _socket.Dispose();
        }
    }
}
