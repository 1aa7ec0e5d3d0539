/* gpu_ceiling.cu -- dhatu-gpu-ceiling: the bandwidths a GPU pipeline is held
 * against (bench/gpu.sh): host-to-device copies from pinned and from pageable
 * memory, device-to-host from pinned memory, and device memory (a
 * device-to-device copy, counting bytes read and written). Each is the best
 * of 10 timed copies of 256 MiB after a warm-up, timed with CUDA events.
 * Prints one line per figure and one JSON line. Exit 2 without a GPU. */
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BYTES ((size_t)256 << 20)
#define REPS 10

static int check(cudaError_t rc, const char *what)
{
    if (rc == cudaSuccess) return 0;
    fprintf(stderr, "dhatu-gpu-ceiling: %s: %s\n", what, cudaGetErrorString(rc));
    return 1;
}

/* Best GB/s of REPS copies of `bytes` (counted `factor` times). */
static double best(void *dst, const void *src, size_t bytes, cudaMemcpyKind kind, double factor)
{
    cudaEvent_t a, b;
    cudaEventCreate(&a);
    cudaEventCreate(&b);
    cudaMemcpy(dst, src, bytes, kind); /* warm-up */
    double top = 0;
    for (int i = 0; i < REPS; i++) {
        float ms = 0;
        cudaEventRecord(a);
        cudaMemcpyAsync(dst, src, bytes, kind);
        cudaEventRecord(b);
        cudaEventSynchronize(b);
        cudaEventElapsedTime(&ms, a, b);
        double gbs = factor * (double)bytes / (ms * 1e-3) / 1e9;
        if (gbs > top) top = gbs;
    }
    cudaEventDestroy(a);
    cudaEventDestroy(b);
    return top;
}

int main(void)
{
    cudaDeviceProp prop;
    void *pinned = NULL, *dev = NULL, *dev2 = NULL;
    if (check(cudaGetDeviceProperties(&prop, 0), "no CUDA device")) return 2;
    if (check(cudaHostAlloc(&pinned, BYTES, cudaHostAllocDefault), "cudaHostAlloc") ||
        check(cudaMalloc(&dev, BYTES), "cudaMalloc") || check(cudaMalloc(&dev2, BYTES), "cudaMalloc"))
        return 2;
    char *pageable = (char *)malloc(BYTES);
    if (!pageable) return 2;
    memset(pinned, 1, BYTES);
    memset(pageable, 1, BYTES);
    double h2d = best(dev, pinned, BYTES, cudaMemcpyHostToDevice, 1);
    double h2d_pageable = best(dev, pageable, BYTES, cudaMemcpyHostToDevice, 1);
    double d2h = best(pinned, dev, BYTES, cudaMemcpyDeviceToHost, 1);
    double d2d = best(dev2, dev, BYTES, cudaMemcpyDeviceToDevice, 2);
    printf("device: %s (sm_%d%d, %d SMs)\n", prop.name, prop.major, prop.minor, prop.multiProcessorCount);
    printf("host-to-device, pinned:   %7.1f GB/s\n", h2d);
    printf("host-to-device, pageable: %7.1f GB/s\n", h2d_pageable);
    printf("device-to-host, pinned:   %7.1f GB/s\n", d2h);
    printf("device memory (copy, read+write): %7.1f GB/s\n", d2d);
    printf("{\"bench\":\"dhatu-gpu-ceiling\",\"device\":\"%s\",\"h2d_pinned_gb_s\":%.2f,\"h2d_pageable_gb_s\":%.2f,"
           "\"d2h_pinned_gb_s\":%.2f,\"device_copy_gb_s\":%.2f}\n", prop.name, h2d, h2d_pageable, d2h, d2d);
    free(pageable);
    cudaFreeHost(pinned);
    cudaFree(dev);
    cudaFree(dev2);
    return 0;
}
