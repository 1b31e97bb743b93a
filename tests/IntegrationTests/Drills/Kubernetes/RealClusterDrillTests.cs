using BackupDr.TestSupport;

namespace BackupDr.IntegrationTests.Drills.Kubernetes;

/// <summary>
/// The lifecycle suite against a real cluster, opt-in: set <c>BACKUPDR_TEST_KUBECONFIG</c> to a kubeconfig whose user
/// may do what <c>KubernetesSandboxPermissions.Required</c> lists (and create namespaces for the janitor test), and
/// optionally <c>BACKUPDR_TEST_POSTGRES_IMAGE</c> (default <c>postgres:15</c>). Skipped without it, also under CI:
/// no cluster exists on the build machine, so this suite is opt-in by design. The Odoo test runs only when
/// <c>BACKUPDR_TEST_ODOO_IMAGE</c> names an image that serves the restored test database as Odoo would, with the drill
/// user <see cref="FakeOdooServer.Login"/> / <see cref="FakeOdooServer.Password"/> (the test database is Odoo-shaped,
/// not a database a stock Odoo image can load: see docs/architecture.md, Kubernetes sandboxes).
/// </summary>
public sealed class RealClusterDrillTests(PostgresFixture postgres) : KubernetesLifecycleTests(postgres)
{
    private static readonly string? Configured = Environment.GetEnvironmentVariable("BACKUPDR_TEST_KUBECONFIG");

    protected override string Kubeconfig => Configured!;

    protected override string InspectorKubeconfig => Configured!;

    protected override string PostgresImage => Environment.GetEnvironmentVariable("BACKUPDR_TEST_POSTGRES_IMAGE") is { Length: > 0 } image ? image : "postgres:15";

    protected override string? OdooImage => Environment.GetEnvironmentVariable("BACKUPDR_TEST_ODOO_IMAGE") is { Length: > 0 } image ? image : null;

    protected override TimeProvider SandboxTime => TimeProvider.System;

    public override ValueTask InitializeAsync()
    {
        // Opt-in: the skip is the documented default, not a missing test server (so CI=true does not turn it into a failure).
        Assert.SkipWhen(string.IsNullOrEmpty(Configured), "set BACKUPDR_TEST_KUBECONFIG to a kubeconfig to run the Kubernetes sandbox suite against a real cluster");
        return base.InitializeAsync();
    }
}
