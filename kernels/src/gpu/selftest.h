/* gpu/selftest.h -- entry points that tests use to check device code alone.
 *
 * SHA-256 on the device, without the seed model around it: digest i (8
 * big-endian words) of text[offsets[i] - offsets[0] .. offsets[i+1] -
 * offsets[0]), for count messages that fit one device slot. ctx is the
 * context the backend's init returned. Returns DHATU_OK, DHATU_ERR_ARG (too
 * large) or DHATU_ERR_DEVICE with a message. Allocates per call: tests only.
 *
 * Fault injection: after dhatu_gpu_inject_failure(k), the k-th kernel launch
 * from then on (k >= 1) fails as if the device had run out of resources, so
 * that tests can check that a device error fails the batch with a message and
 * leaves the engine usable. Process-wide, not thread-safe: tests only.
 */
#ifndef DHATU_GPU_SELFTEST_H
#define DHATU_GPU_SELFTEST_H

#include "dhatu_impl.h"

#ifdef __cplusplus
extern "C" {
#endif

dhatu_status dhatu_opencl_sha256(void *ctx, const char *text, const uint64_t *offsets, size_t count,
                                 uint32_t *digests, char *errstr, size_t errstr_size);
dhatu_status dhatu_cuda_sha256(void *ctx, const char *text, const uint64_t *offsets, size_t count,
                               uint32_t *digests, char *errstr, size_t errstr_size);

void dhatu_gpu_inject_failure(int k);
/* Backends: 1 when the launch about to happen must fail (counts launches). */
int dhatu_gpu_injected_failure(void);

#ifdef __cplusplus
}
#endif
#endif
