/* test_log.c -- the log (common/log.c): format, components, levels. */
#include "testlib.h"
#include "log.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

START_TEST(log_lines_name_program_component_and_level)
{
    FILE *cap = tmpfile();
    ck_assert_ptr_nonnull(cap);
    int saved = dup(STDERR_FILENO);
    dup2(fileno(cap), STDERR_FILENO);
    logger tool, svc;
    log_init(&tool, "prog", "input", LOG_WARN, LOG_TOOL);
    log_init(&svc, "prog", "consumer:g", LOG_INFO, LOG_SERVICE);
    log_error(&tool, "bad %d", 1);
    log_info(&tool, "hidden");          /* above the level */
    log_warn(&tool, "careful");
    log_info(&svc, "assigned %d", 4);
    log_debug(&svc, "hidden too");
    dup2(saved, STDERR_FILENO);
    close(saved);
    char text[1024] = "";
    rewind(cap);
    size_t got = fread(text, 1, sizeof text - 1, cap);
    text[got] = '\0';
    fclose(cap);
    ck_assert_msg(strstr(text, "prog [input]: error: bad 1\n"), "%s", text);
    ck_assert_msg(strstr(text, "prog [input]: warning: careful\n"), "%s", text);
    ck_assert_msg(!strstr(text, "hidden"), "%s", text);
    char want[64];
    snprintf(want, sizeof want, "Z prog[%d] INFO [consumer:g]: assigned 4\n", (int)getpid());
    ck_assert_msg(strstr(text, want), "%s", text);
    ck_assert_int_eq(log_from_syslog(3), LOG_ERROR);
    ck_assert_int_eq(log_from_syslog(4), LOG_WARN);
    ck_assert_int_eq(log_from_syslog(6), LOG_INFO);
    ck_assert_int_eq(log_from_syslog(7), LOG_DEBUG);
}
END_TEST

TL_MAIN("log",
        log_lines_name_program_component_and_level)
