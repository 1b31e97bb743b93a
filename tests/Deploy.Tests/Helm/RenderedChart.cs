using System.Text.Json.Nodes;
using YamlDotNet.RepresentationModel;

namespace BackupDr.Deploy.Tests.Helm;

/// <summary>
/// The objects `helm template` rendered, each as a JSON tree (YAML scalars become strings: "45", "true"), so tests
/// read them the way the API server would receive them.
/// </summary>
internal sealed class RenderedChart
{
    private RenderedChart(string manifest, IReadOnlyList<JsonObject> objects)
    {
        Manifest = manifest;
        Objects = objects;
    }

    public string Manifest { get; }

    public IReadOnlyList<JsonObject> Objects { get; }

    /// <summary>Renders the chart (release "r" in namespace "backupdr"); fails the test when helm does.</summary>
    public static async Task<RenderedChart> RenderAsync(params string[] extraArgs)
    {
        var result = await TemplateAsync(extraArgs);
        Assert.True(result.ExitCode == 0, $"helm template failed: {result}");
        return Parse(result.Output);
    }

    public static Task<ToolResult> TemplateAsync(params string[] extraArgs) =>
        KubeTools.HelmAsync(["template", "r", KubeTools.ChartDirectory, "--namespace", "backupdr", .. extraArgs]);

    public static RenderedChart Parse(string manifest)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(manifest));
        var objects = stream.Documents
            .Select(d => d.RootNode)
            .OfType<YamlMappingNode>()
            .Select(n => ToJson(n)!.AsObject())
            .ToList();
        return new RenderedChart(manifest, objects);
    }

    public IEnumerable<JsonObject> OfKind(string kind) => Objects.Where(o => (string?)o["kind"] == kind);

    public JsonObject Single(string kind) => OfKind(kind).ShouldHaveSingleItem($"exactly one {kind}");

    public JsonObject Deployment => Single("Deployment");

    public JsonObject Container => Deployment["spec"]!["template"]!["spec"]!["containers"]!.AsArray().Single()!.AsObject();

    public JsonObject PodSpec => Deployment["spec"]!["template"]!["spec"]!.AsObject();

    /// <summary>The configuration file the ConfigMap holds (what `--config` reads in the pod).</summary>
    public string ConfigJson => (string)OfKind("ConfigMap")
        .Single(c => ((string)c["metadata"]!["name"]!).EndsWith("-config", StringComparison.Ordinal))["data"]!["appsettings.json"]!;

    /// <summary>Environment variable name to its secretKeyRef (secret name, key), for the container.</summary>
    public IReadOnlyDictionary<string, (string Secret, string Key)> SecretEnvironment =>
        (Container["env"]?.AsArray() ?? [])
            .Select(e => e!.AsObject())
            .Where(e => e["valueFrom"]?["secretKeyRef"] is not null)
            .ToDictionary(
                e => (string)e["name"]!,
                e => ((string)e["valueFrom"]!["secretKeyRef"]!["name"]!, (string)e["valueFrom"]!["secretKeyRef"]!["key"]!));

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c =>
            KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, ToJson(c.Value)))),
        YamlSequenceNode sequence => new JsonArray(sequence.Children.Select(ToJson).ToArray()),
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain, Value: "null" or "~" or "" or null } => null,
        YamlScalarNode scalar => JsonValue.Create(scalar.Value),
        _ => throw new InvalidOperationException($"unexpected YAML node {node.NodeType}"),
    };
}
