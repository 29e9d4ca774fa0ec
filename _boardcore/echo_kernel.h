/* Inner loops of the compiled echo canceller (echo_c.pyx): the FIR over the tail and the
 * NLMS coefficient update, over contiguous doubles (n a multiple of 8).
 *
 * The FIR is a reduction: written as a plain loop GCC keeps one dependent add chain
 * (no reassociation without -ffast-math), about 4 cycles per tap. Here it runs as two
 * vectors of four partial sums (GCC vector extensions): SSE2 pairs in the baseline build,
 * and on x86-64 Linux an AVX2 clone picked at load time (no -march flag). Multiply and add
 * stay separate (no FMA), so both clones give the same sums. Other compilers: 8 scalar
 * partial sums in the same order. */
#ifndef BOARDCORE_ECHO_KERNEL_H
#define BOARDCORE_ECHO_KERNEL_H

#include <string.h>

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define ECK_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define ECK_CLONES
#endif

#if defined(__GNUC__)
typedef double eck_v4d __attribute__((vector_size(32)));

ECK_CLONES static double eck_dot(const double *w, const double *x, int n)
{
    eck_v4d a0 = {0.0, 0.0, 0.0, 0.0}, a1 = a0, t0, t1, u0, u1;
    for (int j = 0; j < n; j += 8) {
        memcpy(&t0, w + j, sizeof t0);
        memcpy(&t1, w + j + 4, sizeof t1);
        memcpy(&u0, x + j, sizeof u0);
        memcpy(&u1, x + j + 4, sizeof u1);
        a0 += t0 * u0;
        a1 += t1 * u1;
    }
    return ((a0[0] + a1[0]) + (a0[1] + a1[1])) + ((a0[2] + a1[2]) + (a0[3] + a1[3]));
}

ECK_CLONES static void eck_update(double *w, const double *x, double g, int n)
{
    eck_v4d gg = {g, g, g, g}, t, u;
    for (int j = 0; j < n; j += 4) {
        memcpy(&t, w + j, sizeof t);
        memcpy(&u, x + j, sizeof u);
        t += gg * u;
        memcpy(w + j, &t, sizeof t);
    }
}
#else
static double eck_dot(const double *w, const double *x, int n)
{
    double a[8] = {0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0};
    for (int j = 0; j < n; j += 8)
        for (int k = 0; k < 8; k++)
            a[k] += w[j + k] * x[j + k];
    return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}

static void eck_update(double *w, const double *x, double g, int n)
{
    for (int j = 0; j < n; j++)
        w[j] += g * x[j];
}
#endif

#endif
