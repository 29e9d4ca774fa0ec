/* Inner loop of the compiled MF kernel (mf_c.pyx): one 5 ms sub-block against the
 * per-frequency cos / -sin table, plus its energy.
 *
 * Written with GCC vector extensions so the 12 columns run as 3 x 4 doubles: the baseline
 * build uses SSE2 pairs; on x86-64 Linux GCC also builds an AVX2 clone and picks it at load
 * time (no -march flag needed). Multiply and add stay separate operations (no FMA), so
 * every clone computes the same sums. Other compilers get the plain loop. */
#ifndef BOARDCORE_MF_KERNEL_H
#define BOARDCORE_MF_KERNEL_H

#include <stdint.h>
#include <string.h>

#define MFK_SUB 40
#define MFK_COLS 12

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define MFK_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define MFK_CLONES
#endif

#if defined(__GNUC__)
typedef double mfk_v4d __attribute__((vector_size(32)));

/* acc[k] = sum_m src[m] * table[m][k] for the 12 columns; *en = sum_m src[m]^2 */
MFK_CLONES static void mfk_subblock(const int16_t *src, const double (*table)[MFK_COLS],
                                    double *acc, double *en)
{
    mfk_v4d a0 = {0.0, 0.0, 0.0, 0.0}, a1 = a0, a2 = a0, t0, t1, t2;
    double e = 0.0;
    for (int m = 0; m < MFK_SUB; m++) {
        double v = (double) src[m];
        mfk_v4d vv = {v, v, v, v};
        e += v * v;
        memcpy(&t0, &table[m][0], sizeof t0);
        memcpy(&t1, &table[m][4], sizeof t1);
        memcpy(&t2, &table[m][8], sizeof t2);
        a0 += vv * t0;
        a1 += vv * t1;
        a2 += vv * t2;
    }
    memcpy(&acc[0], &a0, sizeof a0);
    memcpy(&acc[4], &a1, sizeof a1);
    memcpy(&acc[8], &a2, sizeof a2);
    *en = e;
}
#else
static void mfk_subblock(const int16_t *src, const double (*table)[MFK_COLS], double *acc, double *en)
{
    double e = 0.0;
    for (int k = 0; k < MFK_COLS; k++)
        acc[k] = 0.0;
    for (int m = 0; m < MFK_SUB; m++) {
        double v = (double) src[m];
        e += v * v;
        for (int k = 0; k < MFK_COLS; k++)
            acc[k] += v * table[m][k];
    }
    *en = e;
}
#endif

#endif
