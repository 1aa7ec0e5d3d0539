/* outcome.c -- see outcome.h. */
#include "outcome.h"

void outcome_fail(atomic_int *fatal, int status)
{
    int expected = 0;
    atomic_compare_exchange_strong(fatal, &expected, status);
}

const char *outcome_dl_name(int cls)
{
    static const char *const own[] = { "too-large", "invalid-for-model", "record-too-large", "rejected",
                                       "redelivery-limit", "other" };
    if (cls >= 0 && cls < SCHEMA_NSTATUS) return schema_status_name((schema_status)cls);
    return cls >= DL_TOO_LARGE && cls < DL_NCLASSES ? own[cls - DL_TOO_LARGE] : "other";
}

int outcome_dl_used(int cls)
{
    /* Not message faults: out of memory, a broken built-in schema, a
     * registry that does not answer (its messages wait, stage.c). */
    return cls != SCHEMA_OK && cls != SCHEMA_ERR_NOMEM && cls != SCHEMA_ERR_INTERNAL && cls != SCHEMA_ERR_UNAVAILABLE &&
           cls >= 0 && cls < DL_NCLASSES;
}
