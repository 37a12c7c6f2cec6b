using System.Collections.Frozen;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Serves the web console (<c>/console/</c>) and its JavaScript client (<c>/console/chat4all-client.js</c>)
/// from files embedded in this assembly. They are plain static files that use the public API like any
/// other client, so the host only maps them; see docs/adr/0015-clients.md.
/// </summary>
public static class WebConsoleExtensions
{
    public const string Path = "/console";

    private static readonly Lazy<FrozenDictionary<string, ConsoleFile>> Files = new(Load);

    public static IEndpointRouteBuilder MapWebConsole(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGet(Path + "/{**file}", Serve).AllowAnonymous().ExcludeFromDescription().WithName("WebConsole");
        return endpoints;
    }

    private static IResult Serve(HttpContext http, string? file)
    {
        if (!http.Request.Path.Value!.EndsWith('/') && string.IsNullOrEmpty(file))
        {
            return TypedResults.Redirect(Path + "/"); // relative URLs in index.html resolve under /console/
        }

        if (!Files.Value.TryGetValue(string.IsNullOrEmpty(file) ? "index.html" : file, out var content))
        {
            return TypedResults.NotFound();
        }

        var headers = http.Response.Headers;
        headers.CacheControl = "no-cache"; // revalidate with the ETag: a new host version is picked up at once
        headers.XContentTypeOptions = "nosniff";
        headers.ContentSecurityPolicy = "default-src 'self'; connect-src 'self' ws: wss:; img-src 'self' data: blob:; frame-ancestors 'none'";
        headers["Referrer-Policy"] = "no-referrer";
        if (http.Request.Headers.IfNoneMatch.ToString() == content.ETag)
        {
            return TypedResults.StatusCode(StatusCodes.Status304NotModified);
        }

        headers.ETag = content.ETag;
        return TypedResults.Bytes(content.Bytes, content.ContentType);
    }

    private static FrozenDictionary<string, ConsoleFile> Load()
    {
        var assembly = typeof(WebConsoleExtensions).Assembly;
        var files = new Dictionary<string, ConsoleFile>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("console/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var bytes = buffer.ToArray();
            var relative = name["console/".Length..].Replace('\\', '/');
            files[relative] = new ConsoleFile(bytes, ContentTypeOf(relative), $"\"{Convert.ToHexStringLower(SHA256.HashData(bytes))[..16]}\"");
        }

        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static string ContentTypeOf(string file) => System.IO.Path.GetExtension(file) switch
    {
        ".html" => "text/html; charset=utf-8",
        ".js" => "text/javascript; charset=utf-8",
        ".css" => "text/css; charset=utf-8",
        ".md" => "text/markdown; charset=utf-8",
        ".svg" => "image/svg+xml",
        ".png" => "image/png",
        _ => "application/octet-stream",
    };

    private sealed record ConsoleFile(byte[] Bytes, string ContentType, string ETag);
}
