using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Chat4All.ServiceDefaults.Errors;

/// <summary>ProblemDetails results with the stable machine <c>code</c> every API error carries (docs/api.md §1.2).</summary>
public static class Problems
{
    public static ProblemHttpResult NotFound(string code, string detail) => Problem(StatusCodes.Status404NotFound, code, detail);

    public static ProblemHttpResult NotAMember() =>
        Problem(StatusCodes.Status403Forbidden, "not_a_member", "You are not a member of this conversation.");

    public static ProblemHttpResult Problem(int status, string code, string detail, IDictionary<string, object?>? extra = null)
    {
        var extensions = new Dictionary<string, object?> { [ProblemDetailsDefaults.CodeKey] = code };
        foreach (var (key, value) in extra ?? new Dictionary<string, object?>())
        {
            extensions[key] = value;
        }

        return TypedResults.Problem(detail, statusCode: status, extensions: extensions);
    }
}
