using BackupDr.TestSupport;

// One server of each kind per test run, shared by every test class that asks for it in its constructor.
[assembly: AssemblyFixture(typeof(PostgresFixture))]
[assembly: AssemblyFixture(typeof(S3rverFixture))]
[assembly: AssemblyFixture(typeof(AzuriteFixture))]
[assembly: AssemblyFixture(typeof(SmtpFixture))]
