namespace BackupDr.TestSupport;

/// <summary>A fixture backed by one <see cref="NodeServerProcess"/>.</summary>
public interface INodeServerFixture : IAsyncDisposable
{
    /// <summary>The running server; skips or fails the calling test when it is not running.</summary>
    NodeServerProcess Server { get; }
}
