using System.Collections.Concurrent;
using System.Net;
using System.Threading.Channels;

namespace BackupDr.TestSupport;

/// <summary>One request the receiver got: method, path, headers and body as sent.</summary>
public sealed record ReceivedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string BodyText => System.Text.Encoding.UTF8.GetString(Body);
}

/// <summary>
/// An HTTP server on 127.0.0.1 (<see cref="LoopbackHttpServer"/>) that records every request and answers with the status
/// codes queued by <see cref="RespondWith"/> (then 200). For webhook tests.
/// </summary>
public sealed class WebhookReceiver : LoopbackHttpServer
{
    private readonly ConcurrentQueue<int> _statuses = new();
    private readonly Channel<ReceivedRequest> _requests = Channel.CreateUnbounded<ReceivedRequest>();

    public WebhookReceiver()
    {
        Start();
        Url = new Uri(BaseUrl + "/hooks/on-call");
    }

    /// <summary>The URL to configure as the webhook.</summary>
    public Uri Url { get; }

    public void RespondWith(params int[] statuses)
    {
        foreach (var status in statuses)
        {
            _statuses.Enqueue(status);
        }
    }

    /// <summary>The next request received, in order.</summary>
    public async Task<ReceivedRequest> NextAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        return await _requests.Reader.ReadAsync(timeout.Token);
    }

    /// <summary>Requests received and not yet taken by <see cref="NextAsync"/>.</summary>
    public int Pending => _requests.Reader.Count;

    protected override async Task HandleAsync(HttpListenerContext context)
    {
        using var body = new MemoryStream();
        await context.Request.InputStream.CopyToAsync(body);
        var headers = context.Request.Headers.AllKeys.Where(k => k is not null)
            .ToDictionary(k => k!, k => context.Request.Headers[k] ?? "", StringComparer.OrdinalIgnoreCase);
        await _requests.Writer.WriteAsync(new ReceivedRequest(context.Request.HttpMethod, context.Request.Url!.AbsolutePath, headers, body.ToArray()));
        context.Response.StatusCode = _statuses.TryDequeue(out var status) ? status : 200;
        context.Response.Close();
    }
}
