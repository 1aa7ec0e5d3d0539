/* member.h -- one member's life (member.c) around its polling loop: start,
 * summary, cleanup; it composes the other modules and wires the librdkafka
 * callbacks. main.c calls these in that order. */
#ifndef MEMBER_H
#define MEMBER_H


typedef struct consumer consumer;

/* Everything up to the first poll, on a consumer whose configuration is
 * parsed and whose logs are set. 0, or -1 after logging why (the caller
 * exits EXIT_CONFIG, after member_cleanup). */
int member_start(consumer *c);
/* The run's result line, logged even with -q. */
void member_summary(consumer *c, int status);
/* Frees whatever member_start set up, in reverse order; the consumer
 * itself stays the caller's. */
void member_cleanup(consumer *c);

#endif
