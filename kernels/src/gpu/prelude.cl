/* gpu/prelude.cl -- OpenCL C definitions that let finish.h and gpu/device.h
 * compile as OpenCL C 1.2 (see device.h for the list). Doubles are required:
 * records carry them, and results must match the host to 1e-6. Contraction
 * into fused multiply-adds is off so that the device rounds as the host does. */
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
#pragma OPENCL FP_CONTRACT OFF

typedef uchar uint8_t;
typedef char int8_t;
typedef uint uint32_t;
typedef int int32_t;
typedef ulong uint64_t;

/* Mirror of dhatu_record (dhatu.h); dhatu_k_abi checks the layout at start. */
typedef struct dhatu_record {
    double   weights[9];
    double   confidence[9];
    double   prime_bases[10];
    double   ambiguity;
    uint64_t tokens;
    uint64_t signature;
    uint32_t positive[9];
    uint32_t negative[9];
    uint8_t  polarity[9];
    uint8_t  intensity[9];
    int8_t   dominant;
} dhatu_record;

#define DEV static inline
#define KERNEL __kernel void
#define G __global
#define C_ARRAY __constant
#define GID get_global_id(0)
#define DHATU_UNROLL _Pragma("unroll")

#define DHATU_FINISH_FN static inline
#define DHATU_FINISH_RECORD dhatu_record
