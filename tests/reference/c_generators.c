/*
 * Reference vectors for Seedsieve's C-family generators, written from the authors' published code.
 *
 *   xorshift32     Marsaglia, "Xorshift RNGs" (J. Stat. Softw. 8(14), 2003): y^=y<<13; y^=y>>17;
 *                  y^=y<<5 on a 32-bit word.
 *   xorshift64*    Vigna, xorshift64star.c: x^=x>>12; x^=x<<25; x^=x>>27; return
 *                  x*0x2545F4914F6CDD1D.
 *   xorshift128    Marsaglia 2003, xor128() with x = seed and y, z, w = his defaults.
 *   pcg32          O'Neill, pcg_basic.c: pcg32_srandom_r(seed, 721347520444481703) and
 *                  pcg32_random_r (verbatim).
 *   xoshiro256++   Blackman & Vigna, xoshiro256plusplus.c (verbatim next()), state filled with
 *                  four successive outputs of splitmix64.c started at x = seed.
 *   philox4x32-10  Salmon et al., Random123 (SC'11): the published round function, multipliers
 *                  and Weyl key schedule; counter = {i & 0xffffffff, i >> 32, 0, 0},
 *                  key = {seed & 0xffffffff, seed >> 32}, the 4 words of each block in order.
 *   msvc rand      Microsoft CRT: holdrand = holdrand * 214013 + 2531011;
 *                  return (holdrand >> 16) & 0x7fff.
 *
 * Prints one JSON object: {"<name>": [{"seed": S, "words": [...]}, ...], "philox_kat": [...],
 * "pcg32_kat": [...]} (the last two are the authors' published known answers).
 * Build: gcc -O2 -std=c11 -o c_generators c_generators.c
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#define N_WORDS 1000

/* ---------------------------------------------------------------- Marsaglia xorshift32 */
static uint32_t xs32_y;
static uint32_t xorshift32(void) {
    xs32_y ^= (xs32_y << 13);
    xs32_y ^= (xs32_y >> 17);
    return (xs32_y ^= (xs32_y << 5));
}

/* ---------------------------------------------------------------- Vigna xorshift64* */
static uint64_t xs64_x; /* The state must be seeded with a nonzero value. */
static uint64_t xorshift64star(void) {
    xs64_x ^= xs64_x >> 12; /* a */
    xs64_x ^= xs64_x << 25; /* b */
    xs64_x ^= xs64_x >> 27; /* c */
    return xs64_x * UINT64_C(0x2545F4914F6CDD1D);
}

/* ---------------------------------------------------------------- Marsaglia xor128 */
static uint32_t x128 = 123456789, y128 = 362436069, z128 = 521288629, w128 = 88675123;
static uint32_t xor128(void) {
    uint32_t t;
    t = (x128 ^ (x128 << 11));
    x128 = y128;
    y128 = z128;
    z128 = w128;
    return (w128 = (w128 ^ (w128 >> 19)) ^ (t ^ (t >> 8)));
}

/* ---------------------------------------------------------------- pcg_basic.c */
typedef struct {
    uint64_t state;
    uint64_t inc;
} pcg32_random_t;

static uint32_t pcg32_random_r(pcg32_random_t *rng) {
    uint64_t oldstate = rng->state;
    rng->state = oldstate * 6364136223846793005ULL + rng->inc;
    uint32_t xorshifted = ((oldstate >> 18u) ^ oldstate) >> 27u;
    uint32_t rot = oldstate >> 59u;
    return (xorshifted >> rot) | (xorshifted << ((-rot) & 31));
}

static void pcg32_srandom_r(pcg32_random_t *rng, uint64_t initstate, uint64_t initseq) {
    rng->state = 0U;
    rng->inc = (initseq << 1u) | 1u;
    pcg32_random_r(rng);
    rng->state += initstate;
    pcg32_random_r(rng);
}

/* ---------------------------------------------------------------- splitmix64.c */
static uint64_t sm_x;
static uint64_t splitmix64_next(void) {
    uint64_t z = (sm_x += 0x9e3779b97f4a7c15);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
}

/* ---------------------------------------------------------------- xoshiro256plusplus.c */
static inline uint64_t rotl(const uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
static uint64_t s[4];
static uint64_t xoshiro256pp_next(void) {
    const uint64_t result = rotl(s[0] + s[3], 23) + s[0];
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* ---------------------------------------------------------------- Random123 philox4x32-10 */
#define PHILOX_M4x32_0 UINT32_C(0xD2511F53)
#define PHILOX_M4x32_1 UINT32_C(0xCD9E8D57)
#define PHILOX_W32_0 UINT32_C(0x9E3779B9)
#define PHILOX_W32_1 UINT32_C(0xBB67AE85)

static uint32_t mulhilo32(uint32_t a, uint32_t b, uint32_t *hip) {
    uint64_t product = (uint64_t)a * (uint64_t)b;
    *hip = (uint32_t)(product >> 32);
    return (uint32_t)product;
}

static void philox4x32round(uint32_t ctr[4], const uint32_t key[2]) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo32(PHILOX_M4x32_0, ctr[0], &hi0);
    uint32_t lo1 = mulhilo32(PHILOX_M4x32_1, ctr[2], &hi1);
    uint32_t out0 = hi1 ^ ctr[1] ^ key[0];
    uint32_t out2 = hi0 ^ ctr[3] ^ key[1];
    ctr[0] = out0;
    ctr[1] = lo1;
    ctr[2] = out2;
    ctr[3] = lo0;
}

static void philox4x32_10(uint32_t ctr[4], const uint32_t key_in[2]) {
    uint32_t key[2] = {key_in[0], key_in[1]};
    for (int r = 0; r < 10; r++) {
        if (r > 0) { /* philox4x32bumpkey */
            key[0] += PHILOX_W32_0;
            key[1] += PHILOX_W32_1;
        }
        philox4x32round(ctr, key);
    }
}

/* ---------------------------------------------------------------- MSVC CRT rand */
static uint32_t holdrand;
static int msvc_rand(void) {
    holdrand = holdrand * 214013u + 2531011u;
    return (int)((holdrand >> 16) & 0x7fff);
}

/* ---------------------------------------------------------------- JSON output */
static const uint64_t SEEDS32[] = {0u, 1u, 2u, 42u, 12345u, 2147483648u, 4294967295u};
static const uint64_t SEEDS64[] = {
    0u, 1u, 42u, 2147483648u, 4294967295u, UINT64_C(1099511627781) /* 2^40+5 */,
    UINT64_C(0xdeadbeefcafebabe), UINT64_C(0xffffffffffffffff)};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void begin(const char *name, int first) { printf("%s\"%s\": [", first ? "" : ",\n", name); }

static void words_header(size_t i, uint64_t seed) {
    printf("%s{\"seed\": %" PRIu64 ", \"words\": [", i ? ", " : "", seed);
}

int main(void) {
    size_t i;
    int k;
    printf("{\n");

    begin("xorshift32", 1);
    for (i = 0; i < COUNT(SEEDS32); i++) {
        xs32_y = (uint32_t)SEEDS32[i];
        words_header(i, SEEDS32[i]);
        for (k = 0; k < N_WORDS; k++) printf("%s%" PRIu32, k ? "," : "", xorshift32());
        printf("]}");
    }
    printf("]");

    begin("xorshift64", 0);
    for (i = 0; i < COUNT(SEEDS64); i++) {
        xs64_x = SEEDS64[i];
        words_header(i, SEEDS64[i]);
        for (k = 0; k < N_WORDS; k++) printf("%s%" PRIu64, k ? "," : "", xorshift64star());
        printf("]}");
    }
    printf("]");

    begin("xorshift128", 0);
    for (i = 0; i < COUNT(SEEDS32); i++) {
        x128 = (uint32_t)SEEDS32[i];
        y128 = 362436069;
        z128 = 521288629;
        w128 = 88675123;
        words_header(i, SEEDS32[i]);
        for (k = 0; k < N_WORDS; k++) printf("%s%" PRIu32, k ? "," : "", xor128());
        printf("]}");
    }
    printf("]");

    begin("pcg32", 0);
    for (i = 0; i < COUNT(SEEDS64); i++) {
        pcg32_random_t rng;
        pcg32_srandom_r(&rng, SEEDS64[i], UINT64_C(721347520444481703));
        words_header(i, SEEDS64[i]);
        for (k = 0; k < N_WORDS; k++) printf("%s%" PRIu32, k ? "," : "", pcg32_random_r(&rng));
        printf("]}");
    }
    printf("]");

    /* pcg32-demo.c's published first outputs for pcg32_srandom_r(&rng, 42u, 54u). */
    begin("pcg32_kat", 0);
    {
        pcg32_random_t rng;
        pcg32_srandom_r(&rng, 42u, 54u);
        for (k = 0; k < 6; k++) printf("%s%" PRIu32, k ? "," : "", pcg32_random_r(&rng));
    }
    printf("]");

    begin("xoshiro256pp", 0);
    for (i = 0; i < COUNT(SEEDS64); i++) {
        sm_x = SEEDS64[i];
        for (k = 0; k < 4; k++) s[k] = splitmix64_next();
        words_header(i, SEEDS64[i]);
        for (k = 0; k < N_WORDS; k++) printf("%s%" PRIu64, k ? "," : "", xoshiro256pp_next());
        printf("]}");
    }
    printf("]");

    begin("philox4x32", 0);
    for (i = 0; i < COUNT(SEEDS64); i++) {
        const uint32_t key[2] = {(uint32_t)SEEDS64[i], (uint32_t)(SEEDS64[i] >> 32)};
        words_header(i, SEEDS64[i]);
        for (k = 0; k < N_WORDS / 4; k++) {
            uint64_t block = (uint64_t)k;
            uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), 0, 0};
            philox4x32_10(ctr, key);
            printf("%s%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%" PRIu32, k ? "," : "", ctr[0], ctr[1],
                   ctr[2], ctr[3]);
        }
        printf("]}");
    }
    printf("]");

    /* Random123's kat_vectors for philox4x32 10: the C transcription must reproduce them too. */
    begin("philox_kat", 0);
    {
        static const uint32_t kat_in[3][6] = {
            {0, 0, 0, 0, 0, 0},
            {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu},
            {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u, 0xa4093822u, 0x299f31d0u},
        };
        for (i = 0; i < 3; i++) {
            uint32_t ctr[4] = {kat_in[i][0], kat_in[i][1], kat_in[i][2], kat_in[i][3]};
            const uint32_t key[2] = {kat_in[i][4], kat_in[i][5]};
            philox4x32_10(ctr, key);
            printf("%s[%" PRIu32 ",%" PRIu32 ",%" PRIu32 ",%" PRIu32 "]", i ? ", " : "", ctr[0],
                   ctr[1], ctr[2], ctr[3]);
        }
    }
    printf("]");

    begin("msvc_rand", 0);
    for (i = 0; i < COUNT(SEEDS32); i++) {
        holdrand = (uint32_t)SEEDS32[i]; /* srand(seed) */
        words_header(i, SEEDS32[i]);
        for (k = 0; k < N_WORDS; k++) printf("%s%d", k ? "," : "", msvc_rand());
        printf("]}");
    }
    printf("]");

    printf("\n}\n");
    return 0;
}
