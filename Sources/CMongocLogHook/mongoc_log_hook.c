#include "mongoc_log_hook.h"

#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define KEPT_MESSAGES 32
#define MESSAGE_BYTES 1024
#define DOMAIN_BYTES 64

static pthread_mutex_t hook_lock = PTHREAD_MUTEX_INITIALIZER;
static mongoc_log_hook_sink_t hook_sink;
static int hook_installed;
static int hook_installed_early;
static struct {
   int level;
   char domain[DOMAIN_BYTES];
   char message[MESSAGE_BYTES];
} kept[KEPT_MESSAGES];
static int kept_count;
static unsigned long kept_dropped;

static void
hook_handler (mongoc_log_level_t level, const char *domain, const char *message, void *user_data)
{
   (void) user_data;
   pthread_mutex_lock (&hook_lock);
   mongoc_log_hook_sink_t sink = hook_sink;
   if (!sink) {
      if (kept_count < KEPT_MESSAGES) {
         kept[kept_count].level = (int) level;
         snprintf (kept[kept_count].domain, DOMAIN_BYTES, "%s", domain ? domain : "");
         snprintf (kept[kept_count].message, MESSAGE_BYTES, "%s", message ? message : "");
         kept_count++;
      } else {
         kept_dropped++;
      }
   }
   pthread_mutex_unlock (&hook_lock);
   if (sink) {
      sink ((int) level, domain ? domain : "", message ? message : "");
   }
}

static void
hook_install (void)
{
   if (!hook_installed) {
      hook_installed = 1;
      mongoc_log_set_handler (hook_handler, NULL);
   }
}

/* Run by the dynamic loader before any library's constructor (only an executable's
 * .preinit_array is run; this object is linked into mongo-rs-bootstrap). */
static void
hook_preinit (int argc, char **argv, char **envp)
{
   (void) argc;
   (void) argv;
   (void) envp;
   hook_installed_early = 1;
   hook_install ();
}

__attribute__ ((section (".preinit_array"), used)) static void (*const hook_preinit_entry) (int, char **, char **) =
   hook_preinit;

void
mongoc_log_hook_set_sink (mongoc_log_hook_sink_t sink)
{
   /* Before taking hook_lock: libmongoc calls the handler holding its own log mutex, which
    * mongoc_log_set_handler takes too. */
   hook_install ();
   pthread_mutex_lock (&hook_lock);
   /* Under the lock, so that a message logged meanwhile waits and comes after these. */
   for (int i = 0; i < kept_count; i++) {
      sink (kept[i].level, kept[i].domain, kept[i].message);
   }
   if (kept_dropped > 0) {
      char note[128];
      snprintf (note, sizeof note, "%lu more messages logged during start-up were not kept", kept_dropped);
      sink ((int) MONGOC_LOG_LEVEL_WARNING, "mongoc", note);
   }
   kept_count = 0;
   kept_dropped = 0;
   hook_sink = sink;
   pthread_mutex_unlock (&hook_lock);
}

int
mongoc_log_hook_installed_early (void)
{
   return hook_installed_early;
}
