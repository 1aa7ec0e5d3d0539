/* backend_opencl.c -- the OpenCL backend: gpu/device.h on any OpenCL 1.2
 * device with doubles (GPUs through their vendor's driver; CPUs through PoCL).
 *
 * Set-up, once per engine: pick a platform and device, build the program
 * from the embedded sources, check that the device lays out dhatu_record as
 * the host does, upload the flat tables (gpu/tables.h) and allocate NSLOTS
 * slots of device buffers sized from dhatu_config.device_memory (or a quarter
 * of the device's memory). Batches live in pinned host memory (host_alloc:
 * CL_MEM_ALLOC_HOST_PTR, mapped), so copies from them are DMA transfers.
 *
 * A call: the batch is cut into chunks (gpu/tables.h) and chunk k goes to
 * slot k mod NSLOTS, each slot with its own in-order queue: copy-in, kernels
 * and copy-out of one chunk are ordered, while chunks on different slots
 * overlap. Only the records come back. Nothing is allocated per call.
 * Errors: every OpenCL status is checked; a failure drains the queues and
 * returns DHATU_ERR_DEVICE naming the call, and the engine stays usable.
 */
#define CL_TARGET_OPENCL_VERSION 120
#include "dhatu_impl.h"
#include "alloc.h"
#include "error.h"
#include "gpu/tables.h"
#include "gpu/selftest.h"
#include <CL/cl.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>

#define NSLOTS 3
#define MAX_DEVICES 64
#define HOST_HDR 64 /* bytes before a pinned block: its cl_mem; keeps 64-byte alignment */
#define LOCAL 64

/* The embedded sources, in compile order (kernels/CMakeLists.txt). */
extern const char dhatu_cl_prelude_text[], dhatu_cl_layout_text[], dhatu_cl_finish_text[], dhatu_cl_device_text[];

typedef struct ocl_slot {
    cl_command_queue q;
    cl_mem text, offsets, langmask, out, raw;
    cl_mem seg_off, seg_art, seg_first, seg_out;   /* segments (gpu/tables.h) */
    uint64_t *h_seg_off;                           /* their pinned host side */
    uint32_t *h_seg_art, *h_seg_first;
} ocl_slot;

typedef struct ocl_ctx {
    dhatu_model_kind model;
    cl_platform_id platform;
    cl_device_id device;
    cl_context cx;
    cl_program prog;
    cl_kernel k_scan, k_lexicon_finish, k_seed_hash, k_seed_finish, k_sha256;
    cl_mem tables;
    ocl_slot slot[NSLOTS];
    size_t slot_bytes, slot_articles, slot_segs;
    size_t min_chunk;       /* bytes that keep the device busy */
    /* Profiling (cfg.profile): the events of one call, sized at init for the
     * most chunks a batch can make (10 commands each at most), and the device
     * seconds summed so far. */
    cl_event *ev;
    unsigned char *ev_kind; /* 0 copy-in, 1 kernel, 2 copy-out */
    size_t nev, cap_ev;
    double times[3];
    size_t mem_slots, mem_tables;  /* device bytes, fixed at init */
    atomic_size_t mem_pinned;      /* host bytes of ocl_host_alloc, now */
    char describe[256];
} ocl_ctx;

static const char *ocl_name(void) { return "opencl"; }

static const char *cl_errname(cl_int e)
{
    switch (e) {
#define E(x) case x: return #x;
    E(CL_DEVICE_NOT_FOUND) E(CL_DEVICE_NOT_AVAILABLE) E(CL_COMPILER_NOT_AVAILABLE)
    E(CL_MEM_OBJECT_ALLOCATION_FAILURE) E(CL_OUT_OF_RESOURCES) E(CL_OUT_OF_HOST_MEMORY)
    E(CL_BUILD_PROGRAM_FAILURE) E(CL_MAP_FAILURE) E(CL_INVALID_VALUE) E(CL_INVALID_DEVICE_TYPE)
    E(CL_INVALID_PLATFORM) E(CL_INVALID_DEVICE) E(CL_INVALID_CONTEXT) E(CL_INVALID_COMMAND_QUEUE)
    E(CL_INVALID_MEM_OBJECT) E(CL_INVALID_BUFFER_SIZE) E(CL_INVALID_PROGRAM) E(CL_INVALID_KERNEL_NAME)
    E(CL_INVALID_KERNEL) E(CL_INVALID_ARG_INDEX) E(CL_INVALID_ARG_VALUE) E(CL_INVALID_ARG_SIZE)
    E(CL_INVALID_KERNEL_ARGS) E(CL_INVALID_WORK_DIMENSION) E(CL_INVALID_WORK_GROUP_SIZE)
    E(CL_INVALID_GLOBAL_WORK_SIZE) E(CL_INVALID_OPERATION) E(CL_INVALID_EVENT_WAIT_LIST)
#undef E
    case -1001: return "CL_PLATFORM_NOT_FOUND_KHR";
    default: return "an OpenCL error";
    }
}

#define CL_FAIL(call, rc) \
    dhatu_set_error(errstr, n, DHATU_ERR_DEVICE, "opencl: %s failed: %s (%d)", call, cl_errname(rc), (int)(rc))

static const char *type_name(cl_device_type t)
{
    return (t & CL_DEVICE_TYPE_GPU) ? "GPU" : (t & CL_DEVICE_TYPE_ACCELERATOR) ? "accelerator"
         : (t & CL_DEVICE_TYPE_CPU) ? "CPU" : "other";
}

/* Lists the devices of the wanted type on the wanted platforms, GPUs first
 * (stable within a kind), so that index 0 is the best default. */
static dhatu_status list_devices(const dhatu_config *cfg, cl_device_id *dev, cl_platform_id *plat,
                                 cl_uint *ndev, char *errstr, size_t n)
{
    cl_platform_id platforms[16];
    cl_uint nplat = 0;
    cl_int rc = clGetPlatformIDs(16, platforms, &nplat);
    if (rc == -1001 || (rc == CL_SUCCESS && nplat == 0))
        return dhatu_set_error(errstr, n, DHATU_ERR_UNAVAILABLE, "opencl: no OpenCL platform is installed "
                               "(an ICD such as pocl-opencl-icd or a GPU driver's registers one in /etc/OpenCL/vendors)");
    if (rc) return CL_FAIL("clGetPlatformIDs", rc);
    if (cfg->platform_index >= (int)nplat)
        return dhatu_set_error(errstr, n, DHATU_ERR_UNAVAILABLE, "opencl: platform %d requested, %u installed",
                               cfg->platform_index, nplat);
    const char *want = cfg->device_type ? cfg->device_type : "any";
    cl_device_type type = !strcmp(want, "gpu") ? CL_DEVICE_TYPE_GPU
                        : !strcmp(want, "cpu") ? CL_DEVICE_TYPE_CPU
                        : !strcmp(want, "accelerator") ? CL_DEVICE_TYPE_ACCELERATOR : CL_DEVICE_TYPE_ALL;
    cl_device_id all[MAX_DEVICES];
    cl_platform_id owner[MAX_DEVICES];
    cl_device_type kind[MAX_DEVICES];
    cl_uint total = 0;
    for (cl_uint p = 0; p < nplat; p++) {
        if (cfg->platform_index >= 0 && (cl_uint)cfg->platform_index != p) continue;
        cl_uint k = 0;
        rc = clGetDeviceIDs(platforms[p], type, MAX_DEVICES - total, all + total, &k);
        if (rc == CL_DEVICE_NOT_FOUND) continue;
        if (rc) return CL_FAIL("clGetDeviceIDs", rc);
        if (k > MAX_DEVICES - total) k = MAX_DEVICES - total;
        for (cl_uint i = total; i < total + k; i++) {
            owner[i] = platforms[p];
            if (clGetDeviceInfo(all[i], CL_DEVICE_TYPE, sizeof kind[i], &kind[i], NULL)) kind[i] = 0;
        }
        total += k;
    }
    *ndev = 0;
    for (int rank = 0; rank < 4; rank++) {
        for (cl_uint i = 0; i < total; i++) {
            int r = (kind[i] & CL_DEVICE_TYPE_GPU) ? 0 : (kind[i] & CL_DEVICE_TYPE_ACCELERATOR) ? 1
                  : (kind[i] & CL_DEVICE_TYPE_CPU) ? 2 : 3;
            if (r != rank) continue;
            dev[*ndev] = all[i];
            plat[*ndev] = owner[i];
            (*ndev)++;
        }
    }
    if (!*ndev)
        return dhatu_set_error(errstr, n, DHATU_ERR_UNAVAILABLE, "opencl: no %s device on %s",
                               type == CL_DEVICE_TYPE_ALL ? "OpenCL" : want,
                               cfg->platform_index >= 0 ? "the requested platform" : "any platform");
    return DHATU_OK;
}

static dhatu_status build_program(ocl_ctx *c, char *errstr, size_t n)
{
    const char *src[] = { dhatu_cl_prelude_text, dhatu_cl_layout_text, dhatu_cl_finish_text, dhatu_cl_device_text };
    cl_int rc;
    c->prog = clCreateProgramWithSource(c->cx, 4, src, NULL, &rc);
    if (rc) return CL_FAIL("clCreateProgramWithSource", rc);
    rc = clBuildProgram(c->prog, 1, &c->device, "-cl-std=CL1.2", NULL, NULL);
    if (rc) {
        char log[2048] = "";
        clGetProgramBuildInfo(c->prog, c->device, CL_PROGRAM_BUILD_LOG, sizeof log - 1, log, NULL);
        log[sizeof log - 1] = 0;
        return dhatu_set_error(errstr, n, DHATU_ERR_DEVICE, "opencl: building the kernels failed: %s (%d): %.400s",
                               cl_errname(rc), (int)rc, log);
    }
    struct { cl_kernel *k; const char *name; } ks[] = {
        { &c->k_scan, "dhatu_k_scan" }, { &c->k_lexicon_finish, "dhatu_k_lexicon_finish" },
        { &c->k_seed_hash, "dhatu_k_seed_hash" }, { &c->k_seed_finish, "dhatu_k_seed_finish" },
        { &c->k_sha256, "dhatu_k_sha256" },
    };
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        *ks[i].k = clCreateKernel(c->prog, ks[i].name, &rc);
        if (rc) return CL_FAIL("clCreateKernel", rc);
    }
    return DHATU_OK;
}

/* The device must see dhatu_record byte for byte as the host does, since
 * records are copied back as they are. */
static dhatu_status check_abi(ocl_ctx *c, char *errstr, size_t n)
{
    cl_int rc;
    cl_kernel k = clCreateKernel(c->prog, "dhatu_k_abi", &rc);
    if (rc) return CL_FAIL("clCreateKernel", rc);
    cl_mem m = clCreateBuffer(c->cx, CL_MEM_WRITE_ONLY, 4 * sizeof(cl_ulong), NULL, &rc);
    cl_ulong got[4] = { 0 };
    size_t one = 1;
    if (!rc) rc = clSetKernelArg(k, 0, sizeof m, &m);
    if (!rc) rc = clEnqueueNDRangeKernel(c->slot[0].q, k, 1, NULL, &one, NULL, 0, NULL, NULL);
    if (!rc) rc = clEnqueueReadBuffer(c->slot[0].q, m, CL_TRUE, 0, sizeof got, got, 0, NULL, NULL);
    if (m) clReleaseMemObject(m);
    clReleaseKernel(k);
    if (rc) return CL_FAIL("the record layout check", rc);
    if (got[0] != sizeof(dhatu_record) || got[1] != offsetof(dhatu_record, tokens) ||
        got[2] != offsetof(dhatu_record, positive) || got[3] != offsetof(dhatu_record, dominant))
        /* Not "unavailable": the device works, our layout assumption does
         * not; a test must fail here, never skip (docs/GPU.md). */
        return dhatu_set_error(errstr, n, DHATU_ERR_DEVICE,
                               "opencl: the device lays out records differently (size %llu, host %zu)",
                               (unsigned long long)got[0], sizeof(dhatu_record));
    return DHATU_OK;
}

static void *ocl_host_alloc(void *ctx, size_t size);
static void ocl_host_free(void *ctx, void *ptr);

/* Sizes and allocates the slots from the memory budget. */
static dhatu_status alloc_slots(ocl_ctx *c, const dhatu_config *cfg, char *errstr, size_t n)
{
    cl_ulong global = 0, maxalloc = 0;
    clGetDeviceInfo(c->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global, NULL);
    clGetDeviceInfo(c->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof maxalloc, &maxalloc, NULL);
    size_t budget = cfg->device_memory ? cfg->device_memory : (size_t)(global / 4);
    size_t articles, text, segs;
    dhatu_status st = dhatu_gpu_slot_size(cfg, budget, (size_t)maxalloc, NSLOTS, "opencl", &articles, &text, &segs,
                                          errstr, n);
    if (st) return st;
    c->slot_bytes = text;
    c->slot_articles = articles;
    c->slot_segs = segs;
    c->min_chunk = (size_t)1 << 20;
    for (int s = 0; s < NSLOTS; s++) {
        ocl_slot *sl = &c->slot[s];
        struct { cl_mem *m; cl_mem_flags f; size_t size; } bufs[] = {
            { &sl->text, CL_MEM_READ_ONLY, text },
            { &sl->offsets, CL_MEM_READ_ONLY, (articles + 1) * 8 },
            { &sl->langmask, CL_MEM_READ_ONLY, articles * 4 },
            { &sl->out, CL_MEM_WRITE_ONLY, articles * sizeof(dhatu_record) },
            { &sl->raw, CL_MEM_READ_WRITE, articles * 9 * 4 },
            { &sl->seg_off, CL_MEM_READ_ONLY, (segs + 1) * 8 },
            { &sl->seg_art, CL_MEM_READ_ONLY, segs * 4 },
            { &sl->seg_first, CL_MEM_READ_ONLY, (articles + 1) * 4 },
            { &sl->seg_out, CL_MEM_READ_WRITE, segs * 4 * SEG_WORDS },
        };
        for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) {
            cl_int rc;
            *bufs[i].m = clCreateBuffer(c->cx, bufs[i].f, bufs[i].size, NULL, &rc);
            if (rc) return CL_FAIL("clCreateBuffer (device slots)", rc);
            c->mem_slots += bufs[i].size;
        }
        sl->h_seg_off = ocl_host_alloc(c, (segs + 1) * 8);
        sl->h_seg_art = ocl_host_alloc(c, segs * 4);
        sl->h_seg_first = ocl_host_alloc(c, (articles + 1) * 4);
        if (!sl->h_seg_off || !sl->h_seg_art || !sl->h_seg_first)
            return dhatu_set_error(errstr, n, DHATU_ERR_NOMEM, "opencl: cannot allocate pinned segment tables");
    }
    return DHATU_OK;
}

static void ocl_free(void *ctx)
{
    ocl_ctx *c = ctx;
    if (!c) return;
    for (int s = 0; s < NSLOTS; s++) {
        ocl_slot *sl = &c->slot[s];
        if (sl->q) clFinish(sl->q);
        if (sl->h_seg_off) ocl_host_free(c, sl->h_seg_off);
        if (sl->h_seg_art) ocl_host_free(c, sl->h_seg_art);
        if (sl->h_seg_first) ocl_host_free(c, sl->h_seg_first);
        cl_mem *m[] = { &sl->text, &sl->offsets, &sl->langmask, &sl->out, &sl->raw,
                        &sl->seg_off, &sl->seg_art, &sl->seg_first, &sl->seg_out };
        for (size_t i = 0; i < sizeof m / sizeof m[0]; i++) if (*m[i]) clReleaseMemObject(*m[i]);
        if (sl->q) clReleaseCommandQueue(sl->q);
    }
    if (c->tables) clReleaseMemObject(c->tables);
    cl_kernel ks[] = { c->k_scan, c->k_lexicon_finish, c->k_seed_hash, c->k_seed_finish, c->k_sha256 };
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) if (ks[i]) clReleaseKernel(ks[i]);
    if (c->prog) clReleaseProgram(c->prog);
    if (c->cx) clReleaseContext(c->cx);
    dhatu_free(c->ev);
    dhatu_free(c->ev_kind);
    dhatu_free(c);
}

static dhatu_status ocl_init(const dhatu_backend_params *p, void **out, char *errstr, size_t n)
{
    *out = NULL;
    cl_device_id devs[MAX_DEVICES];
    cl_platform_id plats[MAX_DEVICES];
    cl_uint ndev = 0;
    dhatu_status st = list_devices(p->cfg, devs, plats, &ndev, errstr, n);
    if (st) return st;
    int want = p->cfg->device_index;
    if (want >= (int)ndev)
        return dhatu_set_error(errstr, n, DHATU_ERR_UNAVAILABLE, "opencl: device %d requested, %u found", want, ndev);
    cl_device_id dev = devs[want < 0 ? 0 : want];
    cl_device_type kind = 0;
    cl_ulong global = 0;
    cl_uint cus = 0;
    cl_device_fp_config fp64 = 0;
    char name[128] = "", pname[128] = "";
    clGetDeviceInfo(dev, CL_DEVICE_TYPE, sizeof kind, &kind, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof name - 1, name, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL);
    clGetDeviceInfo(dev, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof fp64, &fp64, NULL);
    clGetPlatformInfo(plats[want < 0 ? 0 : want], CL_PLATFORM_NAME, sizeof pname - 1, pname, NULL);
    if (p->auto_pick && !(kind & (CL_DEVICE_TYPE_GPU | CL_DEVICE_TYPE_ACCELERATOR)))
        return dhatu_set_error(errstr, n, DHATU_ERR_UNAVAILABLE,
                               "opencl: its best device is a CPU (%s on %s), where the cpu backend is faster",
                               name, pname);
    /* A device is there but cannot compute the records' formulas: a device
     * error, not "no device", so a test fails instead of skipping ("auto"
     * passes over it either way, saying why). */
    if (!fp64)
        return dhatu_set_error(errstr, n, DHATU_ERR_DEVICE, "opencl: %s has no double precision", name);

    ocl_ctx *c = dhatu_calloc(1, sizeof *c);
    if (!c) return dhatu_set_error(errstr, n, DHATU_ERR_NOMEM, "opencl: out of memory");
    c->model = p->model;
    c->device = dev;
    c->platform = plats[want < 0 ? 0 : want];
    cl_int rc;
    cl_context_properties props[] = { CL_CONTEXT_PLATFORM, (cl_context_properties)c->platform, 0 };
    c->cx = clCreateContext(props, 1, &dev, NULL, NULL, &rc);
    if (rc) { st = CL_FAIL("clCreateContext", rc); goto err; }
    for (int s = 0; s < NSLOTS; s++) {
        c->slot[s].q = clCreateCommandQueue(c->cx, dev, p->cfg->profile ? CL_QUEUE_PROFILING_ENABLE : 0, &rc);
        if (rc) { st = CL_FAIL("clCreateCommandQueue", rc); goto err; }
    }
    if ((st = build_program(c, errstr, n)) || (st = check_abi(c, errstr, n))) goto err;
    uint32_t *words = NULL;
    size_t nwords = 0;
    if ((st = dhatu_gpu_tables_build(p->model == DHATU_MODEL_LEXICON ? p->lexicon : NULL, &words, &nwords,
                                     errstr, n)))
        goto err;
    c->tables = clCreateBuffer(c->cx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, nwords * 4, words, &rc);
    c->mem_tables = nwords * 4;
    dhatu_free(words);
    if (rc) { st = CL_FAIL("clCreateBuffer (tables)", rc); goto err; }
    if ((st = alloc_slots(c, p->cfg, errstr, n))) goto err;
    if (p->cfg->profile) {
        c->cap_ev = 10 * (p->cfg->batch_max_articles + 1); /* at most 10 commands per chunk */
        c->ev = dhatu_calloc(c->cap_ev, sizeof *c->ev);
        c->ev_kind = dhatu_calloc(c->cap_ev, 1);
        if (!c->ev || !c->ev_kind) { st = dhatu_set_error(errstr, n, DHATU_ERR_NOMEM, "opencl: out of memory"); goto err; }
    }
    snprintf(c->describe, sizeof c->describe, "opencl: %s (%s, %s, %u compute units, %.1f GiB), %d slots of %.0f %s",
             name, pname, type_name(kind), cus, (double)global / (1 << 30), NSLOTS,
             (double)c->slot_bytes / (c->slot_bytes >= (1 << 20) ? 1 << 20 : 1 << 10),
             c->slot_bytes >= (1 << 20) ? "MiB" : "KiB");
    *out = c;
    return DHATU_OK;
err:
    ocl_free(c);
    return st;
}

/* Where the next command's event goes (NULL: not profiling). */
static cl_event *next_event(ocl_ctx *c, int kind)
{
    if (!c->ev || c->nev == c->cap_ev) return NULL;
    c->ev_kind[c->nev] = (unsigned char)kind;
    return &c->ev[c->nev++];
}

/* Adds the device time of the call's events to c->times; releases them. */
static void account_events(ocl_ctx *c)
{
    for (size_t i = 0; i < c->nev; i++) {
        cl_ulong t0 = 0, t1 = 0;
        if (!clGetEventProfilingInfo(c->ev[i], CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) &&
            !clGetEventProfilingInfo(c->ev[i], CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) && t1 > t0)
            c->times[c->ev_kind[i]] += (double)(t1 - t0) * 1e-9;
        clReleaseEvent(c->ev[i]);
    }
    c->nev = 0;
}

static void ocl_device_times(void *ctx, double t[3])
{
    ocl_ctx *c = ctx;
    memcpy(t, c->times, sizeof c->times);
}

static cl_int set_args(cl_kernel k, int nargs, const void *const *vals, const size_t *sizes)
{
    cl_int rc = CL_SUCCESS;
    for (int i = 0; i < nargs && !rc; i++) rc = clSetKernelArg(k, (cl_uint)i, sizes[i], vals[i]);
    return rc;
}

static cl_int launch(cl_command_queue q, cl_kernel k, size_t items, cl_event *ev)
{
    if (dhatu_gpu_injected_failure()) return CL_OUT_OF_RESOURCES;
    size_t global = (items + LOCAL - 1) / LOCAL * LOCAL;
    return clEnqueueNDRangeKernel(q, k, 1, NULL, &global, NULL, 0, NULL, ev);
}

/* Enqueues chunk [a, z) of b on slot s: segments, copy-in, kernels, and the
 * records copied to out[a..z). The slot's host segment tables must be free
 * (the caller waited for its previous chunk). */
static cl_int enqueue_chunk(ocl_ctx *c, ocl_slot *s, const dhatu_batch_view *b, size_t a, size_t z,
                            dhatu_record *out, const char **what)
{
    cl_uint cnt = (cl_uint)(z - a), lexicon = c->model == DHATU_MODEL_LEXICON;
    cl_ulong base = b->offsets[a];
    size_t bytes = (size_t)(b->offsets[z] - base);
    cl_uint nseg = (cl_uint)dhatu_gpu_segment(b, a, z, s->h_seg_off, s->h_seg_art, s->h_seg_first);
    cl_int rc;
    *what = "clEnqueueWriteBuffer";
    struct { cl_mem m; size_t size; const void *p; int on; } in[] = {
        { s->text, bytes, b->text + base, bytes > 0 },
        { s->seg_off, ((size_t)nseg + 1) * 8, s->h_seg_off, 1 },
        { s->seg_art, (size_t)nseg * 4, s->h_seg_art, 1 },
        { s->seg_first, ((size_t)cnt + 1) * 4, s->h_seg_first, 1 },
        { s->langmask, (size_t)cnt * 4, b->langmask + a, (int)lexicon },
        { s->offsets, ((size_t)cnt + 1) * 8, b->offsets + a, !lexicon },
    };
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        if (!in[i].on) continue;
        if ((rc = clEnqueueWriteBuffer(s->q, in[i].m, CL_FALSE, 0, in[i].size, in[i].p, 0, NULL, next_event(c, 0))))
            return rc;
    }
    *what = "a kernel launch";
    const void *v[] = { &c->tables, &s->text, &base, &s->seg_off, &s->seg_art, &s->langmask, &nseg, &lexicon,
                        &s->seg_out };
    const size_t sz[] = { sizeof(cl_mem), sizeof(cl_mem), sizeof base, sizeof(cl_mem), sizeof(cl_mem),
                          sizeof(cl_mem), sizeof nseg, sizeof lexicon, sizeof(cl_mem) };
    rc = set_args(c->k_scan, 9, v, sz);
    if (!rc) rc = launch(s->q, c->k_scan, nseg, next_event(c, 1));
    if (!rc && lexicon) {
        const void *v2[] = { &s->seg_first, &s->seg_out, &cnt, &s->out };
        const size_t sz2[] = { sizeof(cl_mem), sizeof(cl_mem), sizeof cnt, sizeof(cl_mem) };
        rc = set_args(c->k_lexicon_finish, 4, v2, sz2);
        if (!rc) rc = launch(s->q, c->k_lexicon_finish, cnt, next_event(c, 1));
    } else if (!rc) {
        const void *v1[] = { &s->text, &s->offsets, &cnt, &s->raw };
        const size_t sz1[] = { sizeof(cl_mem), sizeof(cl_mem), sizeof cnt, sizeof(cl_mem) };
        const void *v2[] = { &s->seg_first, &s->seg_out, &s->raw, &cnt, &s->out };
        const size_t sz2[] = { sizeof(cl_mem), sizeof(cl_mem), sizeof(cl_mem), sizeof cnt, sizeof(cl_mem) };
        rc = set_args(c->k_seed_hash, 4, v1, sz1);
        if (!rc) rc = launch(s->q, c->k_seed_hash, (size_t)cnt * 9, next_event(c, 1));
        if (!rc) rc = set_args(c->k_seed_finish, 5, v2, sz2);
        if (!rc) rc = launch(s->q, c->k_seed_finish, cnt, next_event(c, 1));
    }
    if (rc) return rc;
    *what = "clEnqueueReadBuffer";
    rc = clEnqueueReadBuffer(s->q, s->out, CL_FALSE, 0, cnt * sizeof(dhatu_record), out + a, 0, NULL,
                             next_event(c, 2));
    if (!rc) { *what = "clFlush"; rc = clFlush(s->q); }
    return rc;
}

/* Waits for every slot; the first error wins. */
static cl_int drain(ocl_ctx *c)
{
    cl_int first = CL_SUCCESS;
    for (int s = 0; s < NSLOTS; s++) {
        cl_int rc = clFinish(c->slot[s].q);
        if (rc && !first) first = rc;
    }
    account_events(c);
    return first;
}

static dhatu_status ocl_vectorize(void *ctx, const dhatu_batch_view *b, dhatu_record *out, char *errstr, size_t n)
{
    ocl_ctx *c = ctx;
    size_t target = dhatu_gpu_chunk_target(b, c->min_chunk, c->slot_bytes);
    size_t k = 0;
    for (size_t a = 0; a < b->n; k++) {
        size_t z = dhatu_gpu_chunk_end(b, a, c->slot_articles, target);
        const char *what = "clFinish";
        ocl_slot *s = &c->slot[k % NSLOTS];
        /* Wait for the slot's previous chunk before reusing its segment
         * tables: at most NSLOTS chunks are in flight. */
        cl_int rc = k >= NSLOTS ? clFinish(s->q) : CL_SUCCESS;
        if (!rc) rc = enqueue_chunk(c, s, b, a, z, out, &what);
        if (rc) {
            drain(c); /* nothing may still write into out after we return */
            return dhatu_set_error(errstr, n, DHATU_ERR_DEVICE, "opencl: %s failed on articles %zu..%zu: %s (%d)",
                                   what, a, z - 1, cl_errname(rc), (int)rc);
        }
        a = z;
    }
    cl_int rc = drain(c);
    if (rc) return CL_FAIL("clFinish", rc);
    return DHATU_OK;
}

/* Pinned host memory: a mapped CL_MEM_ALLOC_HOST_PTR buffer, its cl_mem
 * kept in the first HOST_HDR bytes. */
static void *ocl_host_alloc(void *ctx, size_t size)
{
    ocl_ctx *c = ctx;
    cl_int rc;
    cl_mem m = clCreateBuffer(c->cx, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, size + HOST_HDR, NULL, &rc);
    if (rc) return NULL;
    void *p = clEnqueueMapBuffer(c->slot[0].q, m, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, size + HOST_HDR, 0, NULL,
                                 NULL, &rc);
    if (rc) { clReleaseMemObject(m); return NULL; }
    memcpy(p, &m, sizeof m);
    memcpy((char *)p + sizeof m, &size, sizeof size);
    atomic_fetch_add(&c->mem_pinned, size);
    return (char *)p + HOST_HDR;
}

static void ocl_host_free(void *ctx, void *ptr)
{
    ocl_ctx *c = ctx;
    char *p = (char *)ptr - HOST_HDR;
    cl_mem m;
    size_t size;
    memcpy(&m, p, sizeof m);
    memcpy(&size, p + sizeof m, sizeof size);
    atomic_fetch_sub(&c->mem_pinned, size);
    clEnqueueUnmapMemObject(c->slot[0].q, m, p, 0, NULL, NULL);
    clFinish(c->slot[0].q);
    clReleaseMemObject(m);
}

static const char *ocl_describe(void *ctx) { return ((ocl_ctx *)ctx)->describe; }

static void ocl_device_memory(void *ctx, size_t m[3])
{
    ocl_ctx *c = ctx;
    m[0] = c->mem_slots;
    m[1] = c->mem_tables;
    m[2] = atomic_load(&c->mem_pinned);
}

dhatu_status dhatu_opencl_sha256(void *ctx, const char *text, const uint64_t *offsets, size_t count,
                                 uint32_t *digests, char *errstr, size_t n)
{
    ocl_ctx *c = ctx;
    ocl_slot *s = &c->slot[0];
    size_t bytes = (size_t)(offsets[count] - offsets[0]);
    if (count > c->slot_articles || bytes > c->slot_bytes)
        return dhatu_set_error(errstr, n, DHATU_ERR_ARG, "opencl: sha256 test input too large");
    cl_uint cnt = (cl_uint)count;
    cl_mem d = clCreateBuffer(c->cx, CL_MEM_WRITE_ONLY, count * 32 + 32, NULL, NULL);
    if (!d) return dhatu_set_error(errstr, n, DHATU_ERR_DEVICE, "opencl: clCreateBuffer failed");
    cl_int rc = clEnqueueWriteBuffer(s->q, s->offsets, CL_FALSE, 0, (count + 1) * 8, offsets, 0, NULL, NULL);
    if (!rc && bytes) rc = clEnqueueWriteBuffer(s->q, s->text, CL_FALSE, 0, bytes, text + offsets[0], 0, NULL, NULL);
    const void *v[] = { &s->text, &s->offsets, &cnt, &d };
    const size_t sz[] = { sizeof(cl_mem), sizeof(cl_mem), sizeof cnt, sizeof(cl_mem) };
    if (!rc) rc = set_args(c->k_sha256, 4, v, sz);
    if (!rc) rc = launch(s->q, c->k_sha256, count, NULL);
    if (!rc) rc = clEnqueueReadBuffer(s->q, d, CL_TRUE, 0, count * 32, digests, 0, NULL, NULL);
    clFinish(s->q);
    clReleaseMemObject(d);
    return rc ? CL_FAIL("sha256 test kernel", rc) : DHATU_OK;
}

const struct dhatu_backend_i dhatu_backend_opencl_i = {
    /* .get_name        = */ ocl_name,
    /* .init            = */ ocl_init,
    /* .vectorize_batch = */ ocl_vectorize,
    /* .free            = */ ocl_free,
    /* .describe        = */ ocl_describe,
    /* .host_alloc      = */ ocl_host_alloc,
    /* .host_free       = */ ocl_host_free,
    /* .device_times    = */ ocl_device_times,
    /* .device_memory   = */ ocl_device_memory,
};
