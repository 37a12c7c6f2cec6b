using System.Diagnostics;
using System.Net;
using Chat4All.Identity.Tokens;
using Npgsql;

namespace Chat4All.Identity.Tests;

/// <summary>A caller cannot tell an existing client id from an unknown one by how long a refusal takes.</summary>
public sealed class ClientEnumerationTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
{
    [Fact]
    public async Task TheDecoyHashCostsWhatARealClientSecretHashCosts()
    {
        var decoy = Convert.FromBase64String(DecoyClientSecretCheck.DecoySecretHash);
        var real = Convert.FromBase64String(await RealSecretHashAsync());

        // Format marker, PRF, iteration count and salt length: everything that sets the PBKDF2 cost.
        Assert.Equal(real[..13], decoy[..13]);
        Assert.Equal(real.Length, decoy.Length);
    }

    [Fact]
    public async Task AnUnknownClientIdIsRefusedAfterAsMuchHashingAsAWrongSecret()
    {
        const int samples = 30;
        var user = await platform.CreateUserAsync();
        var known = new List<double>();
        var unknown = new List<double>();
        using var client = platform.Host.CreateHttpClient();
        for (var i = 0; i < samples + 2; i++)
        {
            // Interleaved, so machine noise hits both series alike; the first two warm up.
            var knownTime = await TimeAsync(() => WrongSecretAsync(client, user.ClientId, i));
            var unknownTime = await TimeAsync(() => WrongSecretAsync(client, "c4a_" + Guid.NewGuid().ToString("N")));
            if (i >= 2)
            {
                known.Add(knownTime);
                unknown.Add(unknownTime);
            }
        }

        // Without the decoy an unknown id answered in ~75% of the time (no PBKDF2 at all).
        Assert.InRange(Median(unknown) / Median(known), 0.85, 1.5);
    }

    private static async Task<double> TimeAsync(Func<Task<HttpResponseMessage>> request)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await request();
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        return Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private async Task<string> RealSecretHashAsync()
    {
        var user = await platform.CreateUserAsync();
        await using var connection = new NpgsqlConnection(platform.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""SELECT "ClientSecret" FROM identity."OpenIddictApplications" WHERE "ClientId" = @id""", connection);
        command.Parameters.AddWithValue("id", user.ClientId);
        return (string)(await command.ExecuteScalarAsync())!;
    }

    private static Task<HttpResponseMessage> WrongSecretAsync(HttpClient client, string clientId, int attempt = 0) =>
        OAuth.PostTokenAsync(client, ("grant_type", "client_credentials"), ("client_id", clientId), ("client_secret", "wrong-" + attempt));
}
