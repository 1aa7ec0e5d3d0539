/* names.c -- see dhatu_record.h. */
#include "dhatu_record.h"
#include <stddef.h>

static const char *const names[DHATU_NDHATU] = {
    "RELATE", "MODAL", "EXIST", "EVAL", "COMM", "CAUSE", "ITER", "DECIDE", "FEEL"
};

const char *dhatu_name(int i)
{
    return (i >= 0 && i < DHATU_NDHATU) ? names[i] : NULL;
}
