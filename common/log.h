/* log.h -- one log format for every program, level-checked, naming the
 * component that speaks.
 *
 * A logger is a small value (program, component, level, style) that its
 * owner passes where it is needed, so no global state is involved: a
 * module keeps a pointer to its own logger, and librdkafka's log callback
 * finds the one of its handle through the handle's opaque pointer.
 *
 * Lines (one write per line, so threads never interleave inside a line):
 *   service style:  2026-11-29T09:10:00Z dhatu-consumer[4242] INFO [consumer:dhatu]: assigned 4 partition(s)
 *   tool style:     dhatu-vectorize [input]: error: a.jsonl:2: offset 29: invalid JSON
 * The macros check the level before the arguments are evaluated.
 * Errors: none; a line longer than 4 KiB is cut with "...".
 */
#ifndef LOG_H
#define LOG_H

typedef enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 } log_level;
typedef enum log_style { LOG_TOOL = 0, LOG_SERVICE = 1 } log_style;

typedef struct logger {
    const char *prog;       /* static: "dhatu-consumer" */
    char comp[96];          /* "consumer:dhatu", "engine", "kafka", "input" */
    log_level level;        /* lines above it are skipped */
    log_style style;
} logger;

void log_init(logger *l, const char *prog, const char *comp, log_level level, log_style style);
/* The same program and settings, another component. */
void log_derive(logger *child, const logger *parent, const char *comp);
void log_write(const logger *l, log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* librdkafka's syslog levels (0 emergency .. 7 debug) in ours. */
log_level log_from_syslog(int syslog_level);

#define LOG_AT(l, lv, ...) do { if ((lv) <= (l)->level) log_write((l), (lv), __VA_ARGS__); } while (0)
#define log_error(l, ...) LOG_AT((l), LOG_ERROR, __VA_ARGS__)
#define log_warn(l, ...)  LOG_AT((l), LOG_WARN, __VA_ARGS__)
#define log_info(l, ...)  LOG_AT((l), LOG_INFO, __VA_ARGS__)
#define log_debug(l, ...) LOG_AT((l), LOG_DEBUG, __VA_ARGS__)

#endif
