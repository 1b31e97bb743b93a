using System.Globalization;
using System.IO.Hashing;

namespace BackupDr.Repository.Postgres;

/// <summary>
/// An order-independent fingerprint of a table's rows in COPY text form: the row count and two 64-bit wrapping sums of
/// each row's XxHash128. The same rows give the same value whatever their physical order, so a fingerprint computed
/// from the dump stream at backup time can be compared with one computed by <c>COPY ... TO STDOUT</c> on a restored
/// copy. XxHash is not cryptographic: it detects accidental loss or change of rows; deliberate tampering is caught
/// by the authenticated encryption of the objects.
/// </summary>
internal sealed class RowFingerprint
{
    private byte[] _carry = [];
    private int _carryLength;
    private bool _ended;
    private ulong _low;
    private ulong _high;

    public long Rows { get; private set; }

    public string Value => string.Create(CultureInfo.InvariantCulture, $"xxh128:{Rows}:{_high:x16}{_low:x16}");

    /// <summary>True once the COPY terminator line <c>\.</c> was seen: no further rows count.</summary>
    public bool Ended => _ended;

    /// <summary>Feeds COPY text data; rows end with '\n' (COPY escapes newlines inside values), so chunks may split rows anywhere.</summary>
    public void Append(ReadOnlySpan<byte> data) => AppendUntilTerminator(data);

    /// <summary>
    /// Feeds COPY text data up to and including the terminator line <c>\.</c>, and returns how many bytes of
    /// <paramref name="data"/> that took: all of them unless the terminator ended the rows inside it.
    /// </summary>
    public int AppendUntilTerminator(ReadOnlySpan<byte> data)
    {
        var consumed = 0;
        while (!_ended && consumed < data.Length)
        {
            var rest = data[consumed..];
            var end = rest.IndexOf((byte)'\n');
            if (end < 0)
            {
                Carry(rest);
                return data.Length;
            }

            if (_carryLength == 0)
            {
                AddRow(rest[..end]);
            }
            else
            {
                Carry(rest[..end]);
                AddRow(CarriedRow());
                _carryLength = 0;
            }

            consumed += end + 1;
        }

        return _ended ? consumed : data.Length;
    }

    /// <summary>Adds the rows another fingerprint counted (another part of the same table's rows).</summary>
    public void Add(RowFingerprint other)
    {
        ArgumentNullException.ThrowIfNull(other);
        unchecked
        {
            _low += other._low;
            _high += other._high;
        }

        Rows += other.Rows;
    }

    /// <summary>Ends the data: a last row without a newline still counts (COPY always ends rows with one).</summary>
    public void Complete()
    {
        if (_carryLength > 0 && !_ended)
        {
            AddRow(CarriedRow());
            _carryLength = 0;
        }
    }

    private ReadOnlySpan<byte> CarriedRow() => _carry.AsSpan(0, _carryLength);

    private void Carry(ReadOnlySpan<byte> part)
    {
        var needed = _carryLength + part.Length;
        if (needed > _carry.Length)
        {
            Array.Resize(ref _carry, Math.Max(needed, _carry.Length * 2));
        }

        part.CopyTo(_carry.AsSpan(_carryLength));
        _carryLength = needed;
    }

    private void AddRow(ReadOnlySpan<byte> row)
    {
        // pg_dump ends each table's data with the COPY terminator "\." and blank lines: no rows follow it. A value
        // cannot produce this line (COPY writes a backslash in data as "\\").
        if (_ended || row.SequenceEqual("\\."u8))
        {
            _ended = true;
            return;
        }

        var hash = XxHash128.HashToUInt128(row);
        unchecked
        {
            _low += (ulong)hash;
            _high += (ulong)(hash >> 64);
        }

        Rows++;
    }
}
