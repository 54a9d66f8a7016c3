#ifndef MONGOC_LOG_HOOK_H
#define MONGOC_LOG_HOOK_H

/* libmongoc's log, caught from the first moment: libmongoc calls mongoc_init() from an ELF
 * constructor, before main(), and logs its start-up warnings (e.g. "Falling back to malloc for
 * counters." when /dev/shm is not writable) to stderr before any handler a program installs in
 * main() could catch them. This hook installs its handler from the executable's .preinit_array,
 * which the dynamic loader runs before every library's constructors; it keeps what libmongoc
 * logs until the program names where the messages go. */

/* Receives one libmongoc log message: its mongoc_log_level_t, domain and text. */
typedef void (*mongoc_log_hook_sink_t)(int level, const char *domain, const char *message);

/* Sends every libmongoc log message to `sink` from now on, first the ones kept since start-up
 * (in order; at most 32, each cut at 1 KiB; `dropped` says how many more were not kept). */
void mongoc_log_hook_set_sink(mongoc_log_hook_sink_t sink);

/* 1 when the handler was installed before libmongoc's start-up (the .preinit_array entry ran). */
int mongoc_log_hook_installed_early(void);

#endif
