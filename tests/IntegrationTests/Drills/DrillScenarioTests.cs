using BackupDr.IntegrationTests.Backups;
using BackupDr.TestSupport;

namespace BackupDr.IntegrationTests.Drills;

/// <summary>A fresh demo Odoo database and an initialized local repository per test class (see <see cref="BackupScenario"/>).</summary>
public abstract class DrillScenarioTests(PostgresFixture postgres) : IAsyncLifetime
{
    private BackupScenario? _scenario;

    internal BackupScenario Scenario => _scenario ?? throw new InvalidOperationException("the scenario is made in InitializeAsync");

    protected static CancellationToken Token => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _scenario = await BackupScenario.CreateAsync(postgres, path => Task.FromResult(RepositorySetup.Local(path)), Token);
        await _scenario.RunJsonAsync("repo", "init");
    }

    public async ValueTask DisposeAsync()
    {
        if (_scenario is not null)
        {
            await _scenario.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}
