/* Trains a two-layer MLP with sgd_step, compiled ahead of time from mlp.py:sgd_step.
 *
 * The first step is checked against the loss and gradients computed here in C
 * (double precision); then a few hundred steps must lower the loss.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "sgd_step.h"

enum { N = SGD_STEP_IN4_DIM0, D = SGD_STEP_IN4_DIM1, H = SGD_STEP_IN1_DIM0, K = SGD_STEP_IN3_DIM0 };
static const double LEARNING_RATE = 0.1; /* as in mlp.py */

static unsigned long long state = 12345;
static float uniform(void) { /* in [-1, 1) */
  state = state * 6364136223846793005ULL + 1442695040888963407ULL;
  return (float)((state >> 40) / (double)(1ULL << 24)) * 2.0f - 1.0f;
}

/* Reference: the loss and one SGD step, in double. */
static double reference_step(const float *w1, const float *b1, const float *w2, const float *b2,
                             const float *x, const float *y, double *nw1, double *nb1, double *nw2,
                             double *nb2) {
  static double h[N][H], dz[N][K], da[N][H];
  double loss = 0.0;
  for (int n = 0; n < N; n++) {
    for (int j = 0; j < H; j++) {
      double a = b1[j];
      for (int i = 0; i < D; i++) a += (double)x[n * D + i] * w1[i * H + j];
      h[n][j] = tanh(a);
    }
    double z[K], zmax = -INFINITY, sum = 0.0, ysum = 0.0;
    for (int k = 0; k < K; k++) {
      z[k] = b2[k];
      for (int j = 0; j < H; j++) z[k] += h[n][j] * w2[j * K + k];
      if (z[k] > zmax) zmax = z[k];
    }
    for (int k = 0; k < K; k++) sum += exp(z[k] - zmax);
    double lse = zmax + log(sum);
    for (int k = 0; k < K; k++) {
      loss -= y[n * K + k] * (z[k] - lse) / N;
      ysum += y[n * K + k];
    }
    for (int k = 0; k < K; k++) dz[n][k] = (exp(z[k] - lse) * ysum - y[n * K + k]) / N;
  }
  for (int j = 0; j < H; j++)
    for (int k = 0; k < K; k++) {
      double g = 0.0;
      for (int n = 0; n < N; n++) g += h[n][j] * dz[n][k];
      nw2[j * K + k] = w2[j * K + k] - LEARNING_RATE * g;
    }
  for (int k = 0; k < K; k++) {
    double g = 0.0;
    for (int n = 0; n < N; n++) g += dz[n][k];
    nb2[k] = b2[k] - LEARNING_RATE * g;
  }
  for (int n = 0; n < N; n++)
    for (int j = 0; j < H; j++) {
      double dh = 0.0;
      for (int k = 0; k < K; k++) dh += dz[n][k] * w2[j * K + k];
      da[n][j] = dh * (1.0 - h[n][j] * h[n][j]);
    }
  for (int i = 0; i < D; i++)
    for (int j = 0; j < H; j++) {
      double g = 0.0;
      for (int n = 0; n < N; n++) g += (double)x[n * D + i] * da[n][j];
      nw1[i * H + j] = w1[i * H + j] - LEARNING_RATE * g;
    }
  for (int j = 0; j < H; j++) {
    double g = 0.0;
    for (int n = 0; n < N; n++) g += da[n][j];
    nb1[j] = b1[j] - LEARNING_RATE * g;
  }
  return loss;
}

static int compare(const char *what, const float *got, const double *want, int size) {
  for (int i = 0; i < size; i++)
    if (fabs(got[i] - want[i]) > 1e-5 + 1e-4 * fabs(want[i])) {
      fprintf(stderr, "%s[%d] = %.7g, expected %.7g\n", what, i, got[i], want[i]);
      return 1;
    }
  return 0;
}

int main(void) {
  static float w1[D * H], b1[H], w2[H * K], b2[K], x[N * D], y[N * K];
  static float nw1[D * H], nb1[H], nw2[H * K], nb2[K], loss;
  static double rw1[D * H], rb1[H], rw2[H * K], rb2[K];
  for (int i = 0; i < D * H; i++) w1[i] = 0.5f * uniform();
  for (int i = 0; i < H; i++) b1[i] = 0.1f * uniform();
  for (int i = 0; i < H * K; i++) w2[i] = 0.5f * uniform();
  for (int i = 0; i < K; i++) b2[i] = 0.1f * uniform();
  for (int i = 0; i < N * D; i++) x[i] = uniform();
  for (int n = 0; n < N; n++) { /* a learnable label: the sign pattern of two inputs */
    int label = (x[n * D] > 0) + 2 * (x[n * D + 1] > 0);
    for (int k = 0; k < K; k++) y[n * K + k] = (k == label);
  }

  int status = sgd_step(w1, b1, w2, b2, x, y, &loss, nw1, nb1, nw2, nb2);
  if (status != TFN_AOT_OK) {
    fprintf(stderr, "sgd_step returned %d\n", status);
    return 1;
  }
  double want = reference_step(w1, b1, w2, b2, x, y, rw1, rb1, rw2, rb2);
  double want_loss[1] = {want};
  int bad = compare("loss", &loss, want_loss, 1) | compare("w1", nw1, rw1, D * H) |
            compare("b1", nb1, rb1, H) | compare("w2", nw2, rw2, H * K) | compare("b2", nb2, rb2, K);
  if (bad) return 1;

  float first = loss;
  for (int step = 0; step < 300; step++) {
    memcpy(w1, nw1, sizeof w1); memcpy(b1, nb1, sizeof b1);
    memcpy(w2, nw2, sizeof w2); memcpy(b2, nb2, sizeof b2);
    if (sgd_step(w1, b1, w2, b2, x, y, &loss, nw1, nb1, nw2, nb2) != TFN_AOT_OK) return 1;
  }
  printf("sgd_step matches the C reference; loss %.4f -> %.4f after 300 steps\n", first, loss);
  if (!(loss < 0.7f * first)) {
    fprintf(stderr, "the loss did not decrease enough\n");
    return 1;
  }
  return 0;
}
