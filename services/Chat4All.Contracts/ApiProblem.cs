namespace Chat4All.Contracts;

/// <summary>
/// An error body as a client reads it: RFC 9457 with the API's <c>code</c> and <c>trace_id</c>
/// (<c>ProblemDetailsDefaults</c> adds them to every problem); validation problems add <c>errors</c>,
/// incomplete uploads <c>missing_chunks</c>. The server writes problems with ASP.NET Core's own types.
/// </summary>
public sealed record ApiProblem(
    string? Type,
    string? Title,
    int? Status,
    string? Detail,
    string? TraceId,
    string? Code,
    Dictionary<string, string[]>? Errors,
    List<int>? MissingChunks);
