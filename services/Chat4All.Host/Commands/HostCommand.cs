using System.Text.Json;
using Chat4All.BuildingBlocks.Data;
using Chat4All.Delivery.Addresses;
using Chat4All.Identity.Users;

namespace Chat4All.Host.Commands;

/// <summary>What this invocation of the host binary does: serve, or run one command and exit.</summary>
internal abstract record HostCommand(string[] HostArgs)
{
    public const string Usage = """
        Usage:
          Chat4All.Host [--target all|identity,...] [--urls http://127.0.0.1:8080]   serve
          Chat4All.Host migrate                                                       apply every service's migrations and exit
          Chat4All.Host users create --name NAME [--scopes messages,files,admin] [--tenant UUID]
          Chat4All.Host users seed-demo --output PATH                                 create (or keep) the demo users, write them as JSON
        """;

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
    };

    public abstract Task<int> RunAsync(WebApplication app);

    public static HostCommand Parse(string[] args)
    {
        if (args.Length == 0 || args[0].StartsWith('-'))
        {
            return new Serve(args);
        }

        return args[0] switch
        {
            "migrate" => new Migrate(args[1..]),
            "users" when args.Length > 1 && args[1] == "create" => ParseCreateUser(args[2..]),
            "users" when args.Length > 1 && args[1] == "seed-demo" => ParseSeedDemo(args[2..]),
            _ => new Invalid($"Unknown command '{string.Join(' ', args.Take(2))}'."),
        };
    }

    private static HostCommand ParseCreateUser(string[] args)
    {
        var (options, rest) = TakeOptions(args, "--name", "--scopes", "--tenant");
        if (!options.TryGetValue("--name", out var name) || string.IsNullOrWhiteSpace(name))
        {
            return new Invalid("users create: --name NAME is required.");
        }

        Guid? tenant = null;
        if (options.TryGetValue("--tenant", out var tenantText))
        {
            if (!Guid.TryParse(tenantText, out var parsed))
            {
                return new Invalid($"users create: --tenant '{tenantText}' is not a UUID.");
            }

            tenant = parsed;
        }

        var scopes = options.TryGetValue("--scopes", out var list)
            ? list.Split([',', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : [];
        return new CreateUser(rest, name, scopes, tenant);
    }

    private static HostCommand ParseSeedDemo(string[] args)
    {
        var (options, rest) = TakeOptions(args, "--output");
        return options.TryGetValue("--output", out var output) && !string.IsNullOrWhiteSpace(output)
            ? new SeedDemo(rest, output)
            : new Invalid("users seed-demo: --output PATH is required.");
    }

    /// <summary>Splits the command's own options from the rest, which go to the host's configuration.</summary>
    private static (Dictionary<string, string> Options, string[] Remaining) TakeOptions(string[] args, params string[] names)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        var rest = new List<string>();
        for (var i = 0; i < args.Length; i++)
        {
            var (name, inlineValue) = args[i].Split('=', 2) is [var n, var v] ? (n, v) : (args[i], null);
            if (names.Contains(name))
            {
                var value = inlineValue ?? (i + 1 < args.Length ? args[++i] : "");
                options[name] = value;
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        return (options, rest.ToArray());
    }

    /// <summary>Validates options up front, as serving would, so a misconfigured command fails clearly.</summary>
    protected static void ValidateOptions(WebApplication app) =>
        app.Services.GetRequiredService<Microsoft.Extensions.Options.IStartupValidator>().Validate();

    internal sealed record Serve(string[] Args) : HostCommand(Args)
    {
        public override async Task<int> RunAsync(WebApplication app)
        {
            await app.RunAsync();
            return 0;
        }
    }

    internal sealed record Migrate(string[] Args) : HostCommand(Args)
    {
        public override async Task<int> RunAsync(WebApplication app)
        {
            ValidateOptions(app);
            foreach (var migration in app.Services.GetServices<IDatabaseMigration>())
            {
                var applied = await migration.ApplyAsync(app.Services, CancellationToken.None);
                await Console.Out.WriteLineAsync(applied.Count == 0
                    ? $"{migration.Name}: up to date"
                    : $"{migration.Name}: applied {string.Join(", ", applied)}");
            }

            return 0;
        }
    }

    internal sealed record CreateUser(string[] Args, string Name, IReadOnlyList<string> Scopes, Guid? Tenant) : HostCommand(Args)
    {
        public override async Task<int> RunAsync(WebApplication app)
        {
            ValidateOptions(app);
            await using var scope = app.Services.CreateAsyncScope();
            try
            {
                var user = await scope.ServiceProvider.GetRequiredService<UserProvisioner>()
                    .CreateAsync(Name, Scopes, Tenant, CancellationToken.None);
                await Console.Out.WriteLineAsync(JsonSerializer.Serialize(user, Json));
                return 0;
            }
            catch (UserProvisioningException ex)
            {
                await Console.Error.WriteLineAsync($"users create: {ex.Message} {string.Join(' ', ex.Errors.SelectMany(e => e.Value))}".TrimEnd());
                return 1;
            }
        }
    }

    internal sealed record SeedDemo(string[] Args, string OutputPath) : HostCommand(Args)
    {
        public override async Task<int> RunAsync(WebApplication app)
        {
            ValidateOptions(app);
            await using var scope = app.Services.CreateAsyncScope();
            var users = await scope.ServiceProvider.GetRequiredService<DemoUsers>().EnsureAsync(OutputPath, CancellationToken.None);
            if (scope.ServiceProvider.GetService<DemoChannelAddresses>() is { } addresses)
            {
                // With the delivery target, every demo user is reachable on every simulated channel.
                await addresses.EnsureAsync([.. users.Select(u => (u.Name, u.UserId))], CancellationToken.None);
            }

            await Console.Out.WriteLineAsync($"{users.Count} demo users written to {OutputPath}");
            return 0;
        }
    }

    internal sealed record Invalid(string Message) : HostCommand([])
    {
        public override Task<int> RunAsync(WebApplication app) => Task.FromResult(2);
    }
}
