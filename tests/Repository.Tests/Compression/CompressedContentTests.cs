using BackupDr.Repository.Compression;

namespace BackupDr.Repository.Tests.Compression;

public sealed class CompressedContentTests
{
    [Theory]
    [InlineData("FFD8FFE000104A464946", "jpeg")]
    [InlineData("89504E470D0A1A0A0000000D", "png")]
    [InlineData("474946383961", "gif")]
    [InlineData("524946460000000057454250", "webp")]
    [InlineData("504B030414000600", "zip / xlsx / docx")]
    [InlineData("1F8B0800", "gzip")]
    [InlineData("28B52FFD", "zstd")]
    [InlineData("FD377A585A00", "xz")]
    [InlineData("0000001C6674797069736F6D", "mp4")]
    public void IsAlreadyCompressed_KnownMagic_IsTrue(string hex, string what)
    {
        CompressedContent.IsAlreadyCompressed(Convert.FromHexString(hex)).ShouldBeTrue(what);
        CompressedContent.ChooseCodec(Convert.FromHexString(hex)).ShouldBe(Codec.None);
    }

    [Theory]
    [InlineData("255044462D312E370A", "pdf")]
    [InlineData("3C3F786D6C2076657273696F6E", "xml")]
    [InlineData("69642C6E616D650A", "csv")]
    [InlineData("424D", "bmp")]
    [InlineData("", "empty")]
    public void IsAlreadyCompressed_UncompressedMagic_IsFalse(string hex, string what)
    {
        CompressedContent.IsAlreadyCompressed(Convert.FromHexString(hex)).ShouldBeFalse(what);
        CompressedContent.ChooseCodec(Convert.FromHexString(hex)).ShouldBe(Codec.Zstd);
    }

    [Theory]
    [InlineData("image/jpeg", true)]
    [InlineData("IMAGE/PNG; charset=binary", true)]
    [InlineData("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", true)]
    [InlineData("application/vnd.openxmlformats-officedocument.wordprocessingml.document", true)]
    [InlineData("application/zip", true)]
    [InlineData("application/gzip", true)]
    [InlineData("application/zstd", true)]
    [InlineData("application/pdf", false)]
    [InlineData("text/plain", false)]
    [InlineData("application/octet-stream", false)]
    [InlineData("", false)]
    [InlineData(null, false)]
    public void IsCompressedMimeType_CommonOdooTypes(string? mimeType, bool expected)
    {
        CompressedContent.IsCompressedMimeType(mimeType).ShouldBe(expected);
    }

    [Fact]
    public void IsAlreadyCompressed_MimeSaysCompressedButBytesUnknown_IsTrue()
    {
        CompressedContent.IsAlreadyCompressed("hello"u8, "image/jpeg").ShouldBeTrue();
    }
}
