// Reference vectors from the runtime's System.Random(seed) (Mono here; .NET keeps the same
// seeded algorithm for compatibility).
//
// Prints one JSON object:
//   {"runtime": "...",
//    "words": [{"seed": S, "words": [Next() ...]}],
//    "next":  [{"seed": S, "n": N, "draws": [Next(N) ...]}],
//    "range": [{"seed": S, "min": A, "max": B, "draws": [Next(A, B) ...]}]}
// Every sequence starts from a fresh new Random(seed).
// Build: mcs -out:DotnetRandom.exe DotnetRandom.cs; run: mono DotnetRandom.exe
using System;
using System.Text;

public static class DotnetRandom
{
    const int NWords = 1000;
    const int NDraws = 300;
    static readonly int[] Seeds = {
        0, 1, 2, 42, 12345, 161803398, 161803399, 1234567890, int.MaxValue, -1, -42, int.MinValue
    };
    static readonly int[] Bounds = { 1000, 1, 2, 7, 1024, 1 << 30, int.MaxValue };
    static readonly int[,] Ranges = {
        { 0, 1000 }, { 1, 7 }, { -500, 500 }, { 5, 5 }, { int.MinValue, int.MaxValue },
        { -2000000000, 2000000000 }, { -1, int.MaxValue }, { 0, int.MaxValue }
    };

    static void List(StringBuilder o, Func<long> next, int n)
    {
        o.Append('[');
        for (int k = 0; k < n; k++) {
            if (k > 0) o.Append(',');
            o.Append(next());
        }
        o.Append(']');
    }

    public static void Main()
    {
        var o = new StringBuilder();
        o.Append("{\"runtime\": \"").Append(Environment.Version).Append("\", \"words\": [");
        for (int i = 0; i < Seeds.Length; i++) {
            var r = new Random(Seeds[i]);
            o.Append(i > 0 ? ", " : "").Append("{\"seed\": ").Append(Seeds[i]).Append(", \"words\": ");
            List(o, () => r.Next(), NWords);
            o.Append('}');
        }
        o.Append("], \"next\": [");
        bool first = true;
        foreach (int seed in Seeds) {
            foreach (int n in Bounds) {
                var r = new Random(seed);
                o.Append(first ? "" : ", ").Append("{\"seed\": ").Append(seed);
                o.Append(", \"n\": ").Append(n).Append(", \"draws\": ");
                List(o, () => r.Next(n), NDraws);
                o.Append('}');
                first = false;
            }
        }
        o.Append("], \"range\": [");
        first = true;
        foreach (int seed in Seeds) {
            for (int k = 0; k < Ranges.GetLength(0); k++) {
                int lo = Ranges[k, 0], hi = Ranges[k, 1];
                var r = new Random(seed);
                o.Append(first ? "" : ", ").Append("{\"seed\": ").Append(seed);
                o.Append(", \"min\": ").Append(lo).Append(", \"max\": ").Append(hi);
                o.Append(", \"draws\": ");
                List(o, () => r.Next(lo, hi), NDraws);
                o.Append('}');
                first = false;
            }
        }
        o.Append("]}");
        Console.WriteLine(o.ToString());
    }
}
