/* Inner loop of the compiled DTMF kernel (dtmf_c.pyx): one 10 ms sub-block (80 samples)
 * against the cos / -sin table of the eight DTMF frequencies, per half, plus its energy.
 *
 * GCC vector extensions run the 16 columns as 2 x 8 floats; on x86-64 Linux GCC also
 * builds an AVX2 clone picked at load time (no -march flag needed). Single precision is
 * ample: 80 products of at most 2^15 each (relative error ~1e-7, far below any threshold
 * margin). The energy is summed exactly in 64-bit integers. */
#ifndef BOARDCORE_DTMF_KERNEL_H
#define BOARDCORE_DTMF_KERNEL_H

#include <stdint.h>
#include <string.h>

#define DTK_SUB 80
#define DTK_COLS 16

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define DTK_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define DTK_CLONES
#endif

#if defined(__GNUC__)
typedef float dtk_v8f __attribute__((vector_size(32)));

/* acc[k] = sum_{m < 40} src[m] * table[m][k], acc[16 + k] = the same over m >= 40, for the
 * 16 columns (the two halves give the coarse frequency estimate); *en = sum_m src[m]^2 */
DTK_CLONES static void dtk_subblock(const int16_t *src, const float (*table)[DTK_COLS],
                                    float *acc, int64_t *en)
{
    int64_t e = 0;
    for (int h = 0; h < 2; h++) {
        dtk_v8f a0 = {0, 0, 0, 0, 0, 0, 0, 0}, a1 = a0, b0 = a0, b1 = a0, t0, t1, t2, t3;
        for (int m = h * DTK_SUB / 2; m < (h + 1) * DTK_SUB / 2; m += 2) {
            float v = (float) src[m], w = (float) src[m + 1];
            dtk_v8f vv = {v, v, v, v, v, v, v, v}, ww = {w, w, w, w, w, w, w, w};
            e += (int64_t) src[m] * src[m] + (int64_t) src[m + 1] * src[m + 1];
            memcpy(&t0, &table[m][0], sizeof t0);
            memcpy(&t1, &table[m][8], sizeof t1);
            memcpy(&t2, &table[m + 1][0], sizeof t2);
            memcpy(&t3, &table[m + 1][8], sizeof t3);
            a0 += vv * t0;
            a1 += vv * t1;
            b0 += ww * t2;
            b1 += ww * t3;
        }
        a0 += b0;
        a1 += b1;
        memcpy(&acc[16 * h], &a0, sizeof a0);
        memcpy(&acc[16 * h + 8], &a1, sizeof a1);
    }
    *en = e;
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

static void dtk_subblock(const int16_t *src, const float (*table)[DTK_COLS], float *acc, int64_t *en)
{
    int64_t e = 0;
    for (int k = 0; k < 2 * DTK_COLS; k++)
        acc[k] = 0.0f;
    for (int m = 0; m < DTK_SUB; m++) {
        float v = (float) src[m];
        float *out = acc + (m < DTK_SUB / 2 ? 0 : DTK_COLS);
        e += (int64_t) src[m] * src[m];
        for (int k = 0; k < DTK_COLS; k++)
            out[k] += v * table[m][k];
    }
    *en = e;
}
#endif

#endif
