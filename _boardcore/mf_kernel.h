/* Inner loop of the compiled MF kernel (mf_c.pyx): the correlation of one 5 ms sub-block
 * (40 samples) with the six signalling frequencies, plus its energy, four channels at a time.
 *
 * The sub-block is folded about its centre c = 19.5: with d = i + 1/2 and
 * u_i = x[c + d] + x[c - d], v_i = x[c + d] - x[c - d] (i = 0..19),
 *     sum_m x[m] exp(-j w m) = exp(-j w c) (sum_i u_i cos(w d) - j sum_i v_i sin(w d)),
 * so a sub-block costs 20 x 12 multiply-adds instead of 40 x 12 (the caller applies
 * exp(-j w c) together with its phase reference). fold[i][2k] = cos(w_k d_i),
 * fold[i][2k + 1] = -sin(w_k d_i); each row multiplies (u, v, u, v) in 3 x 4 doubles, and
 * four channels share every row loaded (12 accumulators). GCC vector extensions; on
 * x86-64 Linux GCC also builds an x86-64-v3 clone (AVX2 + FMA) picked at load time. The
 * energy is exact: sum (u^2 + v^2) / 2, integers below 2^53 in double precision. Other
 * compilers get the plain loop. */
#ifndef BOARDCORE_MF_KERNEL_H
#define BOARDCORE_MF_KERNEL_H

#include <stdint.h>
#include <string.h>

#define MFK_SUB 40
#define MFK_HALF 20
#define MFK_COLS 12
#define MFK_LANES 4

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MFK_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define MFK_CLONES
#endif

#if defined(__GNUC__)
typedef double mfk_v4d __attribute__((vector_size(32)));
typedef int16_t mfk_v4s __attribute__((vector_size(8)));
typedef int32_t mfk_v4i __attribute__((vector_size(16)));

/* Channels l < n (n <= MFK_LANES) of src[0..n-1], 40 samples each: acc[l][2k] + j acc[l][2k + 1]
 * = sum_i (u_i, v_i) . (cos, -sin)(w_k d_i) (the folded sums, not yet rotated by exp(-j w c));
 * en[l] = sum_m src[l][m]^2. */
MFK_CLONES static void mfk_subblocks(const int16_t *const *src, int n, const double (*fold)[MFK_COLS],
                                     double (*acc)[MFK_COLS], double *en)
{
    double uv[MFK_LANES][MFK_HALF][4] __attribute__((aligned(32)));   /* (u, v, u, v) per pair */
    for (int l = 0; l < MFK_LANES; l++) {
        /* a missing channel (l >= n) repeats the last one; its sums are not stored */
        const int16_t *x = src[l < n ? l : n - 1];
        mfk_v4d e = {0, 0, 0, 0};
        for (int i = 0; i < MFK_HALF; i += 4) {
            mfk_v4s up, dn;
            memcpy(&up, x + MFK_HALF + i, sizeof up);          /* x[c + d], d = i + 1/2 .. */
            memcpy(&dn, x + MFK_HALF - 4 - i, sizeof dn);      /* x[c - d], reversed */
            dn = __builtin_shufflevector(dn, dn, 3, 2, 1, 0);
            mfk_v4i ui = __builtin_convertvector(up, mfk_v4i), di = __builtin_convertvector(dn, mfk_v4i);
            mfk_v4d u = __builtin_convertvector(ui + di, mfk_v4d), v = __builtin_convertvector(ui - di, mfk_v4d);
            e += u * u + v * v;
            mfk_v4d lo = __builtin_shufflevector(u, v, 0, 4, 0, 4), hi = __builtin_shufflevector(u, v, 1, 5, 1, 5);
            memcpy(uv[l][i], &lo, sizeof lo);
            memcpy(uv[l][i + 1], &hi, sizeof hi);
            lo = __builtin_shufflevector(u, v, 2, 6, 2, 6);
            hi = __builtin_shufflevector(u, v, 3, 7, 3, 7);
            memcpy(uv[l][i + 2], &lo, sizeof lo);
            memcpy(uv[l][i + 3], &hi, sizeof hi);
        }
        en[l] = ((e[0] + e[1]) + (e[2] + e[3])) * 0.5;
    }
    mfk_v4d a[MFK_LANES][3];
    for (int l = 0; l < MFK_LANES; l++)
        a[l][0] = a[l][1] = a[l][2] = (mfk_v4d) {0, 0, 0, 0};
    for (int i = 0; i < MFK_HALF; i++) {
        mfk_v4d t0, t1, t2;
        memcpy(&t0, &fold[i][0], sizeof t0);
        memcpy(&t1, &fold[i][4], sizeof t1);
        memcpy(&t2, &fold[i][8], sizeof t2);
        for (int l = 0; l < MFK_LANES; l++) {
            mfk_v4d w;
            memcpy(&w, uv[l][i], sizeof w);
            a[l][0] += w * t0;
            a[l][1] += w * t1;
            a[l][2] += w * t2;
        }
    }
    for (int l = 0; l < n; l++) {
        memcpy(&acc[l][0], &a[l][0], sizeof a[l][0]);
        memcpy(&acc[l][4], &a[l][1], sizeof a[l][1]);
        memcpy(&acc[l][8], &a[l][2], sizeof a[l][2]);
    }
}
#else
static void mfk_subblocks(const int16_t *const *src, int n, const double (*fold)[MFK_COLS],
                          double (*acc)[MFK_COLS], double *en)
{
    for (int l = 0; l < n; l++) {
        double e = 0.0;
        for (int k = 0; k < MFK_COLS; k++)
            acc[l][k] = 0.0;
        for (int i = 0; i < MFK_HALF; i++) {
            double u = (double) src[l][MFK_HALF + i] + (double) src[l][MFK_HALF - 1 - i];
            double v = (double) src[l][MFK_HALF + i] - (double) src[l][MFK_HALF - 1 - i];
            e += u * u + v * v;
            for (int k = 0; k < MFK_COLS; k += 2) {
                acc[l][k] += u * fold[i][k];
                acc[l][k + 1] += v * fold[i][k + 1];
            }
        }
        en[l] = e * 0.5;
    }
}
#endif

#endif
