using Chat4All.BuildingBlocks.Blobs;

namespace Chat4All.BuildingBlocks.Tests.Blobs;

public sealed class ContentDispositionHeaderTests
{
    [Theory]
    [InlineData("report.pdf", "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf")]
    [InlineData("naïve café.txt", "attachment; filename=\"na_ve caf_.txt\"; filename*=UTF-8''na%C3%AFve%20caf%C3%A9.txt")]
    [InlineData("a\"b\\c%d;e.txt", "attachment; filename=\"a_b_c_d;e.txt\"; filename*=UTF-8''a%22b%5Cc%25d%3Be.txt")]
    [InlineData("line\r\nbreak", "attachment; filename=\"line__break\"; filename*=UTF-8''line%0D%0Abreak")]
    [InlineData("😀.png", "attachment; filename=\"_.png\"; filename*=UTF-8''%F0%9F%98%80.png")]
    public void ContentDispositionCarriesTheExactNameAndAnAsciiFallback(string fileName, string expected)
    {
        var header = ContentDispositionHeader.Attachment(fileName);

        Assert.Equal(expected, header);
        Assert.Equal(fileName, System.Net.Http.Headers.ContentDispositionHeaderValue.Parse(header).FileNameStar);
    }
}
