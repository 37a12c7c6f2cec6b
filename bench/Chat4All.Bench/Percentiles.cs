namespace Chat4All.Bench;

/// <summary>Nearest-rank percentiles, as every table in the bench reports them.</summary>
internal static class Percentiles
{
    /// <summary>The index of the <paramref name="quantile"/> in <paramref name="count"/> sorted values.</summary>
    public static long Rank(long count, double quantile) => Math.Clamp((long)Math.Ceiling(quantile * count) - 1, 0, count - 1);

    /// <summary>The <paramref name="quantile"/> of <paramref name="sorted"/> values; NaN when there are none.</summary>
    public static double Of(double[] sorted, double quantile) => sorted.Length == 0 ? double.NaN : sorted[Rank(sorted.LongLength, quantile)];
}
