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
    private byte[] _carry = new byte[1 << 16];
    private int _carryLength;
    private bool _ended;
    private ulong _low;
    private ulong _high;

    public long Rows { get; private set; }

    public string Value => string.Create(CultureInfo.InvariantCulture, $"xxh128:{Rows}:{_high:x16}{_low:x16}");

    /// <summary>Feeds COPY text data; rows end with '\n' (COPY escapes newlines inside values), so chunks may split rows anywhere.</summary>
    public void Append(ReadOnlySpan<byte> data)
    {
        while (!data.IsEmpty)
        {
            var end = data.IndexOf((byte)'\n');
            if (end < 0)
            {
                Carry(data);
                return;
            }

            if (_carryLength == 0)
            {
                AddRow(data[..end]);
            }
            else
            {
                Carry(data[..end]);
                AddRow(CarriedRow());
                _carryLength = 0;
            }

            data = data[(end + 1)..];
        }
    }

    /// <summary>Ends the data: a last row without a newline still counts (COPY always ends rows with one).</summary>
    public void Complete()
    {
        if (_carryLength > 0)
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
