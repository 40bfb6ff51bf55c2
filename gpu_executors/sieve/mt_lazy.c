/* MT19937 seeded by init_genrand (or CPython's init_by_array): flag the seeds whose first draws
   may match.

   The native twin of lanes.mt_lanes (same inputs; see native.py, which builds and loads it).
   Why C: the seeding recurrence x = 1812433253 * (x ^ x >> 30) + i runs ~400 steps per seed and
   is all the cost; numba keeps it in 64-bit lanes (8 per AVX-512 vector, and a slow 64-bit
   multiply), where gcc's vector extensions keep 16 32-bit lanes per vector and K vectors in
   flight to hide the multiply's latency, as php_mt_seed does. Only the state words the needed
   outputs read are kept (output k reads mt[k], mt[k+1] and mt[k+397], k < 227).

   A draw's value from a word (draws.py's word_value) is computed in double precision so it
   vectorises; every quantity is an integer below 2^53, so it is exact:
     r = (w >> shift) & mask, certain = r <= limit, then
     MOD:    v = r mod m                  (mod, randint, randrange, mt_rand, nextint)
     MUL:    v = floor(r * m / 2^31)      (nextint of a power of two m)
     LEGACY: v = trunc(m * (r / 2^31))    (PHP < 7.1 mt_rand: span * (n / 2^31))
   and v + base is compared with the observed draw. Where a draw rejects a word, numba's kernel
   flags the seed; this one follows the draw to its next words (rescue), as far as the words
   kept reach, so it flags a subset of numba's flags and never drops a seed that survives. */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define V 16          /* 32-bit lanes per vector */
#ifndef K
#define K 16          /* vectors in flight: 16 measured ~6% faster than 8 or 12 on Zen 4 */
#endif
#define G (V * K)     /* seeds per group */
#define N_STATE 624

typedef uint32_t vu __attribute__((vector_size(V * 4)));

enum { MODE_MOD = 0, MODE_MUL = 1, MODE_LEGACY = 2 };

/* The draw's value parameters: shift, mask, mode, m, base, limit (all int64). */
typedef struct {
    uint32_t shift, mask;
    int64_t mode, m, base, limit;
} value_t;

/* floor(x) for 0 <= x < 2^51 without libm, so the loops vectorise: round to nearest by adding
   and removing 2^52, then step down if that rounded up. */
static inline double floor_pos(double x) {
    double t = (x + 0x1p52) - 0x1p52;
    return t > x ? t - 1.0 : t;
}

static inline uint32_t temper(uint32_t w) {
    w ^= w >> 11;
    w ^= (w << 7) & 0x9D2C5680u;
    w ^= (w << 15) & 0xEFC60000u;
    w ^= w >> 18;
    return w;
}

/* A draw's value from r = (w >> shift) & mask, one helper per mode (see the top comment). */
static inline double v_mod(uint32_t r, double md, double inv) {
    double rd = (double)r, q = (rd * inv + 0x1p52) - 0x1p52, v = rd - q * md;
    /* rd * inv is within 2^-20 of r / m, so rounding gives floor or floor + 1 */
    return v < 0 ? v + md : v;
}
static inline double v_mul(uint32_t r, double scale) { return floor_pos((double)r * scale); }
static inline double v_legacy(uint32_t r, double md) {
    return floor_pos(md * ((double)r / 2147483648.0));
}
static inline uint32_t v_limit(const value_t *vp) {
    return vp->limit > 0xFFFFFFFFll ? 0xFFFFFFFFu : (uint32_t)vp->limit;
}

/* One word's draw value (less base) and whether the draw accepts it: the scalar twin of judge's
   loops, for lanes whose words were rejected (see rescue). */
static inline double value1(uint32_t w, const value_t *vp, int *certain) {
    const double md = (double)vp->m;
    uint32_t r = (w >> vp->shift) & vp->mask;
    *certain = r <= v_limit(vp);
    if (vp->mode == MODE_MOD) return v_mod(r, md, 1.0 / md);
    if (vp->mode == MODE_MUL) return v_mul(r, md / 2147483648.0);
    return v_legacy(r, md);
}

/* Misses of the lanes at one draw; `lost` marks lanes whose word was rejected earlier.
   The parameters are copied to locals so gcc can vectorise (it cannot prove the stores below
   leave *vp alone). */
static void judge(const uint32_t *restrict w, const value_t *vp, double want,
                  int32_t *restrict misses, uint8_t *restrict lost) {
    const double md = (double)vp->m, inv = 1.0 / md, want0 = want - (double)vp->base;
    const double scale = md / 2147483648.0;
    const uint32_t shift = vp->shift, mask = vp->mask, lim = v_limit(vp);
    switch (vp->mode) {
    case MODE_MOD:
        for (int j = 0; j < G; j++) {
            uint32_t r = (w[j] >> shift) & mask;
            lost[j] |= r > lim;
            misses[j] += !lost[j] & (v_mod(r, md, inv) != want0);
        }
        break;
    case MODE_MUL:
        for (int j = 0; j < G; j++) {
            uint32_t r = (w[j] >> shift) & mask;
            lost[j] |= r > lim;
            misses[j] += !lost[j] & (v_mul(r, scale) != want0);
        }
        break;
    default:
        for (int j = 0; j < G; j++) {
            uint32_t r = (w[j] >> shift) & mask;
            lost[j] |= r > lim;
            misses[j] += !lost[j] & (v_legacy(r, md) != want0);
        }
    }
}

/* Output word k of lane j, from the state rows kept in rec. */
static inline uint32_t word_at(const uint32_t *rec, const int64_t *slot, int64_t k, int j,
                               int legacy) {
    uint32_t u = rec[(size_t)slot[k] * G + j], v = rec[(size_t)slot[k + 1] * G + j];
    uint32_t m = rec[(size_t)slot[k + 397] * G + j];
    uint32_t y = (u & 0x80000000u) | (v & 0x7FFFFFFFu);
    uint32_t low = (legacy ? u : v) & 1u;
    return temper(m ^ (y >> 1) ^ ((0u - low) & 0x9908B0DFu));
}

/* Lane j's exact verdict when a draw rejected a word, following the draw to the next words as
   the draw does (walkers.const_misses): 1 if some (offset, gap) passes, or if a draw would read
   past the `avail` words kept (undecided: stay conservative), else 0. */
static int rescue(const uint32_t *rec, const int64_t *slot, int64_t avail, int j, int legacy,
                  const value_t *vp, const int64_t *obs, const int64_t *p) {
    const int64_t max_misses = p[4], f = p[5];
    for (int64_t off = p[0]; off < p[1]; off++) {
        for (int64_t gap = p[2]; gap <= p[3]; gap++) {
            int64_t pos = off, misses = 0;
            for (int64_t i = 0; i < f && misses <= max_misses; i++) {
                if (i > 0) pos += gap;
                int certain = 0;
                double v = 0;
                while (!certain) {
                    if (pos >= avail) return 1;
                    v = value1(word_at(rec, slot, pos++, j, legacy), vp, &certain);
                }
                misses += v + (double)vp->base != (double)obs[i];
            }
            if (misses <= max_misses) return 1;
        }
    }
    return 0;
}

/* init_genrand(first + lane): the state words whose slot is set, into their rows of rec. */
static void rows_genrand(uint32_t first, uint32_t *rec, const int64_t *slot, int64_t top) {
    vu x[K];
    for (int k = 0; k < K; k++)
        for (int j = 0; j < V; j++) x[k][j] = first + (uint32_t)(k * V + j);
    if (slot[0] >= 0) memcpy(rec + (size_t)slot[0] * G, x, sizeof x);
    for (int64_t i = 1; i <= top; i++) {
        const uint32_t c = (uint32_t)i;
#pragma GCC unroll 16
        for (int k = 0; k < K; k++) x[k] = 1812433253u * (x[k] ^ (x[k] >> 30)) + c;
        if (slot[i] >= 0) memcpy(rec + (size_t)slot[i] * G, x, sizeof x);
    }
}

/* CPython's random.seed(first + lane) for seeds below 2^32: init_by_array with a one-word key
   (bitgen.mt19937._mt_init_by_array). Its first pass runs over i = 1..623 then 1 again, its
   second over 2..623 then 1, so every final word needs both passes in full (~1250 steps per
   seed, where slot has top + 1 entries); the first pass's words are kept in `pass1` (N_STATE rows) for the second. `a` holds
   init_genrand(19650218), the same for every seed. */
static void rows_by_array(uint32_t first, uint32_t *rec, const int64_t *slot, int64_t top,
                          uint32_t *pass1, const uint32_t *a) {
    vu x[K], key[K], m1[K];
    for (int k = 0; k < K; k++)
        for (int j = 0; j < V; j++) key[k][j] = first + (uint32_t)(k * V + j);
    for (int k = 0; k < K; k++) x[k] = (vu){} + a[0];
    for (int64_t i = 1; i < N_STATE; i++) {
        const uint32_t ai = a[i];
#pragma GCC unroll 16
        for (int k = 0; k < K; k++) x[k] = (ai ^ ((x[k] ^ (x[k] >> 30)) * 1664525u)) + key[k];
        memcpy(pass1 + (size_t)i * G, x, sizeof x);
    }
    /* mt[0] = mt[623], then the pass's last step, at i = 1 again */
    memcpy(m1, pass1 + G, sizeof m1);
    for (int k = 0; k < K; k++) x[k] = (m1[k] ^ ((x[k] ^ (x[k] >> 30)) * 1664525u)) + key[k];
    memcpy(m1, x, sizeof m1);
    for (int64_t i = 2; i < N_STATE; i++) {
        const uint32_t c = (uint32_t)i;
        const vu *old = (const vu *)(pass1 + (size_t)i * G);
#pragma GCC unroll 16
        for (int k = 0; k < K; k++) x[k] = (old[k] ^ ((x[k] ^ (x[k] >> 30)) * 1566083941u)) - c;
        if (i <= top && slot[i] >= 0) memcpy(rec + (size_t)slot[i] * G, x, sizeof x);
    }
    for (int k = 0; k < K; k++) x[k] = (m1[k] ^ ((x[k] ^ (x[k] >> 30)) * 1566083941u)) - 1u;
    if (top >= 1 && slot[1] >= 0) memcpy(rec + (size_t)slot[1] * G, x, sizeof x);
    for (int k = 0; k < K; k++) x[k] = (vu){} + 0x80000000u;
    if (slot[0] >= 0) memcpy(rec + (size_t)slot[0] * G, x, sizeof x);
}

/* Seeds start .. start+count-1 (count a multiple of G is not required). p as in prefilters:
   [off_start, off_stop, gap_min, gap_max, max_misses, n_filter_draws]. need: the sorted state
   indices kept, slot[i] their row (or -1), top = need[n_need-1]. ks/krow as in prefilters.
   vparams: shift, mask, mode, m, base, limit. legacy: PHP 5.2.1-7.0's twist. by_array: seeded
   as CPython's random.seed (seeds below 2^32), else init_genrand. avail: words 0..avail-1 have
   all their state rows kept, so a lane whose draw rejected a word is judged exactly (rescue)
   while its draws stay below it; 0 flags such lanes. Returns 0, or -1 when scratch memory
   fails. */
int mt_lazy_scan(uint64_t start, int64_t count, const int64_t *obs, const int64_t *p,
                 uint8_t *flags, const int64_t *ks, int64_t n_ks, const int64_t *krow,
                 const int64_t *slot, int64_t top, int64_t n_need, const int64_t *vparams,
                 int legacy, int by_array, int64_t avail) {
    const int64_t off_start = p[0], off_stop = p[1], gap_min = p[2], gap_max = p[3];
    const int64_t max_misses = p[4], f = p[5];
    value_t vp = {(uint32_t)vparams[0], (uint32_t)vparams[1], vparams[2], vparams[3],
                  vparams[4], vparams[5]};
    uint32_t *rec = aligned_alloc(64, sizeof(uint32_t) * G * (size_t)(n_need > 0 ? n_need : 1));
    uint32_t *words = aligned_alloc(64, sizeof(uint32_t) * G * (size_t)(n_ks > 0 ? n_ks : 1));
    uint32_t *pass1 = by_array ? aligned_alloc(64, sizeof(uint32_t) * G * N_STATE) : NULL;
    if (!rec || !words || (by_array && !pass1)) {
        free(rec);
        free(words);
        free(pass1);
        return -1;
    }
    uint32_t a[N_STATE]; /* init_genrand(19650218): init_by_array's starting state */
    a[0] = 19650218u;
    for (int i = 1; i < N_STATE; i++) a[i] = 1812433253u * (a[i - 1] ^ (a[i - 1] >> 30)) + i;
    int32_t misses[G];
    uint8_t lost[G], hit[G], anylost[G];
    const uint32_t one = 0x80000000u, lows = 0x7FFFFFFFu;
    for (int64_t g0 = 0; g0 < count; g0 += G) {
        uint32_t first = (uint32_t)(start + (uint64_t)g0);
        if (by_array)
            rows_by_array(first, rec, slot, top, pass1, a);
        else
            rows_genrand(first, rec, slot, top);
        for (int64_t r = 0; r < n_ks; r++) {
            const uint32_t *u = rec + (size_t)slot[ks[r]] * G;
            const uint32_t *v = rec + (size_t)slot[ks[r] + 1] * G;
            const uint32_t *m = rec + (size_t)slot[ks[r] + 397] * G;
            uint32_t *w = words + (size_t)r * G;
            for (int j = 0; j < G; j++) {
                uint32_t y = (u[j] & one) | (v[j] & lows);
                uint32_t low = (legacy ? u[j] : v[j]) & 1u;
                w[j] = temper(m[j] ^ (y >> 1) ^ ((0u - low) & 0x9908B0DFu));
            }
        }
        memset(hit, 0, sizeof hit);
        memset(anylost, 0, sizeof anylost);
        for (int64_t off = off_start; off < off_stop; off++) {
            for (int64_t gap = gap_min; gap <= gap_max; gap++) {
                memset(misses, 0, sizeof misses);
                memset(lost, 0, sizeof lost);
                for (int64_t i = 0; i < f; i++) {
                    const uint32_t *w = words + (size_t)krow[off + i * (gap + 1)] * G;
                    judge(w, &vp, (double)obs[i], misses, lost);
                    int alive = 0;
                    for (int j = 0; j < G; j++) alive |= misses[j] <= max_misses;
                    if (!alive) break; /* no lane can pass this (offset, gap) any more */
                }
                for (int j = 0; j < G; j++) hit[j] |= misses[j] <= max_misses;
                for (int j = 0; j < G; j++) anylost[j] |= lost[j];
            }
        }
        if (avail > 0)
            for (int j = 0; j < G; j++)
                if (hit[j] & anylost[j]) hit[j] = rescue(rec, slot, avail, j, legacy, &vp, obs, p);
        int64_t n = count - g0 < G ? count - g0 : G;
        memcpy(flags + g0, hit, (size_t)n);
    }
    free(rec);
    free(words);
    free(pass1);
    return 0;
}

/* Seeds per group: the Python side splits ranges between threads on these boundaries. */
int mt_lazy_group(void) { return G; }

/* judge() on single words, for the tests to hold against draws.py's word_value: for each word
   w[j], whether it is rejected (lost[j]) and else whether its draw differs from want[j]; -1 in
   missed[j] when value1 (rescue's scalar twin) disagrees with judge. */
void mt_judge(const uint32_t *w, int64_t n, const int64_t *vparams, const int64_t *want,
              int32_t *missed, uint8_t *rejected) {
    value_t vp = {(uint32_t)vparams[0], (uint32_t)vparams[1], vparams[2], vparams[3],
                  vparams[4], vparams[5]};
    uint32_t lane[G];
    int32_t misses[G];
    uint8_t lost[G];
    for (int64_t j = 0; j < n; j++) {
        for (int i = 0; i < G; i++) lane[i] = w[j];
        memset(lost, 0, sizeof lost);
        memset(misses, 0, sizeof misses);
        judge(lane, &vp, (double)want[j], misses, lost);
        missed[j] = misses[0];
        rejected[j] = lost[0];
        int certain;
        double v = value1(w[j], &vp, &certain) + (double)vp.base;
        if (certain != !lost[0] || (certain && (v != (double)want[j]) != misses[0]))
            missed[j] = -1;
    }
}
