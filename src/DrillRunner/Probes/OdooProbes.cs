using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using BackupDr.Repository.Configuration;

namespace BackupDr.DrillRunner.Probes;

/// <summary>
/// The Odoo application serving the sandbox answers over HTTP: its login page loads, and its JSON-RPC
/// <c>/web/webclient/version_info</c> reports the Odoo series the backup was taken from.
/// </summary>
internal sealed class OdooHttpProbe(OdooProbeOptions options, HttpClient http) : IProbe
{
    public string Name => "odoo-http";

    public bool Critical => true;

    public async Task<ProbeResult> RunAsync(ProbeContext context, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        var baseUri = OdooProbes.BaseUri(options);
        using (var login = await http.GetAsync(new Uri(baseUri, "web/login"), timeout.Token))
        {
            if (!login.IsSuccessStatusCode)
            {
                return ProbeResult.Fail($"GET /web/login answered HTTP {(int)login.StatusCode}");
            }
        }

        var request = new JsonObject { ["jsonrpc"] = "2.0", ["method"] = "call", ["params"] = new JsonObject(), ["id"] = 1 };
        using var response = await http.PostAsJsonAsync(new Uri(baseUri, "web/webclient/version_info"), request, timeout.Token);
        if (!response.IsSuccessStatusCode)
        {
            return ProbeResult.Fail($"POST /web/webclient/version_info answered HTTP {(int)response.StatusCode}");
        }

        var answer = JsonNode.Parse(await response.Content.ReadAsStringAsync(timeout.Token));
        if (answer?["error"] is { } error)
        {
            return ProbeResult.Fail($"/web/webclient/version_info returned an error: {error["message"]}");
        }

        var version = answer?["result"]?["server_version"]?.GetValue<string>();
        return OdooProbes.CheckVersion(version, context.Manifest.Source.OdooVersion, "GET /web/login 200, version_info");
    }
}

/// <summary>
/// Odoo's external API works on the restored data: <c>common.version</c>, <c>common.authenticate</c> as the drill
/// user, and <c>object.execute_kw</c> reading one partner. The password is sent to Odoo only, never recorded.
/// </summary>
internal sealed class OdooXmlRpcProbe(OdooProbeOptions options, HttpClient http) : IProbe
{
    public string Name => "odoo-xmlrpc";

    public bool Critical => true;

    public async Task<ProbeResult> RunAsync(ProbeContext context, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        var baseUri = OdooProbes.BaseUri(options);
        var common = new XmlRpcClient(http, new Uri(baseUri, "xmlrpc/2/common"));
        var info = await common.CallAsync("version", [], timeout.Token) as IReadOnlyDictionary<string, object?>;
        var version = info?.GetValueOrDefault("server_version") as string;
        var versionCheck = OdooProbes.CheckVersion(version, context.Manifest.Source.OdooVersion, "version");
        if (versionCheck.Status != Repository.Drills.ProbeStatus.Passed)
        {
            return versionCheck;
        }

        var database = options.Database.Length > 0 ? options.Database : context.Database;
        var uid = await common.CallAsync("authenticate", [database, options.Login, options.Password, new Dictionary<string, object?>()], timeout.Token);
        if (uid is not long userId)
        {
            return ProbeResult.Fail($"authenticate as '{options.Login}' on database '{database}' was refused");
        }

        var objects = new XmlRpcClient(http, new Uri(baseUri, "xmlrpc/2/object"));
        var partners = await objects.CallAsync("execute_kw",
            [database, userId, options.Password, "res.partner", "search_read", new object?[] { Array.Empty<object?>() },
             new Dictionary<string, object?> { ["fields"] = new object?[] { "id", "name" }, ["limit"] = 1 }],
            timeout.Token) as IReadOnlyList<object?>;
        if (partners is not [IReadOnlyDictionary<string, object?> partner, ..])
        {
            return ProbeResult.Fail($"authenticated as '{options.Login}' (uid {userId}), but res.partner search_read returned no partner");
        }

        return ProbeResult.Pass(string.Create(CultureInfo.InvariantCulture,
            $"{versionCheck.Details}; authenticated as '{options.Login}' (uid {userId}) on '{database}'; read partner {partner.GetValueOrDefault("id")}"));
    }
}

internal static class OdooProbes
{
    /// <summary>The configured URL as a base for relative paths (with a trailing slash, so a path prefix is kept).</summary>
    public static Uri BaseUri(OdooProbeOptions options) => new(options.Url.EndsWith('/') ? options.Url : options.Url + "/");

    /// <summary>
    /// The server's series (<c>17.0</c>, or <c>saas~17.1</c>) must match the backup's base module version
    /// (<c>17.0.1.3</c>): a copy served by another Odoo series is not the environment that was backed up.
    /// </summary>
    public static ProbeResult CheckVersion(string? serverVersion, string? backupVersion, string what)
    {
        if (string.IsNullOrEmpty(serverVersion))
        {
            return ProbeResult.Fail($"{what}: the server did not report server_version");
        }

        var series = Series(serverVersion);
        var expected = backupVersion is null ? null : Series(backupVersion);
        return expected is null || series == expected
            ? ProbeResult.Pass($"{what}: Odoo {serverVersion}" + (expected is null ? " (the backup records no Odoo version)" : $", the backup's series {expected}"))
            : ProbeResult.Fail($"{what}: Odoo {serverVersion} answers, but the backup is of Odoo {expected}");
    }

    private static string Series(string version)
    {
        var parts = version.Replace("saas~", "", StringComparison.Ordinal).Split('.', '-', '+');
        return parts.Length >= 2 ? $"{parts[0]}.{parts[1]}" : parts[0];
    }
}
