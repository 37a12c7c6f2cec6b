using System.Globalization;
using Chat4All.BuildingBlocks.Blobs;
using Chat4All.Contracts;
using Chat4All.Files.Data;
using Chat4All.Files.Memberships;
using Chat4All.ServiceDefaults.Auth;
using Chat4All.ServiceDefaults.Errors;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Chat4All.Contracts.Files;

namespace Chat4All.Files.Downloads;

/// <summary><c>GET /v1/files/{file_id}</c> and its content, for members of the file's conversation only.</summary>
public static class FilesApi
{
    public static IEndpointRouteBuilder MapFilesApi(this IEndpointRouteBuilder endpoints)
    {
        var files = endpoints.MapGroup("/v1/files").RequireAuthorization(ChatScopes.Files).WithTags("Files");
        files.MapGet("/{fileId:guid}", GetMetadata).WithName("GetFile")
            .WithSummary("Get file metadata")
            .WithDescription("Name, size, type, checksum and conversation of a completed file.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        files.MapGet("/{fileId:guid}/content", GetContent).WithName("GetFileContent")
            .WithSummary("Download a file")
            .WithDescription("The file's bytes, with a single `Range` (206, 416 outside the file) or a redirect to a presigned URL (302) when the blob store is S3.")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status416RangeNotSatisfiable)
            .Produces<Stream>(StatusCodes.Status200OK, "application/octet-stream").Produces<Stream>(StatusCodes.Status206PartialContent, "application/octet-stream")
            .Produces(StatusCodes.Status302Found); // an IResult: the generator cannot see these
        return endpoints;
    }

    public static async Task<Results<Ok<FileMetadata>, ProblemHttpResult>> GetMetadata(
        Guid fileId, HttpContext http, FilesDbContext db, CancellationToken cancellationToken)
    {
        var file = await db.Files.AsNoTracking().SingleOrDefaultAsync(f => f.Id == fileId, cancellationToken);
        if (await CheckAsync(db, file, http.CallerId(), cancellationToken) is { } problem)
        {
            return problem;
        }

        return TypedResults.Ok(new FileMetadata(file!.Id, file.ConversationId, file.OwnerId, file.FileName, file.MimeType, file.Size, file.Sha256,
            $"/v1/files/{file.Id}/content", file.CreatedAt));
    }

    /// <summary>
    /// S3: 302 to a presigned URL. Directory: the bytes, streamed, with single-range requests (206,
    /// <c>Content-Range</c>) and 416 for ranges outside the file; several ranges get the whole file.
    /// </summary>
    public static async Task<IResult> GetContent(
        Guid fileId, HttpContext http, FilesDbContext db, IBlobStore blobs, IOptions<FilesOptions> options, CancellationToken cancellationToken)
    {
        var file = await db.Files.AsNoTracking().SingleOrDefaultAsync(f => f.Id == fileId, cancellationToken);
        if (await CheckAsync(db, file, http.CallerId(), cancellationToken) is { } problem)
        {
            return problem;
        }

        if (await blobs.GetDownloadUrlAsync(file!.BlobKey, file.FileName, file.MimeType, options.Value.DownloadUrlLifetime, cancellationToken) is { } url)
        {
            return TypedResults.Redirect(url.ToString());
        }

        var headers = http.Response.Headers;
        headers.ContentDisposition = ContentDispositionHeader.Attachment(file.FileName);
        headers.XContentTypeOptions = "nosniff";
        headers.AcceptRanges = "bytes";
        headers.ETag = "\"" + file.Sha256 + "\"";
        headers.CacheControl = "private, max-age=0";

        var (offset, length, partial) = (0L, file.Size, false);
        if (RangeOf(http.Request, file) is { } range)
        {
            if (range.Unsatisfiable)
            {
                headers.ContentRange = "bytes */" + file.Size.ToString(CultureInfo.InvariantCulture);
                return Problems.Problem(StatusCodes.Status416RangeNotSatisfiable, "range_not_satisfiable", $"The file has {file.Size} bytes.");
            }

            (offset, length, partial) = (range.Offset, range.Length, true);
        }

        var content = await blobs.OpenReadAsync(file.BlobKey, offset, length, cancellationToken);
        http.Response.StatusCode = partial ? StatusCodes.Status206PartialContent : StatusCodes.Status200OK;
        if (partial)
        {
            headers.ContentRange = string.Create(CultureInfo.InvariantCulture, $"bytes {offset}-{offset + length - 1}/{file.Size}");
        }

        http.Response.ContentLength = length;
        http.Response.ContentType = file.MimeType;
        return new StreamedContent(content);
    }

    /// <summary>404 for an unknown file and for a caller outside its conversation, so its id reveals nothing to them.</summary>
    private static async Task<ProblemHttpResult?> CheckAsync(FilesDbContext db, StoredFile? file, Guid caller, CancellationToken cancellationToken) =>
        file is not null && await db.IsMemberAsync(file.ConversationId, caller, cancellationToken)
            ? null
            : Problems.NotFound("file_not_found", "No such file.");

    private sealed record ByteRange(long Offset, long Length, bool Unsatisfiable);

    // One range (bytes=a-b, a-, -n) honoured, also under If-Range with our ETag; anything else: the whole file.
    private static ByteRange? RangeOf(HttpRequest request, StoredFile file)
    {
        var header = request.Headers.Range.ToString();
        if (string.IsNullOrEmpty(header) || !RangeHeaderValue.TryParse(header, out var parsed) ||
            !string.Equals(parsed.Unit.Value, "bytes", StringComparison.OrdinalIgnoreCase) || parsed.Ranges.Count != 1)
        {
            return null;
        }

        var ifRange = request.Headers.IfRange.ToString();
        if (ifRange.Length > 0 && ifRange != "\"" + file.Sha256 + "\"")
        {
            return null;
        }

        var range = parsed.Ranges.Single();
        long from, to;
        if (range.From is null)
        {
            var suffix = Math.Min(range.To ?? 0, file.Size);
            (from, to) = (file.Size - suffix, file.Size - 1);
            if (suffix == 0)
            {
                return new ByteRange(0, 0, Unsatisfiable: true);
            }
        }
        else
        {
            from = range.From.Value;
            to = Math.Min(range.To ?? file.Size - 1, file.Size - 1);
        }

        return from >= file.Size || from > to ? new ByteRange(0, 0, Unsatisfiable: true) : new ByteRange(from, to - from + 1, false);
    }

    /// <summary>Copies the blob stream to the response, status and headers already set; disposes it.</summary>
    private sealed class StreamedContent(Stream content) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            await using (content)
            {
                await content.CopyToAsync(httpContext.Response.Body, 128 * 1024, httpContext.RequestAborted);
            }
        }
    }
}
