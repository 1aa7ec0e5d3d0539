/* gpu/device.h -- the device code of both GPU backends, written once.
 *
 * Compiled as OpenCL C (backend_opencl.c embeds gpu/prelude.cl, gpu/layout.h,
 * finish.h and this file and builds them at run time) and as CUDA C++ (backend_cuda.cu
 * includes them). The prelude of each language defines:
 *   DEV           a device function ("static inline" / "__device__ static inline")
 *   KERNEL        a kernel entry point returning void
 *   G             the global address space qualifier ("__global" / nothing)
 *   C_ARRAY       a constant table ("__constant" / "__constant__ static")
 *   GID           the global index of the work-item or thread
 *   DHATU_UNROLL  asks the compiler to unroll the loop that follows
 *   uint8_t .. uint64_t, int32_t, int8_t and dhatu_record (the host's layout)
 *
 * The lexicon scan is the cpu backend's fused one-pass algorithm
 * (backend_cpu.c), with its flagged trie states and ASCII table, over the flat tables
 * (gpu/layout.h, built by gpu/tables.c); the conformance suite holds it
 * to cpu-ref.
 * Articles are scanned in segments of a few KiB (one work-item each, so a
 * long article spreads over many), with no limit on length; one work-item
 * per article then sums its segments and finishes the record. The seed
 * model hashes with one work-item per (article, dhātu) digest.
 */

/* Unicode's well-formed UTF-8 (unicode.c, dhatu_utf8_decode). */
DEV uint32_t dev_decode(const G uint8_t *s, uint64_t n, uint32_t *len)
{
    uint32_t b0 = s[0];
    *len = 1;
    if (b0 < 0x80) return b0;
    uint32_t lo = 0x80, hi = 0xBF, need, cp;
    if (b0 >= 0xC2 && b0 <= 0xDF) { need = 2; cp = b0 & 0x1F; }
    else if (b0 >= 0xE0 && b0 <= 0xEF) {
        need = 3; cp = b0 & 0x0F;
        if (b0 == 0xE0) lo = 0xA0;
        else if (b0 == 0xED) hi = 0x9F;
    } else if (b0 >= 0xF0 && b0 <= 0xF4) {
        need = 4; cp = b0 & 0x07;
        if (b0 == 0xF0) lo = 0x90;
        else if (b0 == 0xF4) hi = 0x8F;
    } else {
        return CP_INVALID;
    }
    if (n < need) return CP_INVALID;
    if (s[1] < lo || s[1] > hi) return CP_INVALID;
    cp = (cp << 6) | (s[1] & 0x3F);
    for (uint32_t i = 2; i < need; i++) {
        if ((s[i] & 0xC0) != 0x80) return CP_INVALID;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *len = need;
    return cp;
}

DEV int dev_class(const G uint32_t *t, uint32_t cp)
{
    if (cp < t[T_DIRECT]) return (int)t[t[T_CLASS_DIRECT] + cp];
    if (cp > 0x10FFFF) return CC_SEP;
    const G uint32_t *start = t + t[T_RANGE_START];
    uint32_t lo = 0, hi = t[T_NRANGES];
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if (start[mid] <= cp) lo = mid; else hi = mid;
    }
    return (int)t[t[T_RANGE_CLASS] + lo];
}

DEV uint32_t dev_fold(const G uint32_t *t, uint32_t cp)
{
    if (cp < t[T_DIRECT]) return t[t[T_FOLD_DIRECT] + cp];
    const G uint32_t *from = t + t[T_FOLD_FROM];
    uint32_t lo = 0, hi = t[T_NFOLDS];
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (from[mid] < cp) lo = mid + 1; else hi = mid;
    }
    if (lo < t[T_NFOLDS] && from[lo] == cp) return t[t[T_FOLD_TO] + lo];
    return cp;
}

/* ---- the lexicon matcher (backend_cpu.c: skip_gap, scan_token, lexicon_article) ----
 * A trie state is node << 2 | flags (ST_STEM, ST_EXACT: a term ends here),
 * 0 when dead, as the table stores it: most bytes then cost one load. */

DEV uint32_t dev_step(const G uint32_t *t, uint32_t st, uint32_t cls)
{
    return t[t[T_NEXT] + (st >> 2) * t[T_NCLASSES] + cls];
}

/* Feeds code point f as UTF-8 bytes; returns the node reached (0: dead). */
DEV uint32_t dev_feed(const G uint32_t *t, uint32_t node, uint32_t f)
{
    uint32_t u[4], k;
    if (f < 0x80) { u[0] = f; k = 1; }
    else if (f < 0x800) { u[0] = 0xC0 | (f >> 6); u[1] = 0x80 | (f & 0x3F); k = 2; }
    else if (f < 0x10000) {
        u[0] = 0xE0 | (f >> 12); u[1] = 0x80 | ((f >> 6) & 0x3F); u[2] = 0x80 | (f & 0x3F); k = 3;
    } else {
        u[0] = 0xF0 | (f >> 18); u[1] = 0x80 | ((f >> 12) & 0x3F);
        u[2] = 0x80 | ((f >> 6) & 0x3F); u[3] = 0x80 | (f & 0x3F); k = 4;
    }
    const G uint32_t *bcls = t + t[T_BYTE_CLASS];
    for (uint32_t i = 0; i < k && node; i++) node = dev_step(t, node, bcls[u[i]]);
    return node;
}

/* The term ending at state st (exact or stem table) if it applies to this article. */
DEV uint32_t dev_live(const G uint32_t *t, uint32_t table, uint32_t st, uint32_t mask)
{
    if (!(st & (table == T_STEM ? ST_STEM : ST_EXACT))) return NO_TERM;
    uint32_t term = t[t[table] + (st >> 2)];
    return (t[t[T_TERM_LIVE] + term] & mask) ? term : NO_TERM;
}

/* From p, skips what starts no token; sets *broken when a phrase-breaking
 * character (SEP, or a mark with no base) was crossed. */
DEV uint64_t dev_skip_gap(const G uint32_t *t, const G uint8_t *s, uint64_t n, uint64_t p, int *broken)
{
    while (p < n) {
        uint32_t len;
        int k = dev_class(t, dev_decode(s + p, n - p, &len));
        if (k == CC_WORD || k == CC_SYMBOL) return p;
        if (k == CC_SEP || k == CC_MARK) *broken = 1;
        p += len;
    }
    return n;
}

/* Scans the token at p, walking the trie from *node (0: no walk). Returns
 * the token end; *node is the node reached and *cand the term the token
 * completes (exact at its end, else the deepest live stem, else NO_TERM). */
DEV uint64_t dev_scan_token(const G uint32_t *t, const G uint8_t *s, uint64_t n, uint64_t p,
                            uint32_t mask, uint32_t *node, uint32_t *cand)
{
    uint32_t st = *node, stem = NO_TERM, len;
    uint32_t cp = dev_decode(s + p, n - p, &len);
    if (dev_class(t, cp) == CC_SYMBOL) {
        if (st) st = dev_feed(t, st, cp); /* symbols are not folded */
        p += len;
    } else {
        const G uint32_t *ascii = t + t[T_ASCII_TRIE];
        while (p < n) {
            uint32_t b = s[p];
            if (b < 0x80) {
                /* ASCII: letters and digits continue the token, anything else ends it. */
                uint32_t k = ascii[b];
                if (k == ASCII_NOT_WORD) break;
                if (st) {
                    st = dev_step(t, st, k);
                    if (st & ST_STEM) {
                        uint32_t x = dev_live(t, T_STEM, st, mask);
                        if (x != NO_TERM) stem = x;
                    }
                }
                p++;
                continue;
            }
            cp = dev_decode(s + p, n - p, &len);
            int k = dev_class(t, cp);
            if (k == CC_IGNORE) { p += len; continue; }
            if (k != CC_WORD && k != CC_MARK) break;
            if (st) {
                uint32_t f = dev_fold(t, cp);
                if (f) {
                    st = dev_feed(t, st, f);
                    if (st) {
                        uint32_t x = dev_live(t, T_STEM, st, mask);
                        if (x != NO_TERM) stem = x;
                    }
                }
            }
            p += len;
        }
    }
    if (st) {
        uint32_t x = dev_live(t, T_EXACT, st, mask);
        if (x != NO_TERM) stem = x;
    }
    *cand = stem;
    *node = st;
    return p;
}

/* Leftmost-longest matching over one article or segment: cue counts into
 * pos[] and neg[] (zeroed by the caller); returns the tokens. */
DEV uint64_t dev_lexicon_scan(const G uint32_t *t, const G uint8_t *s, uint64_t n, uint32_t mask,
                              uint32_t pos[9], uint32_t neg[9])
{
    uint64_t tokens = 0;
    int broken = 0;
    uint64_t p = dev_skip_gap(t, s, n, 0, &broken);
    const uint32_t sep = t[T_SEP_CLASS];
    while (p < n) {
        uint32_t node = ST_ROOT, k = 0, best_k = 0, best = NO_TERM;
        uint64_t first_end = p, best_end = p, q = p;
        for (;;) {
            uint32_t cand;
            uint64_t end = dev_scan_token(t, s, n, q, mask, &node, &cand);
            if (++k == 1) first_end = end;
            if (cand != NO_TERM) { best = cand; best_k = k; best_end = end; }
            if (!node) break;
            uint32_t next = dev_step(t, node, sep);
            if (!next) break;
            int gap_broken = 0;
            q = dev_skip_gap(t, s, n, end, &gap_broken);
            if (gap_broken || q >= n) break;
            node = next;
        }
        if (best != NO_TERM) {
            uint32_t c0 = t[t[T_TERM_CUE0] + best], nc = t[t[T_TERM_NCUE] + best];
            for (uint32_t i = 0; i < nc; i++) {
                if (!(t[t[T_CUE_MASK] + c0 + i] & mask)) continue;
                uint32_t code = t[t[T_CUE_CODE] + c0 + i];
                if (code >> 8) neg[code & 0xFF]++;
                else pos[code & 0xFF]++;
            }
            tokens += best_k;
            p = best_end;
        } else {
            tokens++;
            p = first_end;
        }
        p = dev_skip_gap(t, s, n, p, &broken);
    }
    return tokens;
}

DEV uint64_t dev_count_tokens(const G uint32_t *t, const G uint8_t *s, uint64_t n)
{
    uint64_t tokens = 0;
    int broken = 0;
    for (uint64_t p = dev_skip_gap(t, s, n, 0, &broken); p < n; p = dev_skip_gap(t, s, n, p, &broken)) {
        uint32_t node = 0, cand;
        p = dev_scan_token(t, s, n, p, 0, &node, &cand);
        tokens++;
    }
    return tokens;
}

DEV void dev_clear(dhatu_record *r)
{
    for (int i = 0; i < 9; i++) {
        r->weights[i] = 0.0; r->confidence[i] = 0.0;
        r->positive[i] = 0; r->negative[i] = 0; r->polarity[i] = 0; r->intensity[i] = 0;
    }
    for (int k = 0; k < 10; k++) r->prime_bases[k] = 0.0;
    r->ambiguity = 0.0;
    r->tokens = 0;
    r->signature = 0;
    r->dominant = -1;
}

/* ---- SHA-256 (FIPS 180-4) of prefix[d] followed by the text ---- */

C_ARRAY uint32_t SHA_K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
};

/* "RELATE::" .. "FEEL::", 8 bytes each, zero padded; index 9: no prefix. */
C_ARRAY uint8_t SHA_PREFIX[10][8] = {
    { 'R', 'E', 'L', 'A', 'T', 'E', ':', ':' }, { 'M', 'O', 'D', 'A', 'L', ':', ':', 0 },
    { 'E', 'X', 'I', 'S', 'T', ':', ':', 0 },   { 'E', 'V', 'A', 'L', ':', ':', 0, 0 },
    { 'C', 'O', 'M', 'M', ':', ':', 0, 0 },     { 'C', 'A', 'U', 'S', 'E', ':', ':', 0 },
    { 'I', 'T', 'E', 'R', ':', ':', 0, 0 },     { 'D', 'E', 'C', 'I', 'D', 'E', ':', ':' },
    { 'F', 'E', 'E', 'L', ':', ':', 0, 0 },     { 0, 0, 0, 0, 0, 0, 0, 0 }
};
C_ARRAY uint8_t SHA_PREFIX_LEN[10] = { 8, 7, 7, 6, 6, 7, 6, 8, 6, 0 };

DEV uint32_t dev_rotr(uint32_t x, uint32_t k) { return (x >> k) | (x << (32 - k)); }

DEV void dev_sha256_block(uint32_t h[8], uint32_t w[16])
{
    uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    /* Unrolled, so that the 16-word schedule window lives in registers. */
    DHATU_UNROLL
    for (int i = 0; i < 64; i++) {
        uint32_t wi;
        if (i < 16) {
            wi = w[i];
        } else {
            /* The schedule in place: w[i mod 16] becomes w[i]. */
            uint32_t w15 = w[(i + 1) & 15], w2 = w[(i + 14) & 15];
            uint32_t s0 = dev_rotr(w15, 7) ^ dev_rotr(w15, 18) ^ (w15 >> 3);
            uint32_t s1 = dev_rotr(w2, 17) ^ dev_rotr(w2, 19) ^ (w2 >> 10);
            wi = w[i & 15] + s0 + w[(i + 9) & 15] + s1;
            w[i & 15] = wi;
        }
        uint32_t S1 = dev_rotr(e, 6) ^ dev_rotr(e, 11) ^ dev_rotr(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + SHA_K[i] + wi;
        uint32_t S0 = dev_rotr(a, 2) ^ dev_rotr(a, 13) ^ dev_rotr(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

/* Byte i of the padded message prefix[d] || text (total length len). */
DEV uint32_t dev_msg_byte(int d, uint32_t plen, const G uint8_t *s, uint64_t len, uint64_t padded, uint64_t i)
{
    if (i < plen) return SHA_PREFIX[d][i];
    if (i < len) return s[i - plen];
    if (i == len) return 0x80;
    if (i + 8 >= padded) return (uint32_t)(((len * 8) >> (8 * (padded - 1 - i))) & 0xFF);
    return 0;
}

/* SHA-256 of prefix[d] || s[0..n-1]; d = 9 hashes s alone. */
DEV void dev_sha256(int d, const G uint8_t *s, uint64_t n, uint32_t h[8])
{
    uint32_t plen = SHA_PREFIX_LEN[d];
    uint64_t len = plen + n;
    uint64_t padded = (len + 9 + 63) / 64 * 64;
    h[0] = 0x6a09e667; h[1] = 0xbb67ae85; h[2] = 0x3c6ef372; h[3] = 0xa54ff53a;
    h[4] = 0x510e527f; h[5] = 0x9b05688c; h[6] = 0x1f83d9ab; h[7] = 0x5be0cd19;
    uint32_t w[16];
    for (uint64_t blk = 0; blk < padded; blk += 64) {
        if (blk >= plen && blk + 64 <= len) {
            /* A block wholly inside the text: the common case, no branches per byte. */
            const G uint8_t *p = s + (blk - plen);
            for (int j = 0; j < 16; j++)
                w[j] = (uint32_t)p[4 * j] << 24 | (uint32_t)p[4 * j + 1] << 16 |
                       (uint32_t)p[4 * j + 2] << 8 | (uint32_t)p[4 * j + 3];
        } else {
            for (int j = 0; j < 16; j++) {
                uint64_t i = blk + 4 * (uint64_t)j;
                w[j] = dev_msg_byte(d, plen, s, len, padded, i) << 24 |
                       dev_msg_byte(d, plen, s, len, padded, i + 1) << 16 |
                       dev_msg_byte(d, plen, s, len, padded, i + 2) << 8 |
                       dev_msg_byte(d, plen, s, len, padded, i + 3);
            }
        }
        dev_sha256_block(h, w);
    }
}

/* ---- kernels. Article i of a chunk is text[offsets[i] - base ..
 * offsets[i + 1] - base), base = offsets[0]: offsets are the batch's own.
 * Articles are scanned in segments (gpu/tables.h, dhatu_gpu_segment): cut
 * just after a separator byte, where no token or phrase continues, so that
 * the counts of an article are the sums over its segments and a long article
 * is spread over many work-items. ---- */

/* The record layout as this compiler sees it, checked against the host's. */
KERNEL dhatu_k_abi(G uint64_t *out)
{
    if (GID != 0) return;
    dhatu_record r;
    out[0] = sizeof(dhatu_record);
    out[1] = (uint64_t)((char *)&r.tokens - (char *)&r);
    out[2] = (uint64_t)((char *)&r.positive[0] - (char *)&r);
    out[3] = (uint64_t)((char *)&r.dominant - (char *)&r);
}


/* Segment s: seg_off[s] .. seg_off[s + 1] (batch offsets), of article
 * seg_art[s]. With lexicon 0 (the seed model) it counts tokens only. */
KERNEL dhatu_k_scan(const G uint32_t *t, const G uint8_t *text, uint64_t base, const G uint64_t *seg_off,
                    const G uint32_t *seg_art, const G uint32_t *langmask, uint32_t nseg, uint32_t lexicon,
                    G uint32_t *seg_out)
{
    uint32_t s = (uint32_t)GID;
    if (s >= nseg) return;
    const G uint8_t *p = text + (seg_off[s] - base);
    uint64_t n = seg_off[s + 1] - seg_off[s];
    uint32_t pos[9], neg[9];
    for (int d = 0; d < 9; d++) pos[d] = neg[d] = 0;
    uint64_t tokens = lexicon ? dev_lexicon_scan(t, p, n, langmask[seg_art[s]], pos, neg) : dev_count_tokens(t, p, n);
    G uint32_t *o = seg_out + (uint64_t)SEG_WORDS * s;
    for (int d = 0; d < 9; d++) { o[d] = pos[d]; o[9 + d] = neg[d]; }
    o[18] = (uint32_t)tokens;
    o[19] = (uint32_t)(tokens >> 32);
}

/* Sums the segments of article i into r. */
DEV void dev_gather(const G uint32_t *seg_first, const G uint32_t *seg_out, uint32_t i, dhatu_record *r)
{
    dev_clear(r);
    for (uint32_t s = seg_first[i]; s < seg_first[i + 1]; s++) {
        const G uint32_t *o = seg_out + (uint64_t)SEG_WORDS * s;
        for (int d = 0; d < 9; d++) { r->positive[d] += o[d]; r->negative[d] += o[9 + d]; }
        r->tokens += (uint64_t)o[18] | (uint64_t)o[19] << 32;
    }
}

KERNEL dhatu_k_lexicon_finish(const G uint32_t *seg_first, const G uint32_t *seg_out, uint32_t n,
                              G dhatu_record *out)
{
    uint32_t i = (uint32_t)GID;
    if (i >= n) return;
    dhatu_record r;
    dev_gather(seg_first, seg_out, i, &r);
    dhatu_finish_lexicon(&r);
    out[i] = r;
}

KERNEL dhatu_k_seed_hash(const G uint8_t *text, const G uint64_t *offsets, uint32_t n, G uint32_t *raw)
{
    uint32_t g = (uint32_t)GID;
    if (g >= n * 9u) return;
    uint32_t i = g / 9u, d = g % 9u;
    uint64_t base = offsets[0];
    uint32_t h[8];
    dev_sha256((int)d, text + (offsets[i] - base), offsets[i + 1] - offsets[i], h);
    /* Bytes 0, 5, 13, 21 and 29 of the big-endian digest. */
    raw[g] = (h[0] >> 24) + ((h[1] >> 16) & 0xFF) + ((h[3] >> 16) & 0xFF) + ((h[5] >> 16) & 0xFF) +
             ((h[7] >> 16) & 0xFF);
}

KERNEL dhatu_k_seed_finish(const G uint32_t *seg_first, const G uint32_t *seg_out, const G uint32_t *raw,
                           uint32_t n, G dhatu_record *out)
{
    uint32_t i = (uint32_t)GID;
    if (i >= n) return;
    dhatu_record r;
    dev_gather(seg_first, seg_out, i, &r); /* tokens only: the seed model has no cue counts */
    uint32_t v[9];
    for (int d = 0; d < 9; d++) v[d] = raw[9u * i + (uint32_t)d];
    dhatu_finish_seed(&r, v);
    out[i] = r;
}

/* Plain SHA-256 of every article (tests check it against libcrypto). */
KERNEL dhatu_k_sha256(const G uint8_t *text, const G uint64_t *offsets, uint32_t n, G uint32_t *digest)
{
    uint32_t i = (uint32_t)GID;
    if (i >= n) return;
    uint64_t base = offsets[0];
    uint32_t h[8];
    dev_sha256(9, text + (offsets[i] - base), offsets[i + 1] - offsets[i], h);
    for (int k = 0; k < 8; k++) digest[8u * i + (uint32_t)k] = h[k];
}
