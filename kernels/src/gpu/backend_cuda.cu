/* backend_cuda.cu -- the CUDA backend: gpu/device.h compiled by nvcc for
 * sm_80 and sm_90, plus PTX for later GPUs.
 *
 * The same pipeline as backend_opencl.c: tables uploaded once, NSLOTS slots
 * of device buffers sized from dhatu_config.device_memory (or a quarter of
 * the free device memory), one stream per slot, batches in pinned host
 * memory (cudaHostAlloc through host_alloc). Records come back into a pinned
 * staging buffer per slot, so the copy-back is asynchronous too, and are
 * moved to the caller's array when the slot is reused or the call ends.
 * Every CUDA status is checked and becomes DHATU_ERR_DEVICE with the call's
 * name; nothing here aborts (unlike the CUDA_CHECK of many projects).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cuda_runtime.h>
extern "C" {
#include "dhatu_impl.h"
#include "alloc.h"
#include "error.h"
#include "gpu/tables.h"
#include "gpu/selftest.h"
}

#define DEV __device__ static inline
#define KERNEL __global__ void
#define G
#define C_ARRAY static __constant__
#define GID (blockIdx.x * (uint64_t)blockDim.x + threadIdx.x)
#define DHATU_UNROLL _Pragma("unroll")
#define DHATU_FINISH_FN __device__ static inline
#define DHATU_FINISH_RECORD dhatu_record
#include "gpu/layout.h"
#include "finish.h"
#include "gpu/device.h"

#define NSLOTS 3
#define THREADS 128

typedef struct cu_slot {
    cudaStream_t stream;
    uint8_t *text;
    uint64_t *offsets;
    uint32_t *langmask, *raw;
    uint64_t *seg_off;          /* segments (gpu/tables.h) */
    uint32_t *seg_art, *seg_first, *seg_out;
    uint64_t *h_seg_off;        /* their pinned host side */
    uint32_t *h_seg_art, *h_seg_first;
    dhatu_record *out;
    dhatu_record *staged;       /* pinned host copy of out */
    size_t first, count;        /* the chunk it holds, count 0: none */
    cudaEvent_t ev[4];          /* profiling: before copy-in, kernels, copy-out, after */
} cu_slot;

typedef struct cu_ctx {
    dhatu_model_kind model;
    int device;
    uint32_t *tables;
    cu_slot slot[NSLOTS];
    size_t slot_bytes, slot_articles, slot_segs, min_chunk;
    int profile;
    double times[3];            /* device seconds: copy-in, kernels, copy-out */
    size_t mem_slots, mem_tables;   /* device bytes, fixed at init */
    unsigned long long mem_pinned;  /* host bytes of cu_host_alloc, now (__atomic builtins) */
    char describe[256];
} cu_ctx;

static const char *cu_name(void) { return "cuda"; }

static dhatu_status cu_fail(char *errstr, size_t n, const char *call, cudaError_t rc)
{
    return dhatu_set_error(errstr, n, DHATU_ERR_DEVICE, "cuda: %s failed: %s (%s)", call, cudaGetErrorString(rc),
                           cudaGetErrorName(rc));
}

static void cu_free(void *ctx)
{
    cu_ctx *c = (cu_ctx *)ctx;
    if (!c) return;
    cudaSetDevice(c->device);
    for (int s = 0; s < NSLOTS; s++) {
        cu_slot *sl = &c->slot[s];
        if (sl->stream) cudaStreamSynchronize(sl->stream);
        cudaFree(sl->text);
        cudaFree(sl->offsets);
        cudaFree(sl->langmask);
        cudaFree(sl->raw);
        cudaFree(sl->out);
        cudaFree(sl->seg_off);
        cudaFree(sl->seg_art);
        cudaFree(sl->seg_first);
        cudaFree(sl->seg_out);
        cudaFreeHost(sl->h_seg_off);
        cudaFreeHost(sl->h_seg_art);
        cudaFreeHost(sl->h_seg_first);
        cudaFreeHost(sl->staged);
        for (int e = 0; e < 4; e++) if (sl->ev[e]) cudaEventDestroy(sl->ev[e]);
        if (sl->stream) cudaStreamDestroy(sl->stream);
    }
    cudaFree(c->tables);
    dhatu_free(c);
}

static dhatu_status cu_init(const dhatu_backend_params *p, void **out, char *errstr, size_t n)
{
    *out = NULL;
    const dhatu_config *cfg = p->cfg;
    int count = 0;
    cudaError_t rc = cudaGetDeviceCount(&count);
    if (rc != cudaSuccess || count == 0)
        return dhatu_set_error(errstr, n, DHATU_ERR_UNAVAILABLE, "cuda: no usable CUDA device (%s)",
                               rc != cudaSuccess ? cudaGetErrorString(rc) : "none found");
    if (cfg->device_index >= count)
        return dhatu_set_error(errstr, n, DHATU_ERR_UNAVAILABLE, "cuda: device %d requested, %d found",
                               cfg->device_index, count);
    cu_ctx *c = (cu_ctx *)dhatu_calloc(1, sizeof *c);
    if (!c) return dhatu_set_error(errstr, n, DHATU_ERR_NOMEM, "cuda: out of memory");
    dhatu_status st;
    c->model = p->model;
    c->device = cfg->device_index < 0 ? 0 : cfg->device_index;
    cudaDeviceProp prop;
    size_t free_mem = 0, total_mem = 0;
    uint32_t *words = NULL;
    size_t nwords = 0;
    if ((rc = cudaSetDevice(c->device)) || (rc = cudaGetDeviceProperties(&prop, c->device)) ||
        (rc = cudaMemGetInfo(&free_mem, &total_mem))) {
        st = cu_fail(errstr, n, "device set-up", rc);
        goto err;
    }
    if ((st = dhatu_gpu_tables_build(p->model == DHATU_MODEL_LEXICON ? p->lexicon : NULL, &words, &nwords, errstr, n)))
        goto err;
    rc = cudaMalloc((void **)&c->tables, nwords * 4);
    c->mem_tables = nwords * 4;
    if (!rc) rc = cudaMemcpy(c->tables, words, nwords * 4, cudaMemcpyHostToDevice);
    dhatu_free(words);
    if (rc) { st = cu_fail(errstr, n, "uploading the tables", rc); goto err; }
    {
        size_t articles, text, segs;
        if ((st = dhatu_gpu_slot_size(cfg, cfg->device_memory ? cfg->device_memory : free_mem / 4, 0, NSLOTS, "cuda",
                                      &articles, &text, &segs, errstr, n)))
            goto err;
        c->slot_bytes = text;
        c->slot_articles = articles;
        c->slot_segs = segs;
        c->min_chunk = (size_t)4 << 20; /* enough articles to fill every SM */
        c->mem_slots = NSLOTS * (text + (articles + 1) * 8 + articles * 4 + articles * 9 * 4 +
                                 articles * sizeof(dhatu_record) + (segs + 1) * 8 + segs * 4 + (articles + 1) * 4 +
                                 segs * 4 * SEG_WORDS);
        for (int s = 0; s < NSLOTS; s++) {
            cu_slot *sl = &c->slot[s];
            if ((rc = cudaStreamCreateWithFlags(&sl->stream, cudaStreamNonBlocking)) ||
                (rc = cudaMalloc((void **)&sl->text, text)) ||
                (rc = cudaMalloc((void **)&sl->offsets, (articles + 1) * 8)) ||
                (rc = cudaMalloc((void **)&sl->langmask, articles * 4)) ||
                (rc = cudaMalloc((void **)&sl->raw, articles * 9 * 4)) ||
                (rc = cudaMalloc((void **)&sl->out, articles * sizeof(dhatu_record))) ||
                (rc = cudaMalloc((void **)&sl->seg_off, (segs + 1) * 8)) ||
                (rc = cudaMalloc((void **)&sl->seg_art, segs * 4)) ||
                (rc = cudaMalloc((void **)&sl->seg_first, (articles + 1) * 4)) ||
                (rc = cudaMalloc((void **)&sl->seg_out, segs * 4 * SEG_WORDS)) ||
                (rc = cudaHostAlloc((void **)&sl->h_seg_off, (segs + 1) * 8, cudaHostAllocDefault)) ||
                (rc = cudaHostAlloc((void **)&sl->h_seg_art, segs * 4, cudaHostAllocDefault)) ||
                (rc = cudaHostAlloc((void **)&sl->h_seg_first, (articles + 1) * 4, cudaHostAllocDefault)) ||
                (rc = cudaHostAlloc((void **)&sl->staged, articles * sizeof(dhatu_record), cudaHostAllocDefault))) {
                st = cu_fail(errstr, n, "allocating the device slots", rc);
                goto err;
            }
            for (int e = 0; cfg->profile && e < 4; e++) {
                if ((rc = cudaEventCreate(&sl->ev[e]))) {
                    st = cu_fail(errstr, n, "cudaEventCreate", rc);
                    goto err;
                }
            }
        }
        c->profile = cfg->profile;
    }
    snprintf(c->describe, sizeof c->describe, "cuda: %s (sm_%d%d, %d SMs, %.1f GiB), %d slots of %.0f %s", prop.name,
             prop.major, prop.minor, prop.multiProcessorCount, (double)total_mem / (1 << 30), NSLOTS,
             (double)c->slot_bytes / (c->slot_bytes >= (1 << 20) ? 1 << 20 : 1 << 10),
             c->slot_bytes >= (1 << 20) ? "MiB" : "KiB");
    *out = c;
    return DHATU_OK;
err:
    cu_free(c);
    return st;
}

static unsigned blocks(size_t items) { return (unsigned)((items + THREADS - 1) / THREADS); }

/* Waits for slot s and moves its records to out. */
static cudaError_t collect(cu_ctx *c, cu_slot *s, dhatu_record *out)
{
    if (!s->count) return cudaSuccess;
    cudaError_t rc = cudaStreamSynchronize(s->stream);
    if (!rc) memcpy(out + s->first, s->staged, s->count * sizeof *out);
    for (int e = 0; !rc && c->profile && e < 3; e++) {
        float ms = 0;
        if (cudaEventElapsedTime(&ms, s->ev[e], s->ev[e + 1]) == cudaSuccess) c->times[e] += ms * 1e-3;
    }
    s->count = 0;
    return rc;
}

static void cu_device_times(void *ctx, double t[3])
{
    memcpy(t, ((cu_ctx *)ctx)->times, 3 * sizeof(double));
}

static dhatu_status cu_vectorize(void *ctx, const dhatu_batch_view *b, dhatu_record *out, char *errstr, size_t n)
{
    cu_ctx *c = (cu_ctx *)ctx;
    cudaError_t rc = cudaSetDevice(c->device);
    const char *what = "cudaSetDevice";
    size_t target = dhatu_gpu_chunk_target(b, c->min_chunk, c->slot_bytes), k = 0, a = 0;
    for (; !rc && a < b->n; k++) {
        cu_slot *s = &c->slot[k % NSLOTS];
        what = "cudaStreamSynchronize";
        if ((rc = collect(c, s, out))) break;
        size_t z = dhatu_gpu_chunk_end(b, a, c->slot_articles, target);
        uint32_t cnt = (uint32_t)(z - a), lexicon = c->model == DHATU_MODEL_LEXICON;
        uint64_t base = b->offsets[a];
        size_t bytes = (size_t)(b->offsets[z] - base);
        uint32_t nseg = (uint32_t)dhatu_gpu_segment(b, a, z, s->h_seg_off, s->h_seg_art, s->h_seg_first);
        what = "cudaMemcpyAsync (to the device)";
        if (c->profile) cudaEventRecord(s->ev[0], s->stream);
        if (bytes) rc = cudaMemcpyAsync(s->text, b->text + base, bytes, cudaMemcpyHostToDevice, s->stream);
        if (!rc) rc = cudaMemcpyAsync(s->seg_off, s->h_seg_off, ((size_t)nseg + 1) * 8, cudaMemcpyHostToDevice, s->stream);
        if (!rc) rc = cudaMemcpyAsync(s->seg_art, s->h_seg_art, (size_t)nseg * 4, cudaMemcpyHostToDevice, s->stream);
        if (!rc) rc = cudaMemcpyAsync(s->seg_first, s->h_seg_first, ((size_t)cnt + 1) * 4, cudaMemcpyHostToDevice, s->stream);
        if (!rc && lexicon)
            rc = cudaMemcpyAsync(s->langmask, b->langmask + a, (size_t)cnt * 4, cudaMemcpyHostToDevice, s->stream);
        if (!rc && !lexicon)
            rc = cudaMemcpyAsync(s->offsets, b->offsets + a, ((size_t)cnt + 1) * 8, cudaMemcpyHostToDevice, s->stream);
        if (rc) break;
        if (c->profile) cudaEventRecord(s->ev[1], s->stream);
        dhatu_k_scan<<<blocks(nseg), THREADS, 0, s->stream>>>(c->tables, s->text, base, s->seg_off, s->seg_art,
                                                              s->langmask, nseg, lexicon, s->seg_out);
        if (lexicon) {
            dhatu_k_lexicon_finish<<<blocks(cnt), THREADS, 0, s->stream>>>(s->seg_first, s->seg_out, cnt, s->out);
        } else {
            dhatu_k_seed_hash<<<blocks((size_t)cnt * 9), THREADS, 0, s->stream>>>(s->text, s->offsets, cnt, s->raw);
            dhatu_k_seed_finish<<<blocks(cnt), THREADS, 0, s->stream>>>(s->seg_first, s->seg_out, s->raw, cnt, s->out);
        }
        what = "a kernel launch";
        if ((rc = cudaGetLastError())) break;
        if (dhatu_gpu_injected_failure()) { rc = cudaErrorLaunchOutOfResources; break; }
        what = "cudaMemcpyAsync (to the host)";
        if (c->profile) cudaEventRecord(s->ev[2], s->stream);
        if ((rc = cudaMemcpyAsync(s->staged, s->out, cnt * sizeof(dhatu_record), cudaMemcpyDeviceToHost, s->stream)))
            break;
        if (c->profile) cudaEventRecord(s->ev[3], s->stream);
        s->first = a;
        s->count = cnt;
        a = z;
    }
    /* Drain every slot, also after an error: nothing may run on after we return. */
    for (int s = 0; s < NSLOTS; s++) {
        cudaError_t r2 = collect(c, &c->slot[s], out);
        if (r2 && !rc) { rc = r2; what = "cudaStreamSynchronize"; }
    }
    if (rc) return dhatu_set_error(errstr, n, DHATU_ERR_DEVICE, "cuda: %s failed near article %zu: %s (%s)", what, a,
                                   cudaGetErrorString(rc), cudaGetErrorName(rc));
    return DHATU_OK;
}

#define HOST_HDR 64 /* bytes before a pinned block: its size; keeps 64-byte alignment */

static void *cu_host_alloc(void *ctx, size_t size)
{
    cu_ctx *c = (cu_ctx *)ctx;
    void *p = NULL;
    cudaSetDevice(c->device);
    if (cudaHostAlloc(&p, size + HOST_HDR, cudaHostAllocDefault) != cudaSuccess) return NULL;
    memcpy(p, &size, sizeof size);
    __atomic_add_fetch(&c->mem_pinned, (unsigned long long)size, __ATOMIC_RELAXED);
    return (char *)p + HOST_HDR;
}

static void cu_host_free(void *ctx, void *ptr)
{
    cu_ctx *c = (cu_ctx *)ctx;
    char *p = (char *)ptr - HOST_HDR;
    size_t size;
    memcpy(&size, p, sizeof size);
    __atomic_sub_fetch(&c->mem_pinned, (unsigned long long)size, __ATOMIC_RELAXED);
    cudaFreeHost(p);
}

static void cu_device_memory(void *ctx, size_t m[3])
{
    cu_ctx *c = (cu_ctx *)ctx;
    m[0] = c->mem_slots;
    m[1] = c->mem_tables;
    m[2] = (size_t)__atomic_load_n(&c->mem_pinned, __ATOMIC_RELAXED);
}

static const char *cu_describe(void *ctx) { return ((cu_ctx *)ctx)->describe; }

extern "C" dhatu_status dhatu_cuda_sha256(void *ctx, const char *text, const uint64_t *offsets, size_t count,
                                          uint32_t *digests, char *errstr, size_t n)
{
    cu_ctx *c = (cu_ctx *)ctx;
    cu_slot *s = &c->slot[0];
    size_t bytes = (size_t)(offsets[count] - offsets[0]);
    if (count > c->slot_articles || bytes > c->slot_bytes)
        return dhatu_set_error(errstr, n, DHATU_ERR_ARG, "cuda: sha256 test input too large");
    uint32_t *d = NULL;
    cudaError_t rc = cudaMalloc((void **)&d, count * 32 + 32);
    if (!rc) rc = cudaMemcpy(s->offsets, offsets, (count + 1) * 8, cudaMemcpyHostToDevice);
    if (!rc && bytes) rc = cudaMemcpy(s->text, text + offsets[0], bytes, cudaMemcpyHostToDevice);
    if (!rc) {
        dhatu_k_sha256<<<blocks(count), THREADS>>>(s->text, s->offsets, (uint32_t)count, d);
        rc = cudaGetLastError();
    }
    if (!rc) rc = cudaMemcpy(digests, d, count * 32, cudaMemcpyDeviceToHost);
    cudaFree(d);
    return rc ? cu_fail(errstr, n, "sha256 test kernel", rc) : DHATU_OK;
}

extern "C" const struct dhatu_backend_i dhatu_backend_cuda_i = {
    /* .get_name        = */ cu_name,
    /* .init            = */ cu_init,
    /* .vectorize_batch = */ cu_vectorize,
    /* .free            = */ cu_free,
    /* .describe        = */ cu_describe,
    /* .host_alloc      = */ cu_host_alloc,
    /* .host_free       = */ cu_host_free,
    /* .device_times    = */ cu_device_times,
    /* .device_memory   = */ cu_device_memory,
};
