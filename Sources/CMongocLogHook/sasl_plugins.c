#include <sasl/sasl.h>

/* libmongoc's start-up (its ELF constructor calls mongoc_init) has Cyrus SASL dlopen every
 * plug-in in its directory: about 3.5 M instructions and a dozen libraries mapped, a seventh of
 * a whole 3-member run. libmongoc uses Cyrus SASL for GSSAPI only, which the tool refuses
 * (--auth-mechanism); SCRAM, PLAIN and X.509 are libmongoc's own. So Cyrus SASL is pointed at a
 * directory that always exists and holds no plug-in (one that does not exist would have it write
 * to syslog). Through its API, not SASL_PATH: libc's start-up puts back the environment a
 * .preinit_array entry changes, before the libraries' constructors run. */
static void
sasl_plugins_skip (int argc, char **argv, char **envp)
{
   (void) argc;
   (void) argv;
   (void) envp;
   static char no_plugins[] = "/proc/self/fd";
   sasl_set_path (SASL_PATH_TYPE_PLUGIN, no_plugins);
}

/* Run by the dynamic loader before any library's constructor (only an executable's
 * .preinit_array is run; this object is linked into mongo-rs-bootstrap). */
__attribute__ ((section (".preinit_array"), used)) static void (*const sasl_plugins_skip_entry) (int, char **, char **) =
   sasl_plugins_skip;
