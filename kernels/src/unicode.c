/* unicode.c -- see unicode.h. */
#include "unicode.h"
#include "unicode_tables.h"
#include "dhatu.h"

int dhatu_utf8_encode(uint32_t cp, unsigned char out[4])
{
    if (cp < 0x80) { out[0] = (unsigned char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

int dhatu_uni_class(uint32_t cp)
{
    if (cp < DHATU_UNI_DIRECT) return dhatu_uni_class_direct[cp];
    if (cp > 0x10FFFF) return DHATU_CC_SEP;
    /* Last range whose start is <= cp; range 0 starts at DHATU_UNI_DIRECT. */
    size_t lo = 0, hi = DHATU_UNI_NRANGES;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (dhatu_uni_range_start[mid] <= cp) lo = mid; else hi = mid;
    }
    return dhatu_uni_range_class[lo];
}

uint32_t dhatu_uni_fold(uint32_t cp)
{
    if (cp < DHATU_UNI_DIRECT) return dhatu_uni_fold_direct[cp];
    size_t lo = 0, hi = DHATU_UNI_NFOLDS;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (dhatu_uni_fold_from[mid] < cp) lo = mid + 1; else hi = mid;
    }
    if (lo < DHATU_UNI_NFOLDS && dhatu_uni_fold_from[lo] == cp) return dhatu_uni_fold_to[lo];
    return cp;
}

const dhatu_unicode_tables *dhatu_unicode_get_tables(void)
{
    static const dhatu_unicode_tables t = {
        dhatu_uni_class_direct, dhatu_uni_fold_direct, DHATU_UNI_DIRECT,
        dhatu_uni_range_start, dhatu_uni_range_class, DHATU_UNI_NRANGES,
        dhatu_uni_fold_from, dhatu_uni_fold_to, DHATU_UNI_NFOLDS
    };
    return &t;
}

const char *dhatu_unicode_version(void)
{
    return DHATU_UNICODE_VERSION;
}
