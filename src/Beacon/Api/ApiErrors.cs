using System.Text.Encodings.Web;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Beacon.Api;

/// <summary>
/// Errors in SparkPost's shape: {"errors":[{"message":"…","description":"…","code":"…"}]}. The codes are
/// SparkPost's families: 1002 unauthorized, 1200 invalid parameter, 1600 no such resource.
/// </summary>
public static class ApiErrors
{
    public const string Unauthorized = "1002";
    public const string InvalidParameter = "1200";
    public const string NotFound = "1600";

    // Descriptions quote parameters ('from'): JSON needs no escape for them, HTML-safe escaping would give \u0027.
    private static readonly JsonWriterOptions Output = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static async Task WriteAsync(HttpContext context, int status, string message, string? description, string code)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        using (var writer = new Utf8JsonWriter(context.Response.BodyWriter, Output))
        {
            writer.WriteStartObject();
            writer.WriteStartArray("errors");
            writer.WriteStartObject();
            writer.WriteString("message", message);
            if (description is not null)
            {
                writer.WriteString("description", description);
            }

            writer.WriteString("code", code);
            writer.WriteEndObject();
            writer.WriteEndArray();
            writer.WriteEndObject();
        }

        await context.Response.BodyWriter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
    }

    public static Task InvalidAsync(HttpContext context, string description) =>
        WriteAsync(context, StatusCodes.Status400BadRequest, "invalid params", description, InvalidParameter);
}

/// <summary>A query parameter that is not valid; its message is the error's description.</summary>
public sealed class ApiParameterException(string message) : Exception(message);
