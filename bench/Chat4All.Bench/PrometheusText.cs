using System.Globalization;
using System.Net;

namespace Chat4All.Bench;

/// <summary>One sample of the Prometheus text exposition: a metric name, its labels and its value.</summary>
internal sealed record PrometheusSample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
{
    public string Label(string name) => Labels.TryGetValue(name, out var value) ? value : string.Empty;
}

/// <summary>
/// A scrape of the host's <c>GET /metrics</c> (the OpenTelemetry Prometheus exporter), parsed just
/// enough to sum counters: <c>name{label="value",...} value [timestamp]</c> lines, comments skipped.
/// A series that has not been recorded yet is simply absent, which sums as 0.
/// </summary>
internal sealed class PrometheusText(IReadOnlyList<PrometheusSample> samples)
{
    public IReadOnlyList<PrometheusSample> Samples => samples;

    /// <summary>Fetches and parses <c>GET /metrics</c>; throws <see cref="InvalidOperationException"/> on a non-200.</summary>
    public static async Task<PrometheusText> ScrapeAsync(HttpClient client, Uri baseAddress, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync(new Uri(baseAddress, Chat4AllApi.MetricsPath), cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new InvalidOperationException($"GET /{Chat4AllApi.MetricsPath} returned {(int)response.StatusCode}");
        }

        return Parse(text);
    }

    /// <summary><see cref="ScrapeAsync"/>, or null when the host has no (reachable) /metrics: the scenarios then report without it.</summary>
    public static async Task<PrometheusText?> TryScrapeAsync(HttpClient client, Uri baseAddress, CancellationToken cancellationToken)
    {
        try
        {
            return await ScrapeAsync(client, baseAddress, cancellationToken);
        }
        catch (Exception ex) when (ex is InvalidOperationException or HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    public static PrometheusText Parse(string text)
    {
        var samples = new List<PrometheusSample>();
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            if (TryParseLine(line) is { } sample)
            {
                samples.Add(sample);
            }
        }

        return new PrometheusText(samples);
    }

    /// <summary>The sum of every sample called <paramref name="name"/> whose labels pass <paramref name="filter"/>.</summary>
    public double Sum(string name, Func<PrometheusSample, bool>? filter = null) =>
        samples.Where(s => s.Name == name && (filter is null || filter(s))).Sum(s => s.Value);

    private static PrometheusSample? TryParseLine(string line)
    {
        var nameEnd = 0;
        while (nameEnd < line.Length && line[nameEnd] != '{' && line[nameEnd] != ' ')
        {
            nameEnd++;
        }

        var name = line[..nameEnd];
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        var position = nameEnd;
        if (position < line.Length && line[position] == '{')
        {
            position++;
            while (position < line.Length && line[position] != '}')
            {
                var equals = line.IndexOf('=', position);
                if (equals < 0 || equals + 1 >= line.Length || line[equals + 1] != '"')
                {
                    return null;
                }

                var key = line[position..equals].Trim().TrimStart(',').Trim();
                var value = new System.Text.StringBuilder();
                var i = equals + 2;
                for (; i < line.Length && line[i] != '"'; i++)
                {
                    if (line[i] == '\\' && i + 1 < line.Length)
                    {
                        i++;
                        value.Append(line[i] == 'n' ? '\n' : line[i]);
                    }
                    else
                    {
                        value.Append(line[i]);
                    }
                }

                if (i >= line.Length)
                {
                    return null;
                }

                labels[key] = value.ToString();
                position = i + 1;
                while (position < line.Length && (line[position] == ',' || line[position] == ' '))
                {
                    position++;
                }
            }

            if (position >= line.Length)
            {
                return null;
            }

            position++; // past '}'
        }

        // The value, then an optional timestamp.
        var rest = line[position..].Trim().Split(' ', 2, StringSplitOptions.RemoveEmptyEntries);
        if (rest.Length == 0)
        {
            return null;
        }

        var number = rest[0] switch
        {
            "+Inf" => double.PositiveInfinity,
            "-Inf" => double.NegativeInfinity,
            "NaN" => double.NaN,
            var s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) => parsed,
            _ => (double?)null,
        };
        return number is { } v && name.Length > 0 ? new PrometheusSample(name, labels, v) : null;
    }
}
