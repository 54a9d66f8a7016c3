#include <malloc.h>

/* One malloc arena for every thread. At 50 members about 100 threads block in libmongoc calls,
 * and glibc would give them up to 8 arenas per core, each with pages of its own: 0.35 MiB more
 * peak RSS at 50 members. The threads mostly wait on sockets, so they rarely contend for the
 * one arena. Set before any thread starts. */
static void
malloc_single_arena (int argc, char **argv, char **envp)
{
   (void) argc;
   (void) argv;
   (void) envp;
   mallopt (M_ARENA_MAX, 1);
}

/* Run by the dynamic loader before any library's constructor (only an executable's
 * .preinit_array is run; this object is linked into mongo-rs-bootstrap). */
__attribute__ ((section (".preinit_array"), used)) static void (*const malloc_single_arena_entry) (int, char **, char **) =
   malloc_single_arena;
