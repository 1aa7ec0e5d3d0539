/* unicode.c -- see unicode.h. */
#include "unicode.h"
#include "unicode_tables.h"
#include "dhatu.h"

uint32_t dhatu_utf8_decode(const unsigned char *s, size_t n, size_t *len)
{
    unsigned char b0 = s[0];
    *len = 1;
    if (b0 < 0x80) return b0;
    /* lo/hi bound the second byte (Unicode Table 3-7); later bytes are 80..BF. */
    unsigned char lo = 0x80, hi = 0xBF;
    size_t need;
    uint32_t cp;
    if (b0 >= 0xC2 && b0 <= 0xDF) { need = 2; cp = b0 & 0x1F; }
    else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 3; cp = b0 & 0x0F;
        if (b0 == 0xE0) lo = 0xA0;
        else if (b0 == 0xED) hi = 0x9F; /* no UTF-16 surrogates */
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 4; cp = b0 & 0x07;
        if (b0 == 0xF0) lo = 0x90;
        else if (b0 == 0xF4) hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return DHATU_CP_INVALID;
    }
    if (n < need) return DHATU_CP_INVALID;
    if (s[1] < lo || s[1] > hi) return DHATU_CP_INVALID;
    cp = (cp << 6) | (s[1] & 0x3F);
    for (size_t i = 2; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80) return DHATU_CP_INVALID;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *len = need;
    return cp;
}

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
