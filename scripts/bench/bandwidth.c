/*
 * Read bandwidth for `npm run bench` (the decode limit): each thread sums its own slice of a 1 GiB buffer
 * (far beyond the caches) in 4 interleaved streams, as a GEMV streams weight rows. Integer adds, so
 * gcc -O3 -march=native vectorizes the loop with the widest loads the CPU has. Prints the median GB/s of
 * 9 passes for each thread count given.
 *
 *   gcc -O3 -march=native -pthread bandwidth.c -o bandwidth && ./bandwidth 1 2
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BYTES (1ull << 30)
#define PASSES 9

static uint64_t *buf;
static pthread_barrier_t start, stop;

struct job {
  size_t from, n;
  uint64_t sum;
};

static uint64_t sum_slice(const uint64_t *p, size_t n) {
  /* 4 streams, each a quarter of the slice. */
  size_t q = n / 4;
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (size_t i = 0; i < q; i++) {
    a += p[i];
    b += p[q + i];
    c += p[2 * q + i];
    d += p[3 * q + i];
  }
  return a ^ b ^ c ^ d;
}

static void *worker(void *arg) {
  struct job *j = arg;
  for (int pass = 0; pass < PASSES; pass++) {
    pthread_barrier_wait(&start);
    j->sum += sum_slice(buf + j->from, j->n);
    pthread_barrier_wait(&stop);
  }
  return NULL;
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  if (posix_memalign((void **)&buf, 64, BYTES)) return 1;
  size_t words = BYTES / 8;
  for (size_t i = 0; i < words; i++) buf[i] = i * 2654435761u;
  printf("{");
  for (int a = 1; a < argc; a++) {
    int t = atoi(argv[a]);
    pthread_t th[64];
    struct job jobs[64];
    pthread_barrier_init(&start, NULL, t + 1);
    pthread_barrier_init(&stop, NULL, t + 1);
    for (int i = 0; i < t; i++) {
      jobs[i] = (struct job){.from = words / t * i, .n = words / t, .sum = 0};
      pthread_create(&th[i], NULL, worker, &jobs[i]);
    }
    double gbs[PASSES];
    for (int pass = 0; pass < PASSES; pass++) {
      pthread_barrier_wait(&start);
      double t0 = now();
      pthread_barrier_wait(&stop);
      gbs[pass] = (double)(words / t * t * 8) / (now() - t0) / 1e9;
    }
    uint64_t check = 0;
    for (int i = 0; i < t; i++) {
      pthread_join(th[i], NULL);
      check ^= jobs[i].sum;
    }
    qsort(gbs, PASSES, sizeof gbs[0], cmp);
    printf("%s\"%d\": {\"median\": %.2f, \"best\": %.2f, \"check\": %llu}", a > 1 ? ", " : "", t,
           gbs[PASSES / 2], gbs[PASSES - 1], (unsigned long long)(check & 0xff));
    pthread_barrier_destroy(&start);
    pthread_barrier_destroy(&stop);
  }
  printf("}\n");
  free(buf);
  return 0;
}
