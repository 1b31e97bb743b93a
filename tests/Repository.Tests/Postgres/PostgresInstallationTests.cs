using BackupDr.Repository.Postgres;

namespace BackupDr.Repository.Tests.Postgres;

public sealed class PostgresInstallationTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("backupdr-pginst-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void FindTool_DebianLayout_ReturnsToolPath()
    {
        var psql = FakeTool("15/bin", "psql");

        var installation = PostgresInstallation.Locate(15, _root, _ => null);

        installation.FindTool("psql").ShouldBe(psql);
    }

    [Fact]
    public void FindTool_OverrideVariableSet_UsesOnlyThatFolder()
    {
        FakeTool("15/bin", "pg_dump");
        var custom = FakeTool("custom", "pg_dump");

        var installation = PostgresInstallation.Locate(15, _root, name => name == "BACKUPDR_PG_BIN_15" ? Path.GetDirectoryName(custom) : null);

        installation.FindTool("pg_dump").ShouldBe(custom);
        installation.Candidates.ShouldBe([Path.GetDirectoryName(custom)!]);
    }

    [Fact]
    public void FindTool_MissingMajor_ThrowsNamingToolMajorFolderAndServerPackage()
    {
        FakeTool("15/bin", "initdb");

        var ex = Should.Throw<PostgresToolMissingException>(() => PostgresInstallation.Locate(16, _root, _ => null).FindTool("initdb"));

        ex.Tool.ShouldBe("initdb");
        ex.Major.ShouldBe(16);
        ex.Message.ShouldContain("'initdb'");
        ex.Message.ShouldContain("PostgreSQL 16");
        ex.Message.ShouldContain(Path.Combine(_root, "16", "bin"));
        ex.Message.ShouldContain("apt-get install postgresql-16");
        ex.Message.ShouldContain("BACKUPDR_PG_BIN_16");
    }

    [Fact]
    public void FindTool_ClientToolMissing_SuggestsClientPackage()
    {
        var ex = Should.Throw<PostgresToolMissingException>(() => PostgresInstallation.Locate(15, _root, _ => null).FindTool("pg_restore"));

        ex.Message.ShouldContain("apt-get install postgresql-client-15");
    }

    [Fact]
    public void RequireTools_OneMissing_ThrowsForThatTool()
    {
        FakeTool("15/bin", "initdb");

        var ex = Should.Throw<PostgresToolMissingException>(() => PostgresInstallation.Locate(15, _root, _ => null).RequireTools("initdb", "pg_ctl"));

        ex.Tool.ShouldBe("pg_ctl");
    }

    [Fact]
    public void InstalledMajors_FakeRoot_ListsMajorsThatHaveTools()
    {
        FakeTool("13/bin", "psql");
        FakeTool("15/bin", "pg_ctl");
        Directory.CreateDirectory(Path.Combine(_root, "16", "bin"));
        Directory.CreateDirectory(Path.Combine(_root, "not-a-major"));

        PostgresInstallation.InstalledMajors(_root, _ => null).ShouldBe([13, 15]);
    }

    private string FakeTool(string folder, string tool)
    {
        var dir = Path.Combine(_root, folder);
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, tool);
        File.WriteAllText(path, "#!/bin/sh\n");
        return path;
    }
}
