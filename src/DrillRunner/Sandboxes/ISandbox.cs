using BackupDr.Repository.Configuration;

namespace BackupDr.DrillRunner.Sandboxes;

/// <summary>What a drill asks a sandbox for.</summary>
/// <param name="PostgresMajor">The backup's PostgreSQL major version, from its manifest.</param>
internal sealed record SandboxRequest(string DrillId, string Target, int PostgresMajor)
{
    /// <summary>The target's tenant (a label on Kubernetes sandboxes).</summary>
    public string Tenant { get; init; } = "";

    /// <summary>What the sandbox may use: the tier's <c>Sandbox</c> limits (Kubernetes quota and limit range).</summary>
    public TierSandboxOptions Limits { get; init; } = new();

    /// <summary>
    /// The drill will ask for an Odoo server on the restored copy (<see cref="ISandbox.StartOdooAsync"/>): its target's
    /// <c>Drill:Odoo</c> has no URL of its own. Known up front so the namespace's quota and secret include it.
    /// </summary>
    public bool RunsOdoo { get; init; }

    /// <summary>The backup's Odoo version (its <c>base</c> module's, from the manifest), which chooses the sandbox's Odoo image.</summary>
    public string? OdooVersion { get; init; }
}

/// <summary>
/// The isolated place a drill restores into: a PostgreSQL server of the backup's major version that knows nothing of
/// the source, a folder for the restored filestore, and a private staging folder. It is torn down with
/// <see cref="TeardownAsync"/> (or disposal) on success, failure and cancellation alike; what a crashed process left
/// behind is removed by the kind's janitor.
/// </summary>
internal interface ISandbox : IAsyncDisposable
{
    /// <summary>The sandbox kind as recorded in drill records (<c>local</c>, <c>kubernetes</c>).</summary>
    string Kind { get; }

    /// <summary>Where the server runs and how the worker reaches it, for the Provision phase's detail (no secret).</summary>
    string Placement { get; }

    /// <summary>
    /// What the sandbox's infrastructure said when it failed (events, the last log lines of a failing pod), captured
    /// before teardown removed it; empty when nothing failed. Goes into the drill record; never holds a secret.
    /// </summary>
    IReadOnlyList<string> Diagnostics { get; }

    string Id { get; }

    /// <summary>The sandbox server's <c>server_version</c>; known once <see cref="StartAsync"/> completed.</summary>
    string ServerVersion { get; }

    /// <summary>Where the filestore is restored (Odoo layout <c>&lt;sha1[0:2]&gt;/&lt;sha1&gt;</c>).</summary>
    string FilestorePath { get; }

    /// <summary>A private folder (0700) for the decrypted dump and other temporary files; gone after teardown.</summary>
    string StagingPath { get; }

    /// <summary>
    /// Brings the sandbox's PostgreSQL server up (the slow part of provisioning: initdb and start), so a drill can
    /// download the backup meanwhile. Called once.
    /// </summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>
    /// A superuser connection string for <paramref name="database"/> on the started server, reachable from this process
    /// (local: trust on 127.0.0.1; kubernetes: a port-forward on 127.0.0.1 and the sandbox's own random password).
    /// </summary>
    string ConnectionString(string database);

    /// <summary>
    /// Where the sandbox's own Odoo server answers from inside the sandbox (the copy's <c>web.base.url</c>), or null when
    /// the sandbox runs none (<see cref="SandboxRequest.RunsOdoo"/> false, or a kind that cannot).
    /// </summary>
    string? OdooBaseUrl => null;

    /// <summary>
    /// Starts an Odoo server on <paramref name="database"/> (restored and neutralized), waits until it is ready and
    /// returns the base URL this process reaches it at. Called at most once, after <see cref="StartAsync"/>; torn down
    /// with the sandbox.
    /// </summary>
    /// <exception cref="SandboxException">The server did not become ready (the message names the image and why).</exception>
    Task<SandboxOdoo> StartOdooAsync(string database, CancellationToken cancellationToken) =>
        throw new SandboxException(
            $"{Kind} sandboxes run no Odoo server: set Drill:Odoo:Url of the target to an Odoo server that serves the sandbox, or use Kubernetes sandboxes with Sandbox:Kubernetes:Odoo:Image");

    /// <summary>
    /// Stops a start in progress, stops the server and deletes everything the sandbox holds. Idempotent. Throws when
    /// something could not be removed (the drill records it and the sandbox cleanup alert fires).
    /// </summary>
    Task TeardownAsync(CancellationToken cancellationToken);
}

/// <summary>A sandbox's Odoo server, ready: the base URL this process reaches it at, and what it is (for the phase's detail; no secret).</summary>
internal sealed record SandboxOdoo(Uri Url, string Detail);

/// <summary>Makes sandboxes of one kind; the drill does not know which.</summary>
internal interface ISandboxProvider
{
    string Kind { get; }

    /// <summary>
    /// A sandbox whose folders exist and whose server is not started yet (<see cref="ISandbox.StartAsync"/>). On
    /// failure or cancellation nothing is left behind.
    /// </summary>
    /// <exception cref="Repository.Postgres.PostgresToolMissingException">The backup's PostgreSQL major is not installed (local).</exception>
    /// <exception cref="SandboxException">The sandbox could not be made (kubernetes: no image for the major, the API refused).</exception>
    Task<ISandbox> ProvisionAsync(SandboxRequest request, CancellationToken cancellationToken);
}

/// <summary>A sandbox could not be provisioned, started or reached; the message says which step and why.</summary>
internal sealed class SandboxException(string message, Exception? innerException = null) : Exception(message, innerException);
