using Chat4All.Identity.Tokens;
using Npgsql;

namespace Chat4All.Identity.Tests;

/// <summary>
/// A caller cannot tell an existing client id from an unknown one by how long a refusal takes: an
/// unknown id is verified against a decoy hash that costs what a real client's does. (A wall-clock
/// comparison was too noisy on a shared 2-core machine to assert on; see docs/adr/0024.)
/// </summary>
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

    private async Task<string> RealSecretHashAsync()
    {
        var user = await platform.CreateUserAsync();
        await using var connection = new NpgsqlConnection(platform.Database.ConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""SELECT "ClientSecret" FROM identity."OpenIddictApplications" WHERE "ClientId" = @id""", connection);
        command.Parameters.AddWithValue("id", user.ClientId);
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
