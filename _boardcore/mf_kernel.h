/* Inner loops of the compiled MF kernel (mf_c.pyx): the correlation of one 5 ms sub-block
 * (40 samples) with the six signalling frequencies, plus its energy, four channels at a
 * time (mfk_subblocks); then per channel the front of the decision (mfk_front): the phase
 * reference, the sliding 20 ms window, the tone powers and the strongest tone.
 *
 * The sub-block is folded about its centre c = 19.5: with d = i + 1/2 and
 * u_i = x[c + d] + x[c - d], v_i = x[c + d] - x[c - d] (i = 0..19),
 *     sum_m x[m] exp(-j w m) = exp(-j w c) (sum_i u_i cos(w d) - j sum_i v_i sin(w d)),
 * so a sub-block costs 20 x 12 multiply-adds instead of 40 x 12 (mfk_front applies
 * exp(-j w c) together with the phase reference). fold[i][k] = cos(w_k d_i),
 * fold[i][8 + k] = -sin(w_k d_i) (k < 6; columns 6, 7, 14, 15 are zero): one row is two
 * vectors of eight floats, u_i times the first and v_i times the second, and four channels
 * share every row loaded (8 accumulators: the loop is bound by the fused multiply-adds).
 * Single precision for the correlation (20 products of at most 2^16 x 1: relative error
 * ~1e-7, 140 dB below the tone, far below any threshold margin); the energy is exact
 * (integers), the rotation, window and powers are double, as in the twin.
 *
 * Layout of a channel's correlations from the rotation on ("columns", double[16]): real
 * parts of the six tones in 0..5, imaginary parts in 8..13, zeros in 6, 7, 14, 15.
 *
 * GCC vector extensions; on x86-64 Linux GCC also builds an x86-64-v3 clone (AVX2 + FMA)
 * picked at load time (target_clones, no -march flag). Other compilers get plain loops. */
#ifndef BOARDCORE_MF_KERNEL_H
#define BOARDCORE_MF_KERNEL_H

#include <stdint.h>
#include <string.h>
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#include <immintrin.h>
#define MFK_X86 1
#endif

#define MFK_SUB 40
#define MFK_HALF 20
#define MFK_COLS 16
#define MFK_LANES 4

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MFK_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MFK_CLONES
#endif

static inline double mfk_max(double a, double b)
{
    return a > b ? a : b;
}

/* The front of a channel's decision on one sub-block (inlined in mfk_subblocks, so built
 * for each of its targets), without branches (the strongest tone
 * over speech or noise is a coin toss: a compare-and-branch argmax mispredicts):
 *   z = o rotated by rot (the phase reference to the stream's origin times exp(-j w c)),
 *   wz = q4 + q5 + q6 + z (the 20 ms window: three earlier sub-blocks and this one),
 *   pw[k] = |wz_k|^2 * norm (k < 6).
 * o: the sub-block's folded sums (mfk_subblocks); rot, q4..q6, z, wz: columns (see above).
 * Returns the strongest tone (the first on ties, as a stable sort). */
static inline int mfk_front(const float *restrict o, const double *restrict rot,
                            const double *restrict q4, const double *restrict q5,
                            const double *restrict q6, double norm, double *restrict z,
                            double *restrict wz, double *restrict pw)
{
    for (int k = 0; k < 8; k++) {
        double ar = (double) o[k], ai = (double) o[8 + k];
        double zr = ar * rot[k] - ai * rot[8 + k], zi = ar * rot[8 + k] + ai * rot[k];
        z[k] = zr;
        z[8 + k] = zi;
    }
    for (int k = 0; k < MFK_COLS; k++)
        wz[k] = q4[k] + q5[k] + q6[k] + z[k];
    for (int k = 0; k < 6; k++)
        pw[k] = (wz[k] * wz[k] + wz[8 + k] * wz[8 + k]) * norm;
    double pa = mfk_max(mfk_max(mfk_max(pw[0], pw[1]), mfk_max(pw[2], pw[3])), mfk_max(pw[4], pw[5]));
    return __builtin_ctz((unsigned) ((pw[0] == pa) | (pw[1] == pa) << 1 | (pw[2] == pa) << 2
                                     | (pw[3] == pa) << 3 | (pw[4] == pa) << 4 | 32));
}

#if defined(__GNUC__)
typedef float mfk_v8f __attribute__((vector_size(32)));
typedef double mfk_v4d __attribute__((vector_size(32)));
typedef int16_t mfk_v8s __attribute__((vector_size(16)));
typedef int32_t mfk_v8i __attribute__((vector_size(32)));
typedef uint32_t mfk_v8u __attribute__((vector_size(32)));
typedef uint64_t mfk_v4q __attribute__((vector_size(32)));

/* One channel's fold (u[i], v[i], i < 20) and exact energy sum_m x[m]^2 (squares below 2^30,
 * added two at a time in 32 bits unsigned, then in 64-bit integers). */
MFK_CLONES static void mfk_prep_vec(const int16_t *x, float *u, float *v, int64_t *en)
{
    mfk_v4q e = {0, 0, 0, 0};
    for (int m = 0; m < MFK_SUB; m += 8) {
        mfk_v8s s;
        memcpy(&s, x + m, sizeof s);
        mfk_v8i a = __builtin_convertvector(s, mfk_v8i);
        mfk_v8u q = (mfk_v8u) (a * a);
        q = __builtin_shufflevector(q, q, 0, 1, 2, 3, 4, 5, 6, 7)
          + __builtin_shufflevector(q, q, 4, 5, 6, 7, 0, 1, 2, 3);
        e += __builtin_convertvector(__builtin_shufflevector(q, q, 0, 1, 2, 3), mfk_v4q);
    }
    *en = (int64_t) ((e[0] + e[1]) + (e[2] + e[3]));
    for (int j = 0; j < 3; j++) {
        int i = j < 2 ? 8 * j : MFK_HALF - 8;          /* 0, 8, 12: the last overlaps */
        mfk_v8s up, dn;
        memcpy(&up, x + MFK_HALF + i, sizeof up);      /* x[c + d], d = i + 1/2 .. */
        memcpy(&dn, x + MFK_HALF - 8 - i, sizeof dn);  /* x[c - d], reversed */
        dn = __builtin_shufflevector(dn, dn, 7, 6, 5, 4, 3, 2, 1, 0);
        mfk_v8i ui = __builtin_convertvector(up, mfk_v8i), di = __builtin_convertvector(dn, mfk_v8i);
        mfk_v8f uf = __builtin_convertvector(ui + di, mfk_v8f), vf = __builtin_convertvector(ui - di, mfk_v8f);
        memcpy(u + i, &uf, sizeof uf);
        memcpy(v + i, &vf, sizeof vf);
    }
}

#ifdef MFK_X86
/* The same with AVX2 intrinsics (GCC's vector code widened int16 through 128-bit halves):
 * pmaddwd for the energy (a pair of squares is below 2^31: read unsigned), one widening
 * per load. Chosen at run time when the CPU has AVX2. */
__attribute__((target("avx2"))) static void mfk_prep_avx2(const int16_t *x, float *u, float *v, int64_t *en)
{
    __m256i q0 = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *) x),
                                   _mm256_loadu_si256((const __m256i *) x));
    __m256i q1 = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *) (x + 16)),
                                   _mm256_loadu_si256((const __m256i *) (x + 16)));
    __m128i t = _mm_loadu_si128((const __m128i *) (x + 32));
    __m128i q2 = _mm_madd_epi16(t, t);
    __m256i e = _mm256_add_epi64(_mm256_cvtepu32_epi64(_mm256_castsi256_si128(q0)),
                                 _mm256_cvtepu32_epi64(_mm256_extracti128_si256(q0, 1)));
    e = _mm256_add_epi64(e, _mm256_cvtepu32_epi64(_mm256_castsi256_si128(q1)));
    e = _mm256_add_epi64(e, _mm256_cvtepu32_epi64(_mm256_extracti128_si256(q1, 1)));
    e = _mm256_add_epi64(e, _mm256_cvtepu32_epi64(q2));
    __m128i s = _mm_add_epi64(_mm256_castsi256_si128(e), _mm256_extracti128_si256(e, 1));
    *en = _mm_cvtsi128_si64(s) + _mm_extract_epi64(s, 1);
    const __m128i rev = _mm_setr_epi8(14, 15, 12, 13, 10, 11, 8, 9, 6, 7, 4, 5, 2, 3, 0, 1);
    for (int j = 0; j < 3; j++) {
        int i = j < 2 ? 8 * j : MFK_HALF - 8;
        __m256i ui = _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *) (x + MFK_HALF + i)));
        __m256i di = _mm256_cvtepi16_epi32(_mm_shuffle_epi8(
            _mm_loadu_si128((const __m128i *) (x + MFK_HALF - 8 - i)), rev));
        _mm256_storeu_ps(u + i, _mm256_cvtepi32_ps(_mm256_add_epi32(ui, di)));
        _mm256_storeu_ps(v + i, _mm256_cvtepi32_ps(_mm256_sub_epi32(ui, di)));
    }
}
#endif

static void mfk_prep(const int16_t *x, float *u, float *v, int64_t *en)
{
#ifdef MFK_X86
    if (__builtin_cpu_supports("avx2")) {
        mfk_prep_avx2(x, u, v, en);
        return;
    }
#endif
    mfk_prep_vec(x, u, v, en);
}

/* Channels l < n (n <= MFK_LANES) of src[0..n-1], 40 samples each: the folded sums
 * o[k] + j o[8 + k] = sum_i (u_i cos(w_k d_i) - j v_i sin(w_k d_i)), then per channel the
 * front of its decision (mfk_front: rot, the channel's three previous sub-blocks
 * prev[3 l .. 3 l + 2], norm) into z[l] (the channel's next ring slot), wz[l], pw[l],
 * strongest[l]; en[l] = sum_m src[l][m]^2. */
MFK_CLONES static void mfk_subblocks(const int16_t *const *src, int n, const float (*fold)[MFK_COLS],
                                     const double *rot, const double *const *prev, double norm,
                                     double *const *z, double (*wz)[MFK_COLS], double (*pw)[8],
                                     int *strongest, int64_t *en)
{
    float out[MFK_LANES][MFK_COLS] __attribute__((aligned(32)));
    float u[MFK_LANES][MFK_HALF] __attribute__((aligned(32)));
    float v[MFK_LANES][MFK_HALF] __attribute__((aligned(32)));
    int64_t e[MFK_LANES];
    /* a missing channel (l >= n) repeats the last one; its sums are not stored */
    for (int l = 0; l < MFK_LANES; l++)
        mfk_prep(src[l < n ? l : n - 1], u[l], v[l], &e[l]);
    mfk_v8f a[MFK_LANES][2];
    for (int l = 0; l < MFK_LANES; l++)
        a[l][0] = a[l][1] = (mfk_v8f) {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < MFK_HALF; i++) {
        mfk_v8f t0, t1;
        memcpy(&t0, &fold[i][0], sizeof t0);
        memcpy(&t1, &fold[i][8], sizeof t1);
        for (int l = 0; l < MFK_LANES; l++) {
            a[l][0] += u[l][i] * t0;
            a[l][1] += v[l][i] * t1;
        }
    }
    for (int l = 0; l < n; l++) {
        memcpy(&out[l][0], &a[l][0], sizeof a[l][0]);
        memcpy(&out[l][8], &a[l][1], sizeof a[l][1]);
        en[l] = e[l];
        strongest[l] = mfk_front(out[l], rot, prev[3 * l], prev[3 * l + 1], prev[3 * l + 2], norm,
                                 z[l], wz[l], pw[l]);
    }
}
#else
static void mfk_subblocks(const int16_t *const *src, int n, const float (*fold)[MFK_COLS],
                          const double *rot, const double *const *prev, double norm,
                          double *const *z, double (*wz)[MFK_COLS], double (*pw)[8],
                          int *strongest, int64_t *en)
{
    float out[MFK_LANES][MFK_COLS];
    for (int l = 0; l < n; l++) {
        int64_t e = 0;
        for (int m = 0; m < MFK_SUB; m++)
            e += (int64_t) src[l][m] * src[l][m];
        en[l] = e;
        for (int k = 0; k < MFK_COLS; k++)
            out[l][k] = 0.0f;
        for (int i = 0; i < MFK_HALF; i++) {
            float u = (float) src[l][MFK_HALF + i] + (float) src[l][MFK_HALF - 1 - i];
            float v = (float) src[l][MFK_HALF + i] - (float) src[l][MFK_HALF - 1 - i];
            for (int k = 0; k < 8; k++) {
                out[l][k] += u * fold[i][k];
                out[l][8 + k] += v * fold[i][8 + k];
            }
        }
        strongest[l] = mfk_front(out[l], rot, prev[3 * l], prev[3 * l + 1], prev[3 * l + 2], norm,
                                 z[l], wz[l], pw[l]);
    }
}
#endif

/* Ask for a block's next rows (bytes each, rows apart by stride bytes) ahead of their turn:
 * a batch call walks a fresh (channels, n) array row group by row group. */
static inline void mfk_prefetch(const int16_t *first, int rows, long stride, long bytes)
{
    for (int r = 0; r < rows; r++)
        for (long b = 0; b < bytes; b += 64)
            __builtin_prefetch((const char *) first + r * stride + b);
}

/* The same for one object (a channel's state) of ``bytes`` bytes. */
static inline void mfk_prefetch_obj(const void *p, long bytes)
{
    for (long b = 0; b < bytes; b += 64)
        __builtin_prefetch((const char *) p + b, 1);
}

#endif
