using System.Text.Json.Nodes;

namespace BackupDr.Deploy.Tests.Helm;

/// <summary>The RBAC the chart grants for Kubernetes sandboxes: exactly the expected table, no wildcard anywhere.</summary>
public sealed class ChartRbacTests
{
    /// <summary>
    /// What Kubernetes sandboxes need, as the chart must grant it: API group ("" = core), resource, verbs, and whether
    /// the rule is cluster-scoped (namespaces) or used inside the per-drill sandbox namespaces. The chart writes these
    /// rules once, in deploy/helm/backupdr/templates/_rbac.tpl. It copies the code's own list
    /// (KubernetesSandboxPermissions.Required on branch k8s at 2876590); once both are merged, compare with that list directly.
    /// </summary>
    internal static readonly IReadOnlyList<(string ApiGroup, string Resource, string[] Verbs, bool ClusterScoped)> ExpectedSandboxPermissions =
    [
        ("", "namespaces", ["create", "get", "list", "watch", "delete"], true),
        ("", "pods", ["create", "get", "list", "watch"], false),
        ("", "pods/log", ["get"], false),
        ("", "pods/portforward", ["get", "create"], false),
        ("", "secrets", ["create"], false),
        ("", "resourcequotas", ["create"], false),
        ("", "limitranges", ["create"], false),
        ("", "events", ["list"], false),
        ("networking.k8s.io", "networkpolicies", ["create"], false),
    ];

    [Fact]
    public async Task Rules_KubernetesSandbox_EqualTheExpectedTable()
    {
        var chart = await RenderedChart.RenderAsync("-f", KubeTools.FleetValues);

        var granted = Permissions(chart);

        granted.Keys.Order().ShouldBe(ExpectedSandboxPermissions.Select(p => Key(p.ApiGroup, p.Resource)).Order());
        foreach (var (apiGroup, resource, verbs, clusterScoped) in ExpectedSandboxPermissions)
        {
            var (grantedVerbs, role) = granted[Key(apiGroup, resource)];
            grantedVerbs.Order().ShouldBe(verbs.Order(), $"verbs on {Key(apiGroup, resource)}");
            role.ShouldEndWith(clusterScoped ? "-sandbox-namespaces" : "-sandbox", customMessage: $"role holding {Key(apiGroup, resource)}");
        }
    }

    [Theory]
    [InlineData("-f")]
    [InlineData("--set")]
    public async Task Rules_AnyRenderedRole_HaveNoWildcard(string mode)
    {
        var chart = mode == "-f"
            ? await RenderedChart.RenderAsync("-f", KubeTools.FleetValues)
            : await RenderedChart.RenderAsync("--set", "rbac.create=true");

        var rules = chart.OfKind("ClusterRole").Concat(chart.OfKind("Role"))
            .SelectMany(r => r["rules"]!.AsArray()).Select(r => r!.AsObject()).ToList();
        rules.ShouldNotBeEmpty();
        foreach (var rule in rules)
        {
            foreach (var field in new[] { "apiGroups", "resources", "verbs" })
            {
                rule[field]!.AsArray().Select(v => (string?)v).ShouldNotContain("*", $"{field} of {rule.ToJsonString()}");
            }

            rule["verbs"]!.AsArray().Select(v => (string)v!).ShouldNotContain("escalate");
            rule["verbs"]!.AsArray().Select(v => (string)v!).ShouldNotContain("bind");
            rule["verbs"]!.AsArray().Select(v => (string)v!).ShouldNotContain("impersonate");
            if (rule["resources"]!.AsArray().Select(v => (string)v!).Contains("secrets"))
            {
                // The sandbox server's password is created per drill and never read back.
                rule["verbs"]!.AsArray().Select(v => (string)v!).ShouldBe(["create"]);
            }
        }
    }

    [Fact]
    public async Task Rbac_LocalSandboxByDefault_NotRenderedAndNoToken()
    {
        var chart = await RenderedChart.RenderAsync();

        chart.OfKind("ClusterRole").ShouldBeEmpty();
        chart.OfKind("ClusterRoleBinding").ShouldBeEmpty();
        chart.OfKind("Role").ShouldBeEmpty();
        ((string?)chart.PodSpec["automountServiceAccountToken"]).ShouldBe("false");
    }

    [Fact]
    public async Task Rbac_KubernetesSandboxWithRbacManagedElsewhere_NoRolesButTheTokenIsMounted()
    {
        var chart = await RenderedChart.RenderAsync("-f", KubeTools.FleetValues, "--set", "rbac.create=false");

        chart.OfKind("ClusterRole").ShouldBeEmpty();
        chart.OfKind("ClusterRoleBinding").ShouldBeEmpty();
        ((string?)chart.PodSpec["automountServiceAccountToken"]).ShouldBe("true");
    }

    [Fact]
    public async Task Bindings_KubernetesSandbox_BindEachRoleToTheReleaseServiceAccount()
    {
        var chart = await RenderedChart.RenderAsync("-f", KubeTools.FleetValues);

        var serviceAccount = (string)chart.Single("ServiceAccount")["metadata"]!["name"]!;
        ((string?)chart.PodSpec["serviceAccountName"]).ShouldBe(serviceAccount);
        ((string?)chart.PodSpec["automountServiceAccountToken"]).ShouldBe("true");
        var roles = chart.OfKind("ClusterRole").Select(r => (string)r["metadata"]!["name"]!).Order().ToList();
        var bindings = chart.OfKind("ClusterRoleBinding").ToList();
        bindings.Select(b => (string)b["roleRef"]!["name"]!).Order().ShouldBe(roles);
        foreach (var binding in bindings)
        {
            var subject = binding["subjects"]!.AsArray().ShouldHaveSingleItem()!;
            ((string?)subject["kind"]).ShouldBe("ServiceAccount");
            ((string?)subject["name"]).ShouldBe(serviceAccount);
            ((string?)subject["namespace"]).ShouldBe("backupdr");
        }
    }

    private static string Key(string apiGroup, string resource) => $"{apiGroup}/{resource}";

    /// <summary>(group/resource) to (verbs, role name); a resource granted by two rules fails the test.</summary>
    private static Dictionary<string, (List<string> Verbs, string Role)> Permissions(RenderedChart chart)
    {
        var granted = new Dictionary<string, (List<string>, string)>();
        foreach (var role in chart.OfKind("ClusterRole"))
        {
            var name = (string)role["metadata"]!["name"]!;
            foreach (var rule in role["rules"]!.AsArray().Select(r => r!.AsObject()))
            {
                var verbs = Strings(rule["verbs"]);
                foreach (var apiGroup in Strings(rule["apiGroups"]))
                {
                    foreach (var resource in Strings(rule["resources"]))
                    {
                        granted.TryAdd(Key(apiGroup, resource), (verbs, name)).ShouldBeTrue($"{Key(apiGroup, resource)} is granted twice");
                    }
                }
            }
        }

        return granted;
    }

    private static List<string> Strings(JsonNode? node) => node!.AsArray().Select(v => (string?)v ?? "").ToList();
}
