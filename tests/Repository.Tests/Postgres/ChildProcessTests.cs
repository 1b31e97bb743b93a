using System.Globalization;
using BackupDr.Repository.Postgres;
using BackupDr.TestSupport;

namespace BackupDr.Repository.Tests.Postgres;

public sealed class ChildProcessTests
{
    [Fact]
    public async Task RunAsync_Success_CapturesStandardOutput()
    {
        var result = await ChildProcess.RunAsync(new ChildProcessRequest("/bin/sh", ["-c", "echo hello; echo warn >&2"]), TestContext.Current.CancellationToken);

        result.ExitCode.ShouldBe(0);
        result.StandardOutput.ShouldBe("hello\n");
        result.StandardErrorTail.ShouldBe("warn\n");
    }

    [Fact]
    public async Task RunAsync_ArgumentsWithSpacesAndQuotes_ArePassedVerbatim()
    {
        var result = await ChildProcess.RunAsync(
            new ChildProcessRequest("/usr/bin/printf", ["%s|", "a b", "'c'", "$HOME", "d;e"]), TestContext.Current.CancellationToken);

        result.StandardOutput.ShouldBe("a b|'c'|$HOME|d;e|\n");
    }

    [Fact]
    public async Task RunAsync_OwnSession_RunsInAnotherSessionAndReportsTheToolsExit()
    {
        var cancellationToken = TestContext.Current.CancellationToken;

        var result = await ChildProcess.RunAsync(new ChildProcessRequest("/bin/cat", ["/proc/self/stat"]) { OwnSession = true }, cancellationToken);
        var ex = await Should.ThrowAsync<ChildProcessException>(() => ChildProcess.RunAsync(
            new ChildProcessRequest("/bin/sh", ["-c", "echo 'FATAL: boom' >&2; exit 3"]) { OwnSession = true }, cancellationToken));

        ProcFiles.StatFields(result.StandardOutput)[3].ShouldNotBe(ProcFiles.StatFields(File.ReadAllText("/proc/self/stat"))[3]);
        ex.ExitCode.ShouldBe(3);
        ex.Message.ShouldBe("sh failed with exit code 3: FATAL: boom");
    }

    [Fact]
    public async Task RunAsync_StandardOutputBuffer_RunsTheToolThroughStdbufBesideTheOtherWrappersAndReportsItsExit()
    {
        var cancellationToken = TestContext.Current.CancellationToken;

        var result = await ChildProcess.RunAsync(
            new ChildProcessRequest("/usr/bin/env", []) { StandardOutputBufferBytes = 1 << 20, OwnSession = true }, cancellationToken);
        var ex = await Should.ThrowAsync<ChildProcessException>(() => ChildProcess.RunAsync(
            new ChildProcessRequest("/bin/sh", ["-c", "echo 'FATAL: boom' >&2; exit 3"]) { StandardOutputBufferBytes = 1 << 20 }, cancellationToken));

        // coreutils' stdbuf hands the size to its preloaded library through _STDBUF_O.
        result.StandardOutput.Split('\n').ShouldContain("_STDBUF_O=1048576");
        ex.ExitCode.ShouldBe(3);
        ex.Message.ShouldBe("sh failed with exit code 3: FATAL: boom");
    }

    [Fact]
    public async Task RunAsync_NonZeroExit_ThrowsNamingToolExitCodeAndStderr()
    {
        var ex = await Should.ThrowAsync<ChildProcessException>(() => ChildProcess.RunAsync(
            new ChildProcessRequest("/bin/sh", ["-c", "echo 'FATAL: boom' >&2; exit 3"]), TestContext.Current.CancellationToken));

        ex.Tool.ShouldBe("sh");
        ex.ExitCode.ShouldBe(3);
        ex.Message.ShouldBe("sh failed with exit code 3: FATAL: boom");
    }

    [Fact]
    public async Task RunAsync_NonZeroExitNotThrowing_ReturnsExitCode()
    {
        var result = await ChildProcess.RunAsync(
            new ChildProcessRequest("/bin/sh", ["-c", "exit 4"]) { ThrowOnFailure = false }, TestContext.Current.CancellationToken);

        result.ExitCode.ShouldBe(4);
    }

    [Fact]
    public async Task RunAsync_LongStandardError_KeepsOnlyTheTail()
    {
        var ex = await Should.ThrowAsync<ChildProcessException>(() => ChildProcess.RunAsync(
            new ChildProcessRequest("/bin/sh", ["-c", "i=0; while [ $i -lt 5000 ]; do echo line $i >&2; i=$((i+1)); done; echo LAST >&2; exit 1"]),
            TestContext.Current.CancellationToken));

        ex.StandardErrorTail.Length.ShouldBeLessThanOrEqualTo(ChildProcess.StandardErrorTailChars);
        ex.StandardErrorTail.ShouldEndWith("LAST\n");
        ex.StandardErrorTail.ShouldNotContain("line 0\n");
    }

    [Fact]
    public async Task RunAsync_EnvironmentGiven_ChildSeesItAndNotInArguments()
    {
        var result = await ChildProcess.RunAsync(
            new ChildProcessRequest("/bin/sh", ["-c", "echo \"$PGPASSWORD\""]) { Environment = new Dictionary<string, string?> { ["PGPASSWORD"] = "s3cret" } },
            TestContext.Current.CancellationToken);

        result.StandardOutput.ShouldBe("s3cret\n");
    }

    [Fact]
    public async Task RunAsync_MissingProgram_ThrowsNamingIt()
    {
        var ex = await Should.ThrowAsync<ChildProcessException>(() => ChildProcess.RunAsync(
            new ChildProcessRequest("/nonexistent/pg_dump", []), TestContext.Current.CancellationToken));

        ex.Message.ShouldContain("pg_dump");
    }

    [Fact]
    public async Task RunAsync_Cancelled_KillsTheWholeProcessTree()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var grandchild = 0;
        // The background sleep is a grandchild that keeps stdout open: RunAsync can only return after it is gone.
        var request = new ChildProcessRequest("/bin/sh", ["-c", "sleep 300 & echo $!; wait"])
        {
            OnStandardOutputLine = line =>
            {
                grandchild = int.Parse(line, CultureInfo.InvariantCulture);
                cts.Cancel();
            },
        };

        await Should.ThrowAsync<OperationCanceledException>(() => ChildProcess.RunAsync(request, cts.Token));

        grandchild.ShouldBeGreaterThan(0);
        IsGone(grandchild).ShouldBeTrue();
    }

    [Fact]
    public async Task RunAsync_AlreadyCancelled_DoesNotStart()
    {
        await Should.ThrowAsync<OperationCanceledException>(() => ChildProcess.RunAsync(
            new ChildProcessRequest("/bin/sh", ["-c", "exit 0"]), new CancellationToken(canceled: true)));
    }

    private static bool IsGone(int pid)
    {
        var stat = $"/proc/{pid}/stat";
        if (!File.Exists(stat))
        {
            return true;
        }

        // A killed process whose parent died may stay a zombie until init reaps it: it no longer runs.
        return ProcFiles.StatFields(File.ReadAllText(stat))[0] == "Z";
    }
}
