using BackupDr.DrillRunner.Probes;
using BackupDr.Repository.Configuration;
using BackupDr.Repository.Drills;
using BackupDr.TestSupport;

namespace BackupDr.DrillRunner.Tests.Probes;

/// <summary>The HTTP and XML-RPC probes against <see cref="FakeOdooServer"/>, an in-process stand-in for Odoo 17's endpoints.</summary>
public sealed class OdooProbeTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Point = new(2026, 11, 23, 1, 0, 0, TimeSpan.Zero);
    private readonly HttpClient _http = new();
    private FakeOdooServer _odoo = null!;

    private static CancellationToken Token => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _odoo = new FakeOdooServer();
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _odoo.DisposeAsync();
    }

    private OdooProbeOptions Options(string password = FakeOdooServer.Password, string? url = null) => new()
    {
        Url = url ?? _odoo.Url, Login = FakeOdooServer.Login, Password = password, Timeout = TimeSpan.FromSeconds(30),
    };

    [Fact]
    public async Task Http_OdooOfTheBackupsSeries_Passes()
    {
        var result = await new OdooHttpProbe(Options(), _http).RunAsync(TestManifests.Context(TestManifests.At(Point)), Token);

        result.Status.ShouldBe(ProbeStatus.Passed, result.Details);
        result.Details.ShouldContain("Odoo 17.0, the backup's series 17.0");
    }

    [Fact]
    public async Task Http_AnotherOdooSeries_Fails()
    {
        await using var odoo16 = new FakeOdooServer("16.0");

        var result = await new OdooHttpProbe(Options(url: odoo16.Url), _http).RunAsync(TestManifests.Context(TestManifests.At(Point)), Token);

        result.Status.ShouldBe(ProbeStatus.Failed);
        result.Details.ShouldContain("Odoo 16.0 answers, but the backup is of Odoo 17.0");
    }

    [Fact]
    public async Task XmlRpc_DrillUserReadsAPartner_PassesWithoutRecordingThePassword()
    {
        var result = await new OdooXmlRpcProbe(Options(), _http).RunAsync(TestManifests.Context(TestManifests.At(Point)), Token);

        result.Status.ShouldBe(ProbeStatus.Passed, result.Details);
        result.Details.ShouldContain($"authenticated as 'drill' (uid {FakeOdooServer.UserId}) on 'acme'; read partner 3");
        result.Details.ShouldNotContain(FakeOdooServer.Password);
        _odoo.Requests.ShouldContain(r => r.Contains("<methodName>execute_kw</methodName>", StringComparison.Ordinal));
    }

    [Fact]
    public async Task XmlRpc_WrongPassword_FailsOnAuthentication()
    {
        var result = await new OdooXmlRpcProbe(Options(password: "wrong"), _http).RunAsync(TestManifests.Context(TestManifests.At(Point)), Token);

        result.Status.ShouldBe(ProbeStatus.Failed);
        result.Details.ShouldContain("authenticate as 'drill' on database 'acme' was refused");
    }

    [Fact]
    public async Task XmlRpc_NoPartnerReadable_Fails()
    {
        await using var empty = new FakeOdooServer(partners: false);

        var result = await new OdooXmlRpcProbe(Options(url: empty.Url), _http).RunAsync(TestManifests.Context(TestManifests.At(Point)), Token);

        result.Status.ShouldBe(ProbeStatus.Failed);
        result.Details.ShouldContain("search_read returned no partner");
    }

    [Fact]
    public async Task Runner_OdooUnreachable_RecordsFailureInsteadOfThrowing()
    {
        var probe = new OdooHttpProbe(Options(url: "http://127.0.0.1:1"), _http);

        var run = await new ProbeRunner(TimeProvider.System).RunAsync([probe], TestManifests.Context(TestManifests.At(Point)), null, Token);

        var record = run.Records.ShouldHaveSingleItem();
        record.Status.ShouldBe(ProbeStatus.Failed);
        record.Details.ShouldStartWith("could not run: ");
        run.CriticalPassedAt.ShouldBeNull();
    }

    [Fact]
    public void XmlRpc_Values_RoundTrip()
    {
        var value = new Dictionary<string, object?>
        {
            ["s"] = "a<b&c", ["i"] = 42L, ["b"] = true, ["d"] = 1.5, ["n"] = null, ["a"] = new List<object?> { 1L, "x" },
        };

        var decoded = XmlRpcClient.Decode(XmlRpcClient.Encode(value)).ShouldBeAssignableTo<IReadOnlyDictionary<string, object?>>()!;

        decoded["s"].ShouldBe("a<b&c");
        decoded["i"].ShouldBe(42L);
        decoded["b"].ShouldBe(true);
        decoded["d"].ShouldBe(1.5);
        decoded["n"].ShouldBeNull();
        decoded["a"].ShouldBeAssignableTo<IReadOnlyList<object?>>()!.ShouldBe([1L, "x"]);
    }
}
