using System.Globalization;
using Chat4All.Contracts;
using Chat4All.Delivery.Data;
using Microsoft.EntityFrameworkCore;

namespace Chat4All.Delivery.Addresses;

/// <summary>
/// Gives the demo users an address on every channel (the n-th user gets +1555010000n on WhatsApp
/// and SMS, @name_demo on Telegram, and so on), so a message sent in the demo fans out to every
/// simulated channel (["all"]), or on WhatsApp first by default. Keeps addresses a user already has.
/// </summary>
public sealed class DemoChannelAddresses(DeliveryDbContext db, TimeProvider time)
{
    public static IReadOnlyDictionary<string, string> For(string name, int index) => new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [Channels.WhatsApp] = string.Create(CultureInfo.InvariantCulture, $"+155501{index:D5}"),
        [Channels.Sms] = string.Create(CultureInfo.InvariantCulture, $"+155501{index:D5}"),
        [Channels.Telegram] = $"@{name}_demo",
        [Channels.Instagram] = $"@{name}.demo",
        [Channels.Messenger] = string.Create(CultureInfo.InvariantCulture, $"{1_000_000_000_000L + index}"),
    };

    public async Task EnsureAsync(IReadOnlyList<(string Name, Guid UserId)> users, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        for (var i = 0; i < users.Count; i++)
        {
            var (name, userId) = users[i];
            var position = 0;
            foreach (var (channel, address) in For(name, i + 1))
            {
                await db.Database.ExecuteSqlAsync($"""
                    INSERT INTO delivery.channel_addresses (user_id, channel, address, updated_at, position) VALUES ({userId}, {channel}, {address}, {now}, {position})
                    ON CONFLICT DO NOTHING
                    """, cancellationToken);
                position++;
            }
        }
    }
}
