using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Chat4All.Contracts;
using Json.Schema;
using Xunit.Abstractions;

namespace Chat4All.Host.Tests;

/// <summary>The machine-readable contract a host serves: the OpenAPI and AsyncAPI documents, the docs page and the landing page.</summary>
public sealed partial class ApiContractTests(OpenApiPlatform platform, ITestOutputHelper output) : IClassFixture<OpenApiPlatform>
{
    private static readonly string[] AuthPaths = ["/auth/token", "/auth/refresh", "/auth/revoke", "/.well-known/openid-configuration", "/.well-known/jwks"];

    [Fact]
    public async Task TheOpenApiDocumentPassesRedoclyLintWithNoErrors()
    {
        using var client = platform.Host.CreateHttpClient();
        var path = Path.Combine(Path.GetTempPath(), $"chat4all-openapi-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(path, await client.GetStringAsync("/openapi/v1.json"));
        try
        {
            var (exitCode, text) = await NodeTools.RunAsync(NodeTools.Bin("redocly"), ["lint", path, "--format=summary"]);

            output.WriteLine(text); // the warnings, for the record
            Assert.True(exitCode == 0 && text.Contains("Your API description is valid", StringComparison.Ordinal), $"redocly lint failed (exit {exitCode}):\n{text}");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task EveryOperationHasASummaryADescriptionSecurityAndProblemErrorsWithCodeAndTraceId()
    {
        using var client = platform.Host.CreateHttpClient();
        var document = JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json"))!;
        var gaps = new List<string>();
        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject())
            {
                var name = $"{method.ToUpperInvariant()} {path}";
                if (string.IsNullOrWhiteSpace(operation!["summary"]?.GetValue<string>()) || string.IsNullOrWhiteSpace(operation["description"]?.GetValue<string>()))
                {
                    gaps.Add($"{name}: no summary or description");
                }

                if (operation["security"] is null)
                {
                    gaps.Add($"{name}: no security requirement (not even an empty one)");
                }

                var responses = operation["responses"]!.AsObject();
                // Discovery and the key set take no input and no token: they have no 4xx to give.
                var takesInput = !path.StartsWith("/.well-known/", StringComparison.Ordinal);
                if (!responses.Any(r => r.Key.StartsWith('2') || r.Key.StartsWith('3')) || (takesInput && !responses.Any(r => r.Key.StartsWith('4')))
                    || !responses.ContainsKey("500"))
                {
                    gaps.Add($"{name}: responses {string.Join(',', responses.Select(r => r.Key))}");
                }

                foreach (var (status, response) in responses.Where(r => r.Key.StartsWith('4') || r.Key.StartsWith('5')))
                {
                    var problem = response!["content"]?["application/problem+json"]?["schema"]?["$ref"]?.GetValue<string>();
                    var oauthError = AuthPaths.Contains(path) && response["content"]?["application/json"] is not null;
                    if (problem is not ("#/components/schemas/Problem" or "#/components/schemas/ValidationProblem") && !oauthError)
                    {
                        gaps.Add($"{name} {status}: not a documented problem");
                    }
                }
            }
        }

        Assert.True(gaps.Count == 0, string.Join('\n', gaps));
        foreach (var path in AuthPaths)
        {
            Assert.NotNull(document["paths"]![path]);
        }

        var problemSchema = document["components"]!["schemas"]!["Problem"]!;
        Assert.Equal(["status", "code", "trace_id"], problemSchema["required"]!.AsArray().Select(r => r!.GetValue<string>()));
        var schemes = document["components"]!["securitySchemes"]!;
        Assert.Equal("bearer", schemes["bearer"]!["scheme"]!.GetValue<string>());
        Assert.Equal("/auth/token", schemes["oauth2"]!["flows"]!["clientCredentials"]!["tokenUrl"]!.GetValue<string>());
        var chunk = document["paths"]!["/v1/files/{uploadId}/chunks"]!["post"]!["requestBody"]!["content"]!.AsObject();
        Assert.Equal(["application/octet-stream"], chunk.Select(c => c.Key));
        var sendMessage = document["paths"]!["/v1/messages"]!["post"]!;
        Assert.Equal(ChatScopes.Messages, sendMessage["security"]![1]!["oauth2"]![0]!.GetValue<string>());
        Assert.NotNull(document["components"]!["schemas"]!["SendMessageRequest"]!["properties"]!["conversation_id"]!["examples"]);
    }

    [Fact]
    public async Task RealProblemsOnTheWireMatchTheDocumentedProblemSchemas()
    {
        using var anonymous = platform.Host.CreateHttpClient();
        var document = JsonNode.Parse(await anonymous.GetStringAsync("/openapi/v1.json"))!;
        var problem = Schema(document["components"]!["schemas"]!["Problem"]!);
        var validationProblem = Schema(document["components"]!["schemas"]!["ValidationProblem"]!);

        using var unauthorized = await anonymous.GetAsync("/v1/conversations");
        using var notFound = await platform.AsAlice.GetAsync($"/v1/conversations/{Guid.NewGuid()}");
        using var forbidden = await platform.AsEve.GetAsync($"/v1/conversations/{platform.ConversationId}");
        using var invalid = await platform.AsAlice.PostAsJsonAsync("/v1/messages", new { conversation_id = platform.ConversationId, payload = new { type = "text", text = new string('x', 100_000) } });
        using var wrongType = await platform.AsAlice.PostAsync("/v1/messages", new StringContent("{", new MediaTypeHeaderValue("application/json")));

        var responses = new[] { (unauthorized, problem), (notFound, problem), (forbidden, problem), (wrongType, problem), (invalid, validationProblem) };
        Assert.Equal([401, 404, 403, 400, 400], responses.Select(r => (int)r.Item1.StatusCode));
        foreach (var (response, schema) in responses)
        {
            var body = await response.Content.ReadAsStringAsync();
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var result = schema.Evaluate(JsonDocument.Parse(body).RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
            Assert.True(result.IsValid, $"{(int)response.StatusCode} {body}");
        }

        // The schema does reject a body without the promised fields.
        Assert.False(problem.Evaluate(JsonDocument.Parse("""{"status":404,"title":"Not Found"}""").RootElement).IsValid);
    }

    [Fact]
    public async Task TheAsyncApiDocumentPassesAsyncApiValidate()
    {
        using var client = platform.Host.CreateHttpClient();
        using var response = await client.GetAsync("/asyncapi/v1.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var directory = Directory.CreateTempSubdirectory("chat4all-asyncapi-");
        try
        {
            var path = Path.Combine(directory.FullName, "asyncapi.json");
            await File.WriteAllTextAsync(path, await response.Content.ReadAsStringAsync());
            // The CLI sends usage metrics unless its config file says not to; this one does.
            var metrics = Path.Combine(directory.FullName, "analytics.json");
            await File.WriteAllTextAsync(metrics, """{"analyticsEnabled":"false","infoMessageShown":"true","userID":"chat4all-tests"}""");

            var (exitCode, text) = await NodeTools.RunAsync(NodeTools.Bin("asyncapi"), ["validate", path, "--fail-severity", "error"],
                new Dictionary<string, string> { ["ASYNCAPI_METRICS_CONFIG_PATH"] = metrics });

            output.WriteLine(text);
            Assert.True(exitCode == 0, $"asyncapi validate failed (exit {exitCode}):\n{text}");
            Assert.Contains("0 errors", text, StringComparison.Ordinal);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task TheLandingPageLinksTheDocsTheConsoleBothDocumentsAndTheHealthEndpointsAndEveryLinkAnswers()
    {
        using var client = platform.Host.CreateHttpClient();

        using var landing = await client.GetAsync("/");

        Assert.Equal(HttpStatusCode.OK, landing.StatusCode);
        Assert.Equal("text/html", landing.Content.Headers.ContentType?.MediaType);
        Assert.Equal("nosniff", landing.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", landing.Headers.GetValues("X-Frame-Options").Single());
        Assert.Contains("frame-ancestors 'none'", landing.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        var links = Href().Matches(await landing.Content.ReadAsStringAsync()).Select(m => m.Groups[1].Value).ToList();
        Assert.Equal(["/docs", "/console/", "/openapi/v1.json", "/asyncapi/v1.json", "/health", "/ready"], links);
        foreach (var link in links)
        {
            using var linked = await client.GetAsync(link); // HttpClient follows /docs → /docs/
            Assert.True(linked.StatusCode == HttpStatusCode.OK, $"{link} → {(int)linked.StatusCode}");
        }
    }

    [Fact]
    public async Task TheDocsPageServesScalarFromTheHostItselfWithSecurityHeaders()
    {
        using var client = platform.Host.CreateHttpClient();

        using var page = await client.GetAsync("/docs/");
        var html = await page.Content.ReadAsStringAsync();
        var scripts = ScriptSource().Matches(html).Select(m => m.Groups[1].Value).ToList();

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("Chat4All API", html, StringComparison.Ordinal);
        Assert.Contains("openapi/v1.json", html, StringComparison.Ordinal);
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        Assert.StartsWith("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        Assert.NotEmpty(scripts);
        foreach (var script in scripts)
        {
            Assert.False(script.Contains("//", StringComparison.Ordinal), $"{script} is not served by the host");
            using var served = await client.GetAsync("/docs/" + script);
            Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        }
    }

    [Fact]
    public async Task TheDocsPageRendersTheApiInChromiumWithEveryRequestOutsideTheHostBlocked()
    {
        var chromium = NodeTools.Chromium();
        Assert.True(chromium is not null, "Chromium is missing: scripts/test.sh installs it (scripts/infra.sh browser).");
        var config = JsonSerializer.Serialize(new
        {
            url = platform.Host.BaseAddress.ToString(),
            chromium,
            expect = new[] { "Chat4All API", "Who am I", "Conversations", "Auth" },
        });

        var (exitCode, text) = await NodeTools.RunAsync("node", [Path.Combine(NodeTools.Directory, "docs.e2e.mjs")],
            new Dictionary<string, string> { ["CHAT4ALL_DOCS_E2E"] = config }, TimeSpan.FromMinutes(2));

        output.WriteLine(text);
        Assert.True(exitCode == 0, text);
        Assert.Contains("\"outside\":[]", text, StringComparison.Ordinal);
    }

    private static JsonSchema Schema(JsonNode schema) => JsonSchema.FromText(schema.ToJsonString());

    [GeneratedRegex("<a href=\"([^\"]+)\"")]
    private static partial Regex Href();

    [GeneratedRegex("<script[^>]* src=\"([^\"]+)\"")]
    private static partial Regex ScriptSource();
}
