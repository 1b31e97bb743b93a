using System.Globalization;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace BackupDr.DrillRunner.Sandboxes.Kubernetes;

/// <summary>
/// What a failing sandbox pod says about itself, for the drill record: its status, the namespace's events and the last
/// log lines of its container. Read before the namespace is deleted (afterwards it is all gone).
/// </summary>
internal static class PodDiagnostics
{
    private const int MaxEvents = 30;
    private const int LogLines = 40;

    /// <summary>Why <paramref name="pod"/> cannot become ready any more, or null while it still may.</summary>
    public static string? Hopeless(V1Pod pod)
    {
        if (pod.Status?.Phase is "Failed" or "Succeeded")
        {
            return $"pod {pod.Metadata.Name} ended ({pod.Status.Phase}): {ContainerState(pod)}";
        }

        foreach (var container in pod.Status?.ContainerStatuses ?? [])
        {
            if (container.State?.Waiting?.Reason is "ImagePullBackOff" or "ErrImageNeverPull" or "InvalidImageName" or "CreateContainerConfigError"
                or "CreateContainerError" or "CrashLoopBackOff")
            {
                return $"pod {pod.Metadata.Name}: container {container.Name} is waiting ({container.State.Waiting.Reason}: {container.State.Waiting.Message})";
            }

            if (container.State?.Terminated is { } terminated)
            {
                return $"pod {pod.Metadata.Name}: container {container.Name} terminated ({terminated.Reason}, exit code {terminated.ExitCode})";
            }
        }

        return null;
    }

    public static bool IsReady(V1Pod pod) =>
        pod.Status?.Phase == "Running" && (pod.Status.Conditions ?? []).Any(c => c.Type == "Ready" && c.Status == "True");

    /// <summary>Status line, events (oldest first, the last <see cref="MaxEvents"/>) and the container's last log lines.</summary>
    /// <param name="mask">Replaces secrets in anything read (the sandbox's password never reaches a record).</param>
    /// <param name="container">The container whose log is read.</param>
    public static async Task<IReadOnlyList<string>> CaptureAsync(
        IKubernetes client, string ns, V1Pod? pod, string container, Func<string, string> mask, CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        if (pod is not null)
        {
            lines.Add($"pod {pod.Metadata.Name}: phase {pod.Status?.Phase ?? "unknown"}; {ContainerState(pod)}");
        }

        try
        {
            var events = await client.CoreV1.ListNamespacedEventAsync(ns, cancellationToken: cancellationToken);
            lines.AddRange(events.Items
                .OrderBy(e => e.LastTimestamp ?? e.EventTime ?? e.FirstTimestamp ?? DateTime.MinValue)
                .TakeLast(MaxEvents)
                .Select(e => string.Create(CultureInfo.InvariantCulture,
                    $"event {(e.LastTimestamp ?? e.EventTime ?? e.FirstTimestamp)?.ToString("u", CultureInfo.InvariantCulture)} {e.Type} {e.Reason} {e.InvolvedObject?.Kind}/{e.InvolvedObject?.Name}: {mask(e.Message ?? "")}")));
        }
        catch (HttpOperationException e)
        {
            lines.Add($"events: could not be listed ({Describe(e)})");
        }

        if (pod is not null)
        {
            try
            {
                await using var log = await client.CoreV1.ReadNamespacedPodLogAsync(
                    pod.Metadata.Name, ns, container: container, tailLines: LogLines, cancellationToken: cancellationToken);
                using var reader = new StreamReader(log);
                var text = await reader.ReadToEndAsync(cancellationToken);
                lines.AddRange(text.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(LogLines).Select(l => "log: " + mask(WithoutRowData(l.TrimEnd('\r')))));
            }
            catch (HttpOperationException e)
            {
                lines.Add($"log: none ({Describe(e)})");
            }
        }

        return lines;
    }

    /// <summary>The API server's own message (a Status object's <c>message</c>) when there is one, else the HTTP status.</summary>
    public static string Describe(HttpOperationException e)
    {
        var status = (int?)e.Response?.StatusCode;
        var body = e.Response?.Content ?? "";
        string? message = null;
        try
        {
            message = body.StartsWith('{') ? KubernetesJson.Deserialize<V1Status>(body)?.Message : null;
        }
        catch (System.Text.Json.JsonException)
        {
            // Not a Status document: the HTTP status alone says it.
        }

        return $"HTTP {status?.ToString(CultureInfo.InvariantCulture) ?? "?"}{(string.IsNullOrEmpty(message) ? "" : ": " + message)}";
    }

    /// <summary>
    /// PostgreSQL's DETAIL and STATEMENT lines can quote rows and queries of the restored copy; a drill record holds no
    /// business data, so they are kept as a marker only (the FATAL/ERROR line before them says what failed).
    /// </summary>
    private static string WithoutRowData(string line)
    {
        foreach (var marker in new[] { "DETAIL:", "STATEMENT:" })
        {
            var at = line.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                return line[..(at + marker.Length)] + " (left out of the record: it may quote the restored data)";
            }
        }

        return line;
    }

    private static string ContainerState(V1Pod pod)
    {
        var states = (pod.Status?.ContainerStatuses ?? []).Select(c => c.State switch
        {
            { Waiting: { } w } => $"container {c.Name} waiting ({w.Reason}{(string.IsNullOrEmpty(w.Message) ? "" : ": " + w.Message)})",
            { Terminated: { } t } => $"container {c.Name} terminated ({t.Reason}, exit code {t.ExitCode}{(string.IsNullOrEmpty(t.Message) ? "" : ": " + t.Message)})",
            { Running: not null } => $"container {c.Name} running, ready {c.Ready}, restarts {c.RestartCount}",
            _ => $"container {c.Name} in no known state",
        }).ToList();
        var conditions = (pod.Status?.Conditions ?? []).Where(c => c.Status != "True").Select(c => $"{c.Type} {c.Status}{(string.IsNullOrEmpty(c.Message) ? "" : ": " + c.Message)}");
        return string.Join("; ", states.Concat(conditions).DefaultIfEmpty("no container status yet"));
    }
}
