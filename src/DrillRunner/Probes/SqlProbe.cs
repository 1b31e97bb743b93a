using System.Globalization;
using BackupDr.Repository.Configuration;
using Npgsql;

namespace BackupDr.DrillRunner.Probes;

/// <summary>
/// A custom probe from the target's configuration (<c>Drill:Probes</c>): one query, run in a read-only transaction
/// with a statement timeout, returning one value that must equal <c>Expected</c> (compared as text) or lie within
/// <c>Min</c>/<c>Max</c> (compared as a number).
/// </summary>
internal sealed class SqlProbe(SqlProbeOptions options) : IProbe
{
    public string Name => options.Name;

    public bool Critical => options.Critical;

    public async Task<ProbeResult> RunAsync(ProbeContext context, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(context.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var timeoutMs = ((long)options.Timeout.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
        await using (var setup = new NpgsqlCommand($"SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = {timeoutMs}", connection, transaction))
        {
            await setup.ExecuteNonQueryAsync(cancellationToken);
        }

        object? value;
        await using (var command = new NpgsqlCommand(options.Query.Trim().TrimEnd(';'), connection, transaction))
        {
            value = await command.ExecuteScalarAsync(cancellationToken);
        }

        var text = Format(value);
        if (options.Expected is { } expected)
        {
            return string.Equals(text, expected.Trim(), StringComparison.Ordinal)
                ? ProbeResult.Pass($"returned {text}, as expected")
                : ProbeResult.Fail($"returned {text}, expected {expected.Trim()}");
        }

        if (!decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            return ProbeResult.Fail($"returned {text}, which is not a number (Min/Max need one)");
        }

        var bounds = $"[{options.Min?.ToString(CultureInfo.InvariantCulture) ?? "-inf"}, {options.Max?.ToString(CultureInfo.InvariantCulture) ?? "+inf"}]";
        return (options.Min is null || number >= options.Min) && (options.Max is null || number <= options.Max)
            ? ProbeResult.Pass($"returned {text}, within {bounds}")
            : ProbeResult.Fail($"returned {text}, outside {bounds}");
    }

    /// <summary>The value as an operator writes it in configuration: invariant numbers, lower-case booleans, ISO dates, "null".</summary>
    internal static string Format(object? value) => value switch
    {
        null or DBNull => "null",
        bool b => b ? "true" : "false",
        DateTime d => d.ToString("yyyy-MM-dd HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture).TrimEnd('.'),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "null",
    };
}
