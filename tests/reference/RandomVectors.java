import java.util.Random;

/**
 * Reference vectors from the JDK's java.util.Random.
 *
 * <p>Prints one JSON object:
 *
 * <ul>
 *   <li>"words": new Random(seed), nextInt() as unsigned (Integer.toUnsignedLong), i.e. next(32);
 *   <li>"lcg_words": new Random(seed ^ 0x5DEECE66DL), whose internal state is then exactly
 *       seed mod 2^48 (the LCG with the seed used as the state, no scramble);
 *   <li>"nextint": new Random(seed), nextInt(bound) called repeatedly;
 *   <li>"planted": random 48-bit seeds, each with an offset 0..3 (that many nextInt() calls
 *       first) and then nextInt(bound) draws, for the seed-recovery tests of every bound kind.
 * </ul>
 *
 * <p>Build: javac RandomVectors.java; run: java -cp . RandomVectors
 */
public final class RandomVectors {
    private static final int N_WORDS = 1000;
    private static final int N_DRAWS = 300;
    private static final long MULTIPLIER = 0x5DEECE66DL;

    private static final long[] SEEDS = {
        0L, 1L, 2L, 42L, 1L << 31, (1L << 32) - 1, (1L << 40) + 5, (1L << 48) - 1
    };
    private static final int[] BOUNDS = {1000, 1024, 7, 1337, (1 << 30) + 1, 1, 1 << 30, 2};

    /** (bound, draws): odd, small, even and power-of-two bounds, enough draws to pin the seed. */
    private static final int[][] PLANTED = {
        {2, 64}, {3, 30}, {5, 24}, {6, 22}, {7, 20}, {12, 20}, {100, 8}, {1000, 8}, {16, 14},
        {1024, 6}, {7, 8}, {12, 14}, {4, 28}
    };
    private static final int PLANTED_SEEDS = 2;

    private RandomVectors() {}

    private static void planted(StringBuilder out) {
        out.append("\"planted\": [");
        int k = 0;
        for (int[] c : PLANTED) {
            for (int j = 0; j < PLANTED_SEEDS; j++, k++) {
                long seed = new Random(0x5EED0000L + k).nextLong() & ((1L << 48) - 1);
                int offset = k % 4;
                Random r = new Random(seed);
                for (int o = 0; o < offset; o++) {
                    r.nextInt();
                }
                out.append(k > 0 ? ", " : "").append("{\"seed\": ").append(seed);
                out.append(", \"offset\": ").append(offset).append(", \"bound\": ").append(c[0]);
                out.append(", \"draws\": [");
                for (int d = 0; d < c[1]; d++) {
                    out.append(d > 0 ? "," : "").append(r.nextInt(c[0]));
                }
                out.append("]}");
            }
        }
        out.append(']');
    }

    private static void words(StringBuilder out, String name, boolean scrambled) {
        out.append('"').append(name).append("\": [");
        for (int i = 0; i < SEEDS.length; i++) {
            Random r = new Random(scrambled ? SEEDS[i] : SEEDS[i] ^ MULTIPLIER);
            out.append(i > 0 ? ", " : "").append("{\"seed\": ").append(SEEDS[i]);
            out.append(", \"words\": [");
            for (int k = 0; k < N_WORDS; k++) {
                out.append(k > 0 ? "," : "").append(Integer.toUnsignedLong(r.nextInt()));
            }
            out.append("]}");
        }
        out.append(']');
    }

    public static void main(String[] args) {
        StringBuilder out = new StringBuilder("{\n");
        words(out, "words", true);
        out.append(",\n");
        words(out, "lcg_words", false);
        out.append(",\n\"nextint\": [");
        boolean first = true;
        for (long seed : SEEDS) {
            for (int bound : BOUNDS) {
                Random r = new Random(seed);
                out.append(first ? "" : ", ").append("{\"seed\": ").append(seed);
                out.append(", \"bound\": ").append(bound).append(", \"draws\": [");
                for (int k = 0; k < N_DRAWS; k++) {
                    out.append(k > 0 ? "," : "").append(r.nextInt(bound));
                }
                out.append("]}");
                first = false;
            }
        }
        out.append("],\n");
        planted(out);
        out.append("\n}\n");
        System.out.print(out);
    }
}
