/* lsan_opencl_probe.c -- an OpenCL buffer created and, with the argument
 * "leak", never released: what a forgotten clReleaseMemObject in our
 * backend would look like to LeakSanitizer. check_lsan_opencl.sh runs it
 * under tests/lsan.supp and requires the leak to be reported (and the
 * clean run to stay clean), so the suppressions cannot hide our objects. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    cl_platform_id p;
    cl_device_id d;
    cl_int rc;
    if (clGetPlatformIDs(1, &p, NULL) != CL_SUCCESS || clGetDeviceIDs(p, CL_DEVICE_TYPE_ALL, 1, &d, NULL) != CL_SUCCESS) {
        puts("no OpenCL device");
        return 77;
    }
    cl_context ctx = clCreateContext(NULL, 1, &d, NULL, NULL, &rc);
    if (rc != CL_SUCCESS) return 1;
    cl_mem m = clCreateBuffer(ctx, CL_MEM_READ_WRITE, 4096, NULL, &rc);
    if (rc != CL_SUCCESS) return 1;
    if (!(argc > 1 && !strcmp(argv[1], "leak"))) clReleaseMemObject(m);
    clReleaseContext(ctx);
    return 0;
}
