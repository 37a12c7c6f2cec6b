using System.Text.Json;
using System.Threading.RateLimiting;
using Chat4All.BuildingBlocks.Hosting;
using Chat4All.ServiceDefaults.Audit;
using Chat4All.ServiceDefaults.Auth;
using Chat4All.ServiceDefaults.Errors;
using Chat4All.ServiceDefaults.Health;
using Chat4All.ServiceDefaults.Http;
using Chat4All.ServiceDefaults.Logging;
using Chat4All.ServiceDefaults.OpenApi;
using Chat4All.ServiceDefaults.RateLimiting;
using Chat4All.ServiceDefaults.Telemetry;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenIddict.Validation;
using OpenIddict.Validation.AspNetCore;
using Serilog;

namespace Microsoft.Extensions.Hosting;

public static class ServiceDefaultsExtensions
{
    private const string ReadyTag = "ready";

    /// <summary>
    /// What every Chat4All service gets: logging, telemetry, health, ProblemDetails, JWT validation,
    /// scope policies, the shared Redis rate limiter, audit events and validated options.
    /// </summary>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder, bool logToStandardError = false)
    {
        builder.Services.AddOptions<Chat4AllOptions>().BindConfiguration(Chat4AllOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<RateLimitingOptions>().BindConfiguration(RateLimitingOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddOptions<MetricsAccessOptions>().BindConfiguration(MetricsAccessOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        // No "Server: Kestrel": nothing tells a scanner which server and version to aim at.
        builder.Services.Configure<KestrelServerOptions>(o => o.AddServerHeader = false);
        builder.Services.AddKestrelRejectionProblems();
        builder.Services.AddSingleton(TimeProvider.System);

        const string serviceName = "chat4all";
        builder.AddChat4AllLogging(serviceName, logToStandardError);
        builder.AddChat4AllTelemetry(serviceName);
        builder.AddChat4AllPostgres();
        builder.AddChat4AllRedis();

        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower;
            o.SerializerOptions.DictionaryKeyPolicy = JsonNamingPolicy.SnakeCaseLower;
            // The contract's records (REST bodies included) are written by code generated at build time; the rest by reflection.
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, Chat4All.Contracts.ContractJsonContext.Default);
        });
        builder.Services.AddProblemDetails(o => o.CustomizeProblemDetails = ProblemDetailsDefaults.Customize);
        builder.Services.AddExceptionHandler<GlobalExceptionHandler>();
        builder.Services.AddValidation();
        builder.Services.AddChat4AllOpenApi();

        builder.Services.AddHealthChecks()
            .AddCheck<PostgresHealthCheck>("postgres", tags: [ReadyTag], timeout: TimeSpan.FromSeconds(3))
            .AddCheck<RedisHealthCheck>("redis", tags: [ReadyTag], timeout: TimeSpan.FromSeconds(3));

        builder.AddChat4AllAuthentication();
        builder.Services.AddSingleton<AuditLog>();

        builder.Services.AddSingleton<RedisFixedWindow>();
        builder.Services.AddSingleton<RedisRateLimiter>();
        builder.Services.AddRateLimiter(o =>
        {
            o.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            o.OnRejected = OnRateLimitRejectedAsync;
        });
        builder.Services.AddOptions<RateLimiterOptions>()
            .Configure<RedisRateLimiter>((o, limiter) => o.GlobalLimiter = limiter);

        return builder;
    }

    /// <summary>
    /// Bearer validation for every API route (OpenIddict validation: RS256 JWTs from our issuer,
    /// our audience, unexpired). When identity runs in this process its keys are read directly
    /// (see identity's <c>UseLocalServer</c>); otherwise discovery and JWKS are fetched from the
    /// authority. Endpoints are authenticated unless they opt out with <c>AllowAnonymous</c>.
    /// </summary>
    private static void AddChat4AllAuthentication(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOpenIddict().AddValidation(o =>
        {
            o.UseSystemNetHttp();

            // Bearer tokens only from the Authorization header: a token in a URL or a form body leaks
            // into logs, proxies and Referer headers. /ws alone takes ?token= (WebSocketTokenMiddleware).
            o.UseAspNetCore()
                .DisableAccessTokenExtractionFromQueryString()
                .DisableAccessTokenExtractionFromBodyForm();
            o.AddEventHandler(RejectRevokedUsers.Descriptor);
            o.AddEventHandler(KeysFromTheAuthority.Descriptor);
        });
        builder.Services.AddOptions<OpenIddictValidationOptions>()
            .Configure<IOptions<AuthOptions>>((validation, auth) =>
            {
                validation.Issuer = auth.Value.Issuer;
                validation.Audiences.Add(auth.Value.Audience);
                if (auth.Value.Authority is { } authority)
                {
                    validation.ConfigurationEndpoint = new Uri(authority, ".well-known/openid-configuration");
                }
            });
        builder.Services.AddSingleton<RevokedUsers>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RevokedUsers>());
        builder.Services.AddAuthentication(OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme);
        builder.Services.AddAuthorization(o =>
        {
            o.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
            o.AddScopePolicies();
        });
    }

    /// <summary>The shared middleware pipeline, in the order the concerns depend on each other.</summary>
    public static WebApplication UseServiceDefaults(this WebApplication app)
    {
        app.Use(KestrelRejections.MarkReachedAsync);
        app.UseMiddleware<SecurityHeadersMiddleware>();
        app.UseMiddleware<RequestIdMiddleware>();
        app.UseSerilogRequestLogging(o =>
        {
            o.GetLevel = (ctx, _, ex) =>
                ex is not null || ctx.Response.StatusCode >= 500 ? Serilog.Events.LogEventLevel.Error
                : TelemetryExtensions.IsOperationalPath(ctx.Request.Path) ? Serilog.Events.LogEventLevel.Verbose
                : Serilog.Events.LogEventLevel.Information;
            // The completion line is written outside the scope below, so it gets the same ids itself.
            o.EnrichDiagnosticContext = (diagnostics, ctx) =>
            {
                foreach (var (field, value) in RequestLogFields.Of(ctx))
                {
                    diagnostics.Set(field, value);
                }
            };
        });
        app.UseExceptionHandler();
        app.UseStatusCodePages();
        app.UseMiddleware<MetricsAccessMiddleware>();
        app.UseRouting();
        app.UseMiddleware<AuthAuditMiddleware>();
        app.UseMiddleware<WebSocketTokenMiddleware>();
        app.UseMiddleware<CredentialEndpointThrottle>();
        app.UseAuthentication();
        app.UseAuthorization();
        app.UseMiddleware<RequestLogScopeMiddleware>();
        app.UseRateLimiter();
        return app;
    }

    /// <summary>
    /// <c>/health</c> (liveness), <c>/ready</c> (PostgreSQL, Redis, ...), <c>/metrics</c> (Prometheus)
    /// and the OpenAPI document at <c>/openapi/v1.json</c>.
    /// </summary>
    public static IEndpointRouteBuilder MapDefaultEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/health", new HealthCheckOptions { Predicate = _ => false, ResponseWriter = HealthResponseWriter.WriteAsync })
            .AllowAnonymous();
        endpoints.MapHealthChecks("/ready", new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(ReadyTag),
            ResponseWriter = HealthResponseWriter.WriteAsync,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        }).AllowAnonymous();
        endpoints.MapPrometheusScrapingEndpoint("/metrics").AllowAnonymous();
        endpoints.MapOpenApi("/openapi/{documentName}.json").AllowAnonymous();
        return endpoints;
    }

    /// <summary>Routes under this builder draw from the named budget instead of the default one.</summary>
    public static TBuilder WithRateLimitBudget<TBuilder>(this TBuilder builder, string budget)
        where TBuilder : IEndpointConventionBuilder =>
        builder.WithMetadata(new RateLimitBudgetMetadata(budget));

    private static async ValueTask OnRateLimitRejectedAsync(OnRejectedContext context, CancellationToken cancellationToken)
    {
        var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        var budget = context.Lease.TryGetMetadata(nameof(RedisRateLimiter.RejectedBy), out var rejected) && rejected is RedisRateLimiter.RejectedBy r
            ? r : null;
        await RateLimitRejection.WriteAsync(context.HttpContext, budget?.Budget ?? "unknown", budget?.UserId ?? "unknown", retryAfter);
    }
}
