using Chat4All.Client;

namespace Chat4All.Cli.Output;

/// <summary>
/// Display names for user ids: "you" for the signed-in user, names the server already sent
/// (<c>?expand=</c>), else one look-up per id in the tenant's directory (<c>GET /v1/users/{id}</c>),
/// remembered for the rest of the command. An id the directory does not give stays a short id.
/// </summary>
public sealed class UserNames(Chat4AllClient client, Guid? me)
{
    private readonly Dictionary<Guid, string> _names = [];

    public void Remember(Guid userId, string? name)
    {
        if (name is { Length: > 0 })
        {
            _names[userId] = name;
        }
    }

    public async ValueTask<string> NameAsync(Guid userId, CancellationToken cancellationToken)
    {
        if (userId == me)
        {
            return "you";
        }

        if (!_names.TryGetValue(userId, out var name))
        {
            try
            {
                name = (await client.GetUserAsync(userId, cancellationToken)).Name;
            }
            catch (Chat4AllApiException)
            {
                // Not in the directory (yet), or not visible: the id is still a correct answer.
                name = ShortId(userId);
            }

            _names[userId] = name;
        }

        return name;
    }

    /// <summary>The last 8 hex digits, enough to tell a handful of users apart on screen.</summary>
    public static string ShortId(Guid userId) => "…" + userId.ToString()[^8..];
}
