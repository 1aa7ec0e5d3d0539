/* log.c -- see log.h. */
#include "log.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void log_init(logger *l, const char *prog, const char *comp, log_level level, log_style style)
{
    l->prog = prog;
    snprintf(l->comp, sizeof l->comp, "%s", comp ? comp : "");
    l->level = level;
    l->style = style;
}

void log_derive(logger *child, const logger *parent, const char *comp)
{
    log_init(child, parent->prog, comp, parent->level, parent->style);
}

log_level log_from_syslog(int s)
{
    return s <= 3 ? LOG_ERROR : s == 4 ? LOG_WARN : s <= 6 ? LOG_INFO : LOG_DEBUG;
}

void log_write(const logger *l, log_level level, const char *fmt, ...)
{
    static const char *const service_names[] = { "ERROR", "WARN", "INFO", "DEBUG" };
    static const char *const tool_names[] = { "error: ", "warning: ", "", "debug: " };
    char line[4096];
    int n;
    if (l->style == LOG_SERVICE) {
        char ts[32];
        time_t t = time(NULL);
        struct tm tm;
        strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&t, &tm));
        n = snprintf(line, sizeof line, "%s %s[%d] %s [%s]: ", ts, l->prog, (int)getpid(),
                     service_names[level], l->comp);
    } else {
        n = snprintf(line, sizeof line, "%s [%s]: %s", l->prog, l->comp, tool_names[level]);
    }
    if (n < 0) return;
    size_t used = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + used, sizeof line - used, fmt, ap);
    va_end(ap);
    if (m < 0) return;
    used += (size_t)m;
    if (used > sizeof line - 2) {
        used = sizeof line - 2;
        memcpy(line + used - 3, "...", 3);
    }
    line[used++] = '\n';
    /* One write(2): lines of concurrent threads never interleave. */
    ssize_t w = write(STDERR_FILENO, line, used);
    (void)w;
}
