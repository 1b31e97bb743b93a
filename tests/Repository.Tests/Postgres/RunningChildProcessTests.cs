using System.Security.Cryptography;
using System.Text;
using BackupDr.Repository.Postgres;

namespace BackupDr.Repository.Tests.Postgres;

public sealed class RunningChildProcessTests
{
    [Fact]
    public async Task StandardOutput_LargeOutputReadInOddSizes_IsByteExact()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var child = RunningChildProcess.Start(new ChildProcessRequest("/usr/bin/seq", ["1", "300000"]));

        var received = await ReadAllAsync(child.StandardOutput, 12_345, cancellationToken);
        await child.WaitForSuccessAsync(cancellationToken);

        var expected = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(1, 300_000).Select(i => i + "\n")));
        received.Length.ShouldBeGreaterThan(ChildOutputStream.ChunkBytes * ChildOutputStream.QueuedChunks);
        SHA256.HashData(received).ShouldBe(SHA256.HashData(expected));
    }

    [Fact]
    public async Task StandardOutput_Blocking_ReadsThePipeItselfByteExact()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var child = RunningChildProcess.Start(new ChildProcessRequest("/usr/bin/seq", ["1", "300000"]) { BlockingStandardOutput = true });

        child.StandardOutput.ShouldNotBeOfType<ChildOutputStream>();
        var received = new MemoryStream();
        var buffer = new byte[12_345];
        int read;
        while ((read = child.StandardOutput.Read(buffer)) > 0)
        {
            received.Write(buffer, 0, read);
        }

        await child.WaitForSuccessAsync(cancellationToken);
        var expected = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(1, 300_000).Select(i => i + "\n")));
        SHA256.HashData(received.ToArray()).ShouldBe(SHA256.HashData(expected));
    }

    [Fact]
    public async Task InteractiveStandardInput_LargerThanThePipeWhileOutputIsRead_ArrivesWhole()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var text = string.Concat(Enumerable.Range(0, 100_000).Select(i => $"line {i}\n"));
        await using var child = RunningChildProcess.Start(new ChildProcessRequest("/bin/cat", []) { InteractiveStandardInput = true });

        var reading = ReadAllAsync(child.StandardOutput, 64 * 1024, cancellationToken);
        await child.StandardInput.WriteAsync(text.AsMemory(), cancellationToken);
        child.StandardInput.Close();
        var received = await reading;
        await child.WaitForSuccessAsync(cancellationToken);

        Encoding.UTF8.GetString(received).ShouldBe(text);
    }

    [Fact]
    public async Task StandardInput_NotInteractive_Throws()
    {
        await using var child = RunningChildProcess.Start(new ChildProcessRequest("/bin/true", []));

        Should.Throw<InvalidOperationException>(() => child.StandardInput);
    }

    [Fact]
    public async Task WaitForSuccess_ChildFailsAfterOutput_ThrowsWithStderrAndOutputEnds()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        await using var child = RunningChildProcess.Start(new ChildProcessRequest("/bin/sh", ["-c", "echo partial; echo 'FATAL: gone' >&2; exit 2"]));

        var received = await ReadAllAsync(child.StandardOutput, 4096, cancellationToken);
        var ex = await Should.ThrowAsync<ChildProcessException>(() => child.WaitForSuccessAsync(cancellationToken));

        Encoding.ASCII.GetString(received).ShouldBe("partial\n");
        ex.ExitCode.ShouldBe(2);
        ex.Message.ShouldContain("FATAL: gone");
    }

    [Fact]
    public async Task Dispose_ChildStillWritingAndQueueFull_KillsItAndReturns()
    {
        var cancellationToken = TestContext.Current.CancellationToken;
        var child = RunningChildProcess.Start(new ChildProcessRequest("/usr/bin/yes", []));
        var buffer = new byte[100];
        (await child.StandardOutput.ReadAsync(buffer, cancellationToken)).ShouldBe(100);
        var pid = child.ProcessId;

        await child.DisposeAsync();

        Directory.Exists($"/proc/{pid}").ShouldBeFalse();
    }

    [Fact]
    public async Task StandardOutput_CancelledRead_Throws()
    {
        await using var child = RunningChildProcess.Start(new ChildProcessRequest("/bin/sh", ["-c", "exec sleep 60"]));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Should.ThrowAsync<OperationCanceledException>(() => child.StandardOutput.ReadAsync(new byte[10], cancelled.Token).AsTask());
    }

    private static async Task<byte[]> ReadAllAsync(Stream stream, int bufferSize, CancellationToken cancellationToken)
    {
        var output = new MemoryStream();
        var buffer = new byte[bufferSize];
        int read;
        while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
        {
            output.Write(buffer, 0, read);
        }

        return output.ToArray();
    }
}
