namespace BackupDr.DrillRunner.Sandboxes;

/// <summary>What a drill asks a sandbox for.</summary>
/// <param name="PostgresMajor">The backup's PostgreSQL major version, from its manifest.</param>
internal sealed record SandboxRequest(string DrillId, string Target, int PostgresMajor);

/// <summary>
/// The isolated place a drill restores into: a PostgreSQL server of the backup's major version that knows nothing of
/// the source, a folder for the restored filestore, and a private staging folder. It is torn down with
/// <see cref="TeardownAsync"/> (or disposal) on success, failure and cancellation alike; what a crashed process left
/// behind is removed by the kind's janitor.
/// </summary>
internal interface ISandbox : IAsyncDisposable
{
    /// <summary>The sandbox kind as recorded in drill records (<c>local</c>, later <c>kubernetes</c>).</summary>
    string Kind { get; }

    string Id { get; }

    /// <summary>The sandbox server's <c>server_version</c>.</summary>
    string ServerVersion { get; }

    /// <summary>Where the filestore is restored (Odoo layout <c>&lt;sha1[0:2]&gt;/&lt;sha1&gt;</c>).</summary>
    string FilestorePath { get; }

    /// <summary>A private folder (0700) for the decrypted dump and other temporary files; gone after teardown.</summary>
    string StagingPath { get; }

    /// <summary>A superuser connection string for <paramref name="database"/> on the sandbox server (no password: local trust).</summary>
    string ConnectionString(string database);

    /// <summary>Stops the server and deletes everything the sandbox holds. Idempotent.</summary>
    Task TeardownAsync(CancellationToken cancellationToken);
}

/// <summary>Makes sandboxes of one kind; the drill does not know which.</summary>
internal interface ISandboxProvider
{
    string Kind { get; }

    /// <summary>
    /// A ready sandbox. On failure or cancellation nothing is left behind.
    /// </summary>
    /// <exception cref="Repository.Postgres.PostgresToolMissingException">The backup's PostgreSQL major is not installed.</exception>
    Task<ISandbox> ProvisionAsync(SandboxRequest request, CancellationToken cancellationToken);
}
