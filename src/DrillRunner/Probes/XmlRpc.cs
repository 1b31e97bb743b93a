using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Xml.Linq;

namespace BackupDr.DrillRunner.Probes;

/// <summary>The server answered with an XML-RPC fault (Odoo: an exception on its side, e.g. access denied).</summary>
internal sealed class XmlRpcFaultException(string faultCode, string faultString)
    : Exception($"XML-RPC fault {faultCode}: {faultString}");

/// <summary>
/// A small XML-RPC client for Odoo's <c>/xmlrpc/2/common</c> and <c>/xmlrpc/2/object</c> endpoints. Values map to
/// .NET as: string, int (<c>int</c>/<c>i4</c>/<c>i8</c> as long), bool, double, null (<c>nil</c>, which Odoo allows),
/// <see cref="IReadOnlyList{T}"/> of object for arrays and <see cref="IReadOnlyDictionary{TKey,TValue}"/> for structs.
/// </summary>
internal sealed class XmlRpcClient(HttpClient http, Uri endpoint)
{
    public async Task<object?> CallAsync(string method, IReadOnlyList<object?> parameters, CancellationToken cancellationToken)
    {
        var body = new XDocument(new XElement("methodCall",
            new XElement("methodName", method),
            new XElement("params", parameters.Select(p => new XElement("param", Encode(p))))));
        using var content = new StringContent(body.ToString(SaveOptions.DisableFormatting), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("text/xml") { CharSet = "utf-8" };
        using var response = await http.PostAsync(endpoint, content, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"{endpoint} answered HTTP {(int)response.StatusCode} to {method}");
        }

        XDocument document;
        try
        {
            document = XDocument.Parse(text);
        }
        catch (System.Xml.XmlException e)
        {
            throw new InvalidDataException($"{endpoint} did not answer {method} with XML-RPC: {e.Message}", e);
        }

        var root = document.Root ?? throw new InvalidDataException($"{endpoint} sent an empty answer to {method}");
        if (root.Element("fault")?.Element("value") is { } fault)
        {
            var details = Decode(fault) as IReadOnlyDictionary<string, object?>;
            throw new XmlRpcFaultException(Convert.ToString(details?.GetValueOrDefault("faultCode"), CultureInfo.InvariantCulture) ?? "?",
                Convert.ToString(details?.GetValueOrDefault("faultString"), CultureInfo.InvariantCulture) ?? "");
        }

        var value = root.Element("params")?.Element("param")?.Element("value")
            ?? throw new InvalidDataException($"{endpoint} answered {method} without a value");
        return Decode(value);
    }

    internal static XElement Encode(object? value) => new("value", value switch
    {
        null => new XElement("nil"),
        string s => new XElement("string", s),
        bool b => new XElement("boolean", b ? "1" : "0"),
        int i => new XElement("int", i.ToString(CultureInfo.InvariantCulture)),
        long l => new XElement("int", l.ToString(CultureInfo.InvariantCulture)),
        double d => new XElement("double", d.ToString("R", CultureInfo.InvariantCulture)),
        IReadOnlyDictionary<string, object?> map => new XElement("struct",
            map.Select(m => new XElement("member", new XElement("name", m.Key), Encode(m.Value)))),
        IEnumerable<object?> items => new XElement("array", new XElement("data", items.Select(Encode))),
        _ => throw new ArgumentException($"cannot send a {value.GetType().Name} over XML-RPC", nameof(value)),
    });

    internal static object? Decode(XElement value)
    {
        var typed = value.Elements().FirstOrDefault();
        if (typed is null)
        {
            return value.Value; // a value without a type element is a string
        }

        return typed.Name.LocalName switch
        {
            "string" => typed.Value,
            "int" or "i4" or "i8" => long.Parse(typed.Value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture),
            "boolean" => typed.Value.Trim() == "1",
            "double" => double.Parse(typed.Value.Trim(), NumberStyles.Float, CultureInfo.InvariantCulture),
            "nil" => null,
            "dateTime.iso8601" or "base64" => typed.Value,
            "array" => typed.Element("data")?.Elements("value").Select(Decode).ToList() ?? [],
            "struct" => typed.Elements("member").ToDictionary(
                m => m.Element("name")?.Value ?? "",
                m => m.Element("value") is { } v ? Decode(v) : null,
                StringComparer.Ordinal),
            var other => throw new InvalidDataException($"unknown XML-RPC type '{other}'"),
        };
    }
}
