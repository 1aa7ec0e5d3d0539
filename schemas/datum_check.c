/* datum_check.c -- see datum_check.h. */
#include "datum_check.h"
#include <stdint.h>

static int read_varint(const unsigned char **p, const unsigned char *end, int64_t *v)
{
    uint64_t u = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (*p >= end) return -1;
        unsigned char b = *(*p)++;
        u |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);     /* zig-zag */
            return 0;
        }
    }
    return -1;
}

static int skip(const unsigned char **p, const unsigned char *end, int64_t n)
{
    if (n < 0 || n > end - *p) return -1;
    *p += n;
    return 0;
}

static int walk(avro_schema_t s, const unsigned char **p, const unsigned char *end, int depth)
{
    int64_t v;
    if (depth > 32) return -1;
    switch (avro_typeof(s)) {
    case AVRO_NULL: return 0;
    case AVRO_BOOLEAN: return skip(p, end, 1);
    case AVRO_FLOAT: return skip(p, end, 4);
    case AVRO_DOUBLE: return skip(p, end, 8);
    case AVRO_INT32:
    case AVRO_INT64: return read_varint(p, end, &v);
    case AVRO_STRING:
    case AVRO_BYTES: return read_varint(p, end, &v) || skip(p, end, v);
    case AVRO_FIXED: return skip(p, end, avro_schema_fixed_size(s));
    case AVRO_ENUM:
        return read_varint(p, end, &v) || v < 0 || v >= avro_schema_enum_number_of_symbols(s) ? -1 : 0;
    case AVRO_UNION:
        if (read_varint(p, end, &v) || v < 0 || (size_t)v >= avro_schema_union_size(s)) return -1;
        return walk(avro_schema_union_branch(s, (int)v), p, end, depth + 1);
    case AVRO_RECORD:
        for (size_t i = 0; i < avro_schema_record_size(s); i++)
            if (walk(avro_schema_record_field_get_by_index(s, (int)i), p, end, depth + 1)) return -1;
        return 0;
    case AVRO_ARRAY:
    case AVRO_MAP:
        for (;;) {      /* blocks: count (negative: followed by a byte size), items */
            int64_t count;
            if (read_varint(p, end, &count)) return -1;
            if (count == 0) return 0;
            if (count < 0) {
                if (read_varint(p, end, &v) || count == INT64_MIN) return -1;
                count = -count;
            }
            if (count > end - *p) return -1;        /* every item takes at least a byte... */
            for (int64_t i = 0; i < count; i++) {
                if (avro_typeof(s) == AVRO_MAP && (read_varint(p, end, &v) || skip(p, end, v))) return -1;
                avro_schema_t item = avro_typeof(s) == AVRO_MAP ? avro_schema_map_values(s) : avro_schema_array_items(s);
                if (walk(item, p, end, depth + 1)) return -1;
            }
        }
    case AVRO_LINK: return walk(avro_schema_link_target(s), p, end, depth + 1);
    default: return -1;
    }
}

int schema_check_datum(avro_schema_t s, const unsigned char **p, const unsigned char *end)
{
    return walk(s, p, end, 0);
}
