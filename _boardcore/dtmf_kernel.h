/* Inner loops of the compiled DTMF kernel (dtmf_c.pyx): one 10 ms sub-block (80 samples)
 * against the cos / -sin table of the eight DTMF frequencies, per half, plus its energy.
 *
 * dtk_subblocks runs DTK_LANES = 4 channels at once (register blocking: each table row
 * feeds the four channels' accumulators; the 16 columns are the vector lanes, so no
 * transpose is needed: with the channels in the lanes instead, transposing the samples
 * cost as much as the arithmetic). GCC vector extensions; on x86-64 Linux GCC also
 * builds an x86-64-v3 clone (AVX2 + FMA, one fused multiply-add per lane and table entry)
 * picked at load time, no -march flag. Single precision is ample: 80 products of at most
 * 2^16 x 1 each (relative error ~1e-7, far below any threshold margin; the FMA and plain
 * clones differ only at that level). The energy is exact: squares below 2^30, summed two
 * at a time in 32 bits unsigned, then in 64-bit integers. A channel's fold and energy
 * (dtk_prep) use AVX2 intrinsics when the CPU has them (checked at run time), the
 * vector-extension code otherwise: the same integers and floats either way. */
#ifndef BOARDCORE_DTMF_KERNEL_H
#define BOARDCORE_DTMF_KERNEL_H

#include <stdint.h>
#include <string.h>
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#include <immintrin.h>
#define DTK_X86 1
#endif

#define DTK_SUB 80
#define DTK_COLS 16

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define DTK_CLONES __attribute__((target_clones("avx2", "default")))
#define DTK_CLONES_FMA __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define DTK_CLONES
#define DTK_CLONES_FMA
#endif

#define DTK_LANES 4
#define DTK_HALF 20            /* sample pairs folded per half sub-block */

static inline double dtk_max(double a, double b)
{
    return a > b ? a : b;
}

/* The cheap tests of a sub-block's decision (dtmf_c's _decide), without branches (inlined in
 * dtk_subblocks, so built for each of its targets): the
 * strongest tone of a group over noise or speech is a coin toss, and the compare-and-branch
 * argmax mispredicted about half its branches (a quarter of the decision's cycles).
 * h: the sub-block's half sums (dtk_subblocks); prev: the previous sub-block's tone powers,
 * overwritten with this one's, pw[k] = |X_k|^2 * f->norm, X_k = the two halves' sum (double,
 * as the twin). kl, kh: the strongest tone of the low / high group (the first on ties, as
 * numpy's argmax). Returns the level, twist (this and the previous sub-block together) and
 * energy-ratio tests on them. */
typedef struct {
    double norm, level_on, twist_lo, twist_hi, ratio_on;
} dtk_figs;

static inline int dtk_screen(const float *h, double *prev, double en, const dtk_figs *f,
                             int *kl, int *kh)
{
    double pw[8];
    for (int k = 0; k < 8; k++) {
        double zr = (double) (h[k] + h[DTK_COLS + k]), zi = (double) (h[8 + k] + h[DTK_COLS + 8 + k]);
        pw[k] = (zr * zr + zi * zi) * f->norm;
    }
    /* the largest power of each group (max: no branch), then the first tone that has it */
    double bl = dtk_max(dtk_max(pw[0], pw[1]), dtk_max(pw[2], pw[3]));
    double bh = dtk_max(dtk_max(pw[4], pw[5]), dtk_max(pw[6], pw[7]));
    int il = __builtin_ctz((unsigned) ((pw[0] == bl) | (pw[1] == bl) << 1 | (pw[2] == bl) << 2 | 8));
    int ih = 4 + __builtin_ctz((unsigned) ((pw[4] == bh) | (pw[5] == bh) << 1 | (pw[6] == bh) << 2 | 8));
    double tl = bl + prev[il], th = bh + prev[ih];
    memcpy(prev, pw, sizeof pw);
    *kl = il;
    *kh = ih;
    return (bl >= f->level_on) & (bh >= f->level_on) & (th >= tl * f->twist_lo)
           & (th <= tl * f->twist_hi) & (bl + bh >= f->ratio_on * en);
}

#if defined(__GNUC__)
typedef float dtk_v8f __attribute__((vector_size(32)));
typedef double dtk_v4d __attribute__((vector_size(32)));
typedef int16_t dtk_v8s __attribute__((vector_size(16)));
typedef float dtk_v4f __attribute__((vector_size(16)));
typedef int32_t dtk_v8i __attribute__((vector_size(32)));
typedef uint32_t dtk_v8u __attribute__((vector_size(32)));
typedef uint64_t dtk_v4q __attribute__((vector_size(32)));

/* One channel's fold (uv[h][0] = u, uv[h][1] = v per half) and exact energy. */
DTK_CLONES_FMA static void dtk_prep_vec(const int16_t *x, float (*uv)[2][DTK_HALF], int64_t *en)
{
    dtk_v4q e = {0, 0, 0, 0};
    for (int m = 0; m < DTK_SUB; m += 16) {
        dtk_v8s s0, s1;
        memcpy(&s0, x + m, sizeof s0);
        memcpy(&s1, x + m + 8, sizeof s1);
        dtk_v8i a0 = __builtin_convertvector(s0, dtk_v8i), a1 = __builtin_convertvector(s1, dtk_v8i);
        dtk_v8u q = (dtk_v8u) (a0 * a0) + (dtk_v8u) (a1 * a1);
        e += __builtin_convertvector(__builtin_shufflevector(q, q, 0, 1, 2, 3), dtk_v4q)
           + __builtin_convertvector(__builtin_shufflevector(q, q, 4, 5, 6, 7), dtk_v4q);
    }
    *en = (int64_t) ((e[0] + e[1]) + (e[2] + e[3]));
    for (int h = 0; h < 2; h++) {
        const int16_t *base = x + h * DTK_SUB / 2;
        for (int j = 0; j < 3; j++) {
            int i = j < 2 ? 8 * j : DTK_HALF - 8;
            dtk_v8s up, dn;
            memcpy(&up, base + DTK_HALF + i, sizeof up);
            memcpy(&dn, base + DTK_HALF - 8 - i, sizeof dn);
            dn = __builtin_shufflevector(dn, dn, 7, 6, 5, 4, 3, 2, 1, 0);
            dtk_v8i ui = __builtin_convertvector(up, dtk_v8i), di = __builtin_convertvector(dn, dtk_v8i);
            dtk_v8f u = __builtin_convertvector(ui + di, dtk_v8f);
            dtk_v8f w = __builtin_convertvector(ui - di, dtk_v8f);
            memcpy(&uv[h][0][i], &u, sizeof u);
            memcpy(&uv[h][1][i], &w, sizeof w);
        }
    }
}

#ifdef DTK_X86
/* The same with AVX2 intrinsics: pmaddwd for the energy (a pair of squares is below 2^31,
 * read unsigned), one widening per load. Chosen at run time when the CPU has AVX2. */
__attribute__((target("avx2"))) static void dtk_prep_avx2(const int16_t *x, float (*uv)[2][DTK_HALF],
                                                          int64_t *en)
{
    __m256i e = _mm256_setzero_si256();
    for (int m = 0; m < DTK_SUB; m += 16) {
        __m256i a = _mm256_loadu_si256((const __m256i *) (x + m));
        __m256i q = _mm256_madd_epi16(a, a);
        e = _mm256_add_epi64(e, _mm256_cvtepu32_epi64(_mm256_castsi256_si128(q)));
        e = _mm256_add_epi64(e, _mm256_cvtepu32_epi64(_mm256_extracti128_si256(q, 1)));
    }
    __m128i s = _mm_add_epi64(_mm256_castsi256_si128(e), _mm256_extracti128_si256(e, 1));
    *en = _mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1);
    const __m128i rev = _mm_setr_epi8(14, 15, 12, 13, 10, 11, 8, 9, 6, 7, 4, 5, 2, 3, 0, 1);
    for (int h = 0; h < 2; h++) {
        const int16_t *base = x + h * DTK_SUB / 2;
        for (int j = 0; j < 3; j++) {
            int i = j < 2 ? 8 * j : DTK_HALF - 8;
            __m256i ui = _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *) (base + DTK_HALF + i)));
            __m256i di = _mm256_cvtepi16_epi32(_mm_shuffle_epi8(
                _mm_loadu_si128((const __m128i *) (base + DTK_HALF - 8 - i)), rev));
            _mm256_storeu_ps(&uv[h][0][i], _mm256_cvtepi32_ps(_mm256_add_epi32(ui, di)));
            _mm256_storeu_ps(&uv[h][1][i], _mm256_cvtepi32_ps(_mm256_sub_epi32(ui, di)));
        }
    }
}
#endif

static void dtk_prep(const int16_t *x, float (*uv)[2][DTK_HALF], int64_t *en)
{
#ifdef DTK_X86
    if (__builtin_cpu_supports("avx2")) {
        dtk_prep_avx2(x, uv, en);
        return;
    }
#endif
    dtk_prep_vec(x, uv, en);
}

/* Channels l < n (n <= DTK_LANES) of src[0..n-1], 80 samples each (out[l] points at 32 floats:
 * the caller passes each channel's next history slot, so nothing is copied after):
 * out[l][k] + j out[l][8 + k]
 * = sum_{m < 40} src[l][m] exp(-j w_k m), out[l][16 + k] + j out[l][24 + k] = the same over
 * m >= 40 (the two halves), en[l] = sum_m src[l][m]^2; then the cheap tests of each channel
 * (dtk_screen: prev[l] its previous tone powers, f the figures; screen[l] = kl, kh, result).
 *
 * Each half is folded about its centre c (c = 19.5 or 59.5): with d = i + 1/2 and
 * u_i = x[c + d] + x[c - d], v_i = x[c + d] - x[c - d] (i = 0..19),
 *     sum_m x[m] exp(-j w m) = exp(-j w c) (sum_i u_i cos(w d) - j sum_i v_i sin(w d)),
 * so a half costs 20 x 16 multiply-adds instead of 40 x 16: fold[i][k] = cos(w_k d_i),
 * fold[i][8 + k] = -sin(w_k d_i); rot[h][k] = cos(w_k c_h), rot[h][8 + k] = sin(w_k c_h).
 * The 8 frequencies are the vector lanes; four channels run together so that each table
 * row, loaded once, feeds 8 fused multiply-adds (the loop is bound by the FMA units). */
DTK_CLONES_FMA static void dtk_subblocks(const int16_t *const *src, int n,
                                         const float (*fold)[DTK_COLS],
                                         const float (*rot)[DTK_COLS],
                                         float *const *out, int64_t *en, double *const *prev,
                                         const dtk_figs *f, int (*screen)[3])
{
    float uv[DTK_LANES][2][2][DTK_HALF] __attribute__((aligned(32)));   /* [l][h][u, v][i] */
    for (int l = 0; l < DTK_LANES; l++)
        dtk_prep(src[l < n ? l : n - 1], uv[l], &en[l]);
    for (int h = 0; h < 2; h++) {
        dtk_v8f a[DTK_LANES][2], c, sn;
        for (int l = 0; l < DTK_LANES; l++)
            a[l][0] = a[l][1] = (dtk_v8f) {0, 0, 0, 0, 0, 0, 0, 0};
        for (int i = 0; i < DTK_HALF; i++) {
            dtk_v8f t0, t1;
            memcpy(&t0, &fold[i][0], sizeof t0);
            memcpy(&t1, &fold[i][8], sizeof t1);
            for (int l = 0; l < DTK_LANES; l++) {
                a[l][0] += uv[l][h][0][i] * t0;
                a[l][1] += uv[l][h][1][i] * t1;
            }
        }
        memcpy(&c, &rot[h][0], sizeof c);
        memcpy(&sn, &rot[h][8], sizeof sn);
        for (int l = 0; l < n; l++) {
            dtk_v8f re = a[l][0] * c + a[l][1] * sn, im = a[l][1] * c - a[l][0] * sn;
            memcpy(&out[l][DTK_COLS * h], &re, sizeof re);
            memcpy(&out[l][DTK_COLS * h + 8], &im, sizeof im);
        }
    }
    for (int l = 0; l < n; l++)
        screen[l][2] = dtk_screen(out[l], prev[l], (double) en[l], f, &screen[l][0], &screen[l][1]);
}

/* The harmonic-neighbour test of a good sub-block: acc[j] = sum_m src[m] * tab[m][j] for
 * the 8 Hann-windowed DFT columns (single precision, like the sub-block correlation: the
 * test has a 16 dB margin). Four partial sums (m mod 4) break the add chain that made
 * this the hottest loop of a sub-block holding a digit. */
DTK_CLONES static void dtk_neighbours(const int16_t *src, const float (*tab)[8], double *acc)
{
    dtk_v8f a[4] = {{0, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0},
                    {0, 0, 0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0, 0, 0}}, t;
    for (int m = 0; m < DTK_SUB; m += 4) {
        for (int q = 0; q < 4; q++) {
            float v = (float) src[m + q];
            dtk_v8f vv = {v, v, v, v, v, v, v, v};
            memcpy(&t, &tab[m + q][0], sizeof t);
            a[q] += vv * t;
        }
    }
    a[0] = (a[0] + a[1]) + (a[2] + a[3]);
    for (int j = 0; j < 8; j++)
        acc[j] = (double) a[0][j];
}
#else
static void dtk_subblocks(const int16_t *const *src, int n, const float (*fold)[DTK_COLS],
                          const float (*rot)[DTK_COLS], float *const *out, int64_t *en,
                          double *const *prev, const dtk_figs *f, int (*screen)[3])
{
    for (int l = 0; l < n; l++) {
        int64_t e = 0;
        for (int m = 0; m < DTK_SUB; m++)
            e += (int64_t) src[l][m] * src[l][m];
        en[l] = e;
        for (int h = 0; h < 2; h++) {
            const int16_t *base = src[l] + h * DTK_SUB / 2;
            float r[8] = {0}, q[8] = {0};
            for (int i = 0; i < DTK_HALF; i++) {
                float u = (float) base[DTK_HALF + i] + (float) base[DTK_HALF - 1 - i];
                float v = (float) base[DTK_HALF + i] - (float) base[DTK_HALF - 1 - i];
                for (int k = 0; k < 8; k++) {
                    r[k] += u * fold[i][k];
                    q[k] += v * fold[i][8 + k];
                }
            }
            for (int k = 0; k < 8; k++) {
                out[l][DTK_COLS * h + k] = r[k] * rot[h][k] + q[k] * rot[h][8 + k];
                out[l][DTK_COLS * h + 8 + k] = q[k] * rot[h][k] - r[k] * rot[h][8 + k];
            }
        }
        screen[l][2] = dtk_screen(out[l], prev[l], (double) en[l], f, &screen[l][0], &screen[l][1]);
    }
}

static void dtk_neighbours(const int16_t *src, const float (*tab)[8], double *acc)
{
    float a[4][8] = {{0}};
    for (int m = 0; m < DTK_SUB; m += 4)
        for (int q = 0; q < 4; q++)
            for (int j = 0; j < 8; j++)
                a[q][j] += (float) src[m + q] * tab[m + q][j];
    for (int j = 0; j < 8; j++)
        acc[j] = (double) ((a[0][j] + a[1][j]) + (a[2][j] + a[3][j]));
}
#endif

/* Ask for a block's next rows (bytes each, rows apart by stride bytes) ahead of their turn:
 * a batch call walks a fresh (channels, n) array row group by row group. */
static inline void dtk_prefetch(const int16_t *first, int rows, long stride, long bytes)
{
    for (int r = 0; r < rows; r++)
        for (long b = 0; b < bytes; b += 64)
            __builtin_prefetch((const char *) first + r * stride + b);
}

/* The same for one object (a channel's state) of ``bytes`` bytes. */
static inline void dtk_prefetch_obj(const void *p, long bytes)
{
    for (long b = 0; b < bytes; b += 64)
        __builtin_prefetch((const char *) p + b, 1);
}

#endif
