using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Xml.Linq;

namespace BackupDr.TestSupport;

/// <summary>
/// A small in-process HTTP server that answers like Odoo 17's endpoints the drill probes use: <c>GET /web/login</c>,
/// the JSON-RPC <c>/web/webclient/version_info</c>, and XML-RPC <c>/xmlrpc/2/common</c> (version, authenticate) and
/// <c>/xmlrpc/2/object</c> (execute_kw res.partner search_read). There is no Odoo server on this machine; the
/// answers are written by hand from Odoo's wire format, not produced by the client code under test. The Kubernetes
/// tests put it behind the fake cluster's port-forward as the sandbox's Odoo pod.
/// </summary>
public sealed class FakeOdooServer : LoopbackHttpServer
{
    public const string DefaultDatabase = "acme";
    public const string Login = "drill";
    public const string Password = "drill-api-key";
    public const int UserId = 7;

    /// <param name="database">The only database that authenticates (Odoo started with <c>--database</c>).</param>
    public FakeOdooServer(string serverVersion = "17.0", bool partners = true, string database = DefaultDatabase)
    {
        Database = database;
        ServerVersion = serverVersion;
        HasPartners = partners;
        Start();
    }

    public string Url => BaseUrl;

    public string Database { get; }

    public string ServerVersion { get; }

    public bool HasPartners { get; }

    /// <summary>Every request body received, to check what the client sent (and never logged).</summary>
    public List<string> Requests { get; } = [];

    protected override async Task HandleAsync(HttpListenerContext context)
    {
        using var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        lock (Requests)
        {
            Requests.Add(body);
        }

        var (status, type, answer) = (context.Request.HttpMethod, context.Request.Url!.AbsolutePath) switch
        {
            ("GET", "/web/login") => (200, "text/html", "<html><body><form class=\"oe_login_form\"></form></body></html>"),
            ("POST", "/web/webclient/version_info") => (200, "application/json", new JsonObject
            {
                ["jsonrpc"] = "2.0", ["id"] = JsonNode.Parse(body)?["id"]?.DeepClone(),
                ["result"] = new JsonObject { ["server_version"] = ServerVersion, ["server_serie"] = ServerVersion, ["protocol_version"] = 1 },
            }.ToJsonString()),
            ("POST", "/xmlrpc/2/common") => (200, "text/xml", Common(XDocument.Parse(body))),
            ("POST", "/xmlrpc/2/object") => (200, "text/xml", Object(XDocument.Parse(body))),
            _ => (404, "text/html", "<html>404: Not Found</html>"),
        };
        context.Response.StatusCode = status;
        context.Response.ContentType = type;
        var bytes = Encoding.UTF8.GetBytes(answer);
        await context.Response.OutputStream.WriteAsync(bytes);
        context.Response.Close();
    }

    private string Common(XDocument call)
    {
        var parameters = Parameters(call);
        return Method(call) switch
        {
            "version" => Response($"<struct><member><name>server_version</name><value><string>{ServerVersion}</string></value></member>"
                + "<member><name>protocol_version</name><value><int>1</int></value></member></struct>"),
            "authenticate" when parameters is [var database, Login, Password, ..] && database == Database => Response($"<int>{UserId}</int>"),
            "authenticate" => Response("<boolean>0</boolean>"),
            var other => Fault($"method '{other}' not found"),
        };
    }

    private string Object(XDocument call)
    {
        var parameters = Parameters(call);
        if (Method(call) != "execute_kw" || parameters.Count < 5 || parameters[0] != Database || parameters[1] != UserId.ToString(System.Globalization.CultureInfo.InvariantCulture)
            || parameters[2] != Password)
        {
            return Fault("Access Denied");
        }

        return parameters[3] == "res.partner" && parameters[4] == "search_read"
            ? Response("<array><data>" + (HasPartners
                ? "<value><struct><member><name>id</name><value><int>3</int></value></member><member><name>name</name><value><string>Acme Corp</string></value></member></struct></value>"
                : "") + "</data></array>")
            : Fault($"unexpected call {parameters[3]}.{parameters[4]}");
    }

    private static string Method(XDocument call) => call.Root!.Element("methodName")!.Value;

    /// <summary>The scalar parameters as text (containers as their type name).</summary>
    private static List<string> Parameters(XDocument call) =>
        call.Root!.Element("params")!.Elements("param").Select(p => p.Element("value")!.Elements().FirstOrDefault() is { } typed
            ? typed.Name.LocalName is "array" or "struct" ? typed.Name.LocalName : typed.Value
            : p.Element("value")!.Value).ToList();

    private static string Response(string value) =>
        $"<?xml version='1.0'?>\n<methodResponse>\n<params>\n<param>\n<value>{value}</value>\n</param>\n</params>\n</methodResponse>\n";

    private static string Fault(string message) =>
        "<?xml version='1.0'?>\n<methodResponse>\n<fault>\n<value><struct>\n<member>\n<name>faultCode</name>\n<value><int>1</int></value>\n</member>\n"
        + $"<member>\n<name>faultString</name>\n<value><string>{message}</string></value>\n</member>\n</struct></value>\n</fault>\n</methodResponse>\n";
}
