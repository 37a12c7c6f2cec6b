using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Chat4All.Delivery.Simulator;

/// <summary>
/// The random numbers of one simulated send: SplitMix64 seeded by SHA-256 of (seed, channel,
/// delivery id, attempt). Both are fixed algorithms, unlike <see cref="Random"/>'s unseeded
/// implementation or <see cref="string.GetHashCode()"/> (randomised per process), so a send makes
/// the same decisions in every process, run and release, whatever else runs concurrently.
/// </summary>
internal struct SimulationRandom
{
    private ulong _state;

    private SimulationRandom(ulong state) => _state = state;

    public static SimulationRandom For(long seed, string channel, Guid deliveryId, int attempt) =>
        For(string.Create(CultureInfo.InvariantCulture, $"{seed}/{channel}/{deliveryId:N}/{attempt}"));

    public static SimulationRandom For(string key)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(key), hash);
        return new SimulationRandom(BinaryPrimitives.ReadUInt64LittleEndian(hash));
    }

    /// <summary>Uniform in [0, 1).</summary>
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform in [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public TimeSpan NextTimeSpan(TimeSpan min, TimeSpan max) =>
        min + TimeSpan.FromTicks((long)(NextDouble() * (max - min).Ticks));

    private ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
