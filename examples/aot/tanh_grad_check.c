/* Calls tanh_grad (compiled from tanh_grad.mlir) and checks it against the formula. */
#include <math.h>
#include <stdio.h>

#include "tanh_grad.h"

int main(void) {
  float x[TANH_GRAD_IN0_SIZE] = {-2.0f, -0.5f, 0.0f, 0.25f, 1.5f};
  float w[TANH_GRAD_IN1_SIZE] = {0.5f, -1.0f, 2.0f, 3.0f, -0.75f};
  float g[TANH_GRAD_OUT0_SIZE];
  if (tanh_grad(x, w, g) != TFN_AOT_OK) {
    fprintf(stderr, "tanh_grad failed\n");
    return 1;
  }
  int bad = 0;
  for (int i = 0; i < TANH_GRAD_OUT0_SIZE; i++) {
    double t = tanh((double)x[i] * w[i]);
    double expected = w[i] * (1.0 - t * t);
    if (fabs(g[i] - expected) > 1e-5 + 1e-5 * fabs(expected)) {
      fprintf(stderr, "g[%d] = %.7g, expected %.7g\n", i, g[i], expected);
      bad = 1;
    }
  }
  if (tanh_grad(x, 0, g) != TFN_AOT_ERROR_NULL_POINTER) {
    fprintf(stderr, "a NULL input was not reported\n");
    bad = 1;
  }
  if (!bad) printf("tanh_grad: OK\n");
  return bad;
}
