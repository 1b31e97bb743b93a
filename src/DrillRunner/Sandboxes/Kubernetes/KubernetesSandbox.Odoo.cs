using System.Globalization;
using BackupDr.Repository.Postgres;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace BackupDr.DrillRunner.Sandboxes.Kubernetes;

/// <summary>
/// The sandbox's Odoo server (<c>Sandbox:Kubernetes:Odoo</c>): started once the copy is restored and neutralized, on
/// a database role of its own, reached like PostgreSQL through a port-forward on 127.0.0.1, gone with the namespace.
/// </summary>
internal sealed partial class KubernetesSandbox
{
    private readonly string _odooPassword = NewPassword();
    private bool _odooRequested;
    private PortForwardBridge? _odooBridge;

    /// <summary>The drill will start Odoo here: asked for, and an image is configured.</summary>
    private bool RunsOdoo => _request.RunsOdoo && _options.Odoo.Enabled;

    public string? OdooBaseUrl => RunsOdoo ? OdooManifests.InternalUrl(Id, _options.Odoo) : null;

    public async Task<SandboxOdoo> StartOdooAsync(string database, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_tornDown, this);
        if (!RunsOdoo || _bridge is null || !_start.Succeeded)
        {
            throw new InvalidOperationException(RunsOdoo
                ? $"sandbox {Id} is not started"
                : $"sandbox {Id} was not asked to run Odoo (SandboxRequest.RunsOdoo) or Sandbox:Kubernetes:Odoo:Image is empty");
        }

        if (_odooRequested)
        {
            throw new InvalidOperationException($"sandbox {Id}: Odoo is started once");
        }

        _odooRequested = true;
        var odoo = _options.Odoo;
        await CreateOdooRoleAsync(database, cancellationToken);
        await CreateAsync("the PostgreSQL service", () => _client.CoreV1.CreateNamespacedServiceAsync(OdooManifests.PostgresService(Id), Id, cancellationToken: cancellationToken));
        await CreateAsync("the Odoo service", () => _client.CoreV1.CreateNamespacedServiceAsync(OdooManifests.OdooService(Id, odoo), Id, cancellationToken: cancellationToken));
        await CreateAsync($"the Odoo deployment ({odoo.Image})", () => _client.AppsV1.CreateNamespacedDeploymentAsync(
            OdooManifests.Deployment(Id, database, odoo, _options, _request.DrillId), Id, cancellationToken: cancellationToken));

        V1Pod pod;
        try
        {
            pod = await WaitReadyAsync($"the Odoo server (image {odoo.Image})", $"the Odoo pod (image {odoo.Image})",
                null, OdooManifests.PodSelector, OdooManifests.ContainerName, cancellationToken);
        }
        catch (SandboxException)
        {
            // With no pod at all (the quota or admission refused it), only the Deployment says why.
            await CaptureDeploymentAsync();
            throw;
        }

        _odooBridge = new PortForwardBridge(_client, Id, pod.Metadata.Name, odoo.Port, _logger);
        _odooBridge.Start();
        LogOdooStarted(_logger, Id, odoo.Image, pod.Metadata.Name, _odooBridge.LocalPort);
        return new SandboxOdoo(
            new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{_odooBridge.LocalPort}/")),
            string.Create(CultureInfo.InvariantCulture, $"{odoo.Image} in pod {Id}/{pod.Metadata.Name} on database role {OdooManifests.DatabaseRole}, reached through a port-forward on 127.0.0.1"));
    }

    /// <summary>
    /// Odoo refuses to connect as <c>postgres</c>, so it gets a role of its own, with the database's ownership (its
    /// database list and the schema's CREATE) and every right on the restored tables and sequences, which belong to
    /// the superuser that restored them. Not a superuser.
    /// </summary>
    private async Task CreateOdooRoleAsync(string database, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(ConnectionStringFor(database)) { Pooling = false };
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        var role = SqlIdentifier.Quote(OdooManifests.DatabaseRole);
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var batch = new NpgsqlBatch(connection)
            {
                BatchCommands =
                {
                    // CREATE ROLE takes no parameters; the password is generated base64url text, quoted all the same.
                    new NpgsqlBatchCommand($"CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD '{_odooPassword.Replace("'", "''", StringComparison.Ordinal)}'"),
                    new NpgsqlBatchCommand($"ALTER DATABASE {SqlIdentifier.Quote(database)} OWNER TO {role}"),
                    new NpgsqlBatchCommand($"GRANT ALL ON SCHEMA public TO {role}"),
                    new NpgsqlBatchCommand($"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"),
                    new NpgsqlBatchCommand($"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"),
                },
            };
            await batch.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or IOException)
        {
            throw new SandboxException($"namespace {Id}: the database role for Odoo could not be made: {Mask(e.Message)}", e);
        }
    }

    /// <summary>The Deployment's replica counts and conditions (e.g. ReplicaFailure: exceeded quota), for the record.</summary>
    private async Task CaptureDeploymentAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30), _time);
        try
        {
            var deployment = await _client.AppsV1.ReadNamespacedDeploymentAsync(OdooManifests.Name, Id, cancellationToken: timeout.Token);
            var status = deployment.Status;
            var conditions = (status?.Conditions ?? []).Select(c => $"{c.Type} {c.Status}{(string.IsNullOrEmpty(c.Reason) ? "" : " " + c.Reason)}{(string.IsNullOrEmpty(c.Message) ? "" : ": " + Mask(c.Message))}");
            _diagnostics.Insert(0, string.Create(CultureInfo.InvariantCulture,
                $"deployment {OdooManifests.Name}: {status?.ReadyReplicas ?? 0}/{deployment.Spec.Replicas ?? 1} ready; {string.Join("; ", conditions.DefaultIfEmpty("no conditions yet"))}"));
        }
        catch (HttpOperationException e)
        {
            _diagnostics.Add($"deployment {OdooManifests.Name}: could not be read ({PodDiagnostics.Describe(e)})");
        }
    }

    /// <summary>At teardown: an Odoo pod that is not ready (it crashed during the probes) tells why before the namespace goes.</summary>
    private async Task CaptureOdooIfUnhealthyAsync()
    {
        if (!_odooRequested)
        {
            return;
        }

        var pod = await FirstPodAsync(OdooManifests.PodSelector);
        if (pod is null || !PodDiagnostics.IsReady(pod))
        {
            await CaptureAsync(pod, OdooManifests.ContainerName);
            if (pod is null)
            {
                await CaptureDeploymentAsync();
            }
        }
    }

    private async Task CloseOdooBridgeAsync()
    {
        if (_odooBridge is not null)
        {
            await _odooBridge.DisposeAsync();
            _diagnostics.AddRange(_odooBridge.Errors.Select(e => "port-forward (odoo): " + Mask(e)));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Sandbox {SandboxId}: Odoo ({Image}) ready in pod {Pod}, forwarded to 127.0.0.1:{Port}")]
    private static partial void LogOdooStarted(ILogger logger, string sandboxId, string image, string pod, int port);
}
