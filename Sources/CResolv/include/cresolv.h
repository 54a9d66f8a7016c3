#ifndef CRESOLV_H
#define CRESOLV_H

#include <stdint.h>

/// How an SRV query ended (the resolver's h_errno, put in words the caller can switch on).
typedef enum {
    CRESOLV_OK = 0,
    /// NXDOMAIN: the name does not exist.
    CRESOLV_NO_SUCH_NAME = 1,
    /// The name exists but has no SRV records (NODATA), or the answer held none.
    CRESOLV_NO_RECORDS = 2,
    /// No answer in time, or SERVFAIL: another query may succeed.
    CRESOLV_TRY_AGAIN = 3,
    /// REFUSED, FORMERR, NOTIMP, or no resolver configuration.
    CRESOLV_FAILED = 4,
    /// The answer did not parse (libresolv's ns_initparse/ns_parserr/dn_expand refused it).
    CRESOLV_MALFORMED = 5,
} cresolv_status;

/// One SRV record of an answer; the target as dn_expand prints it (no trailing dot; bytes
/// outside letters, digits, '-' and '_' escaped as \DDD or \c).
typedef struct {
    uint16_t priority;
    uint16_t weight;
    uint16_t port;
    char target[1025];
} cresolv_srv_record;

/// Queries the SRV records of `name` with the system resolver (/etc/resolv.conf, read anew on
/// every call; thread-safe: each call has its own resolver state). With `search` non-zero the
/// resolver's search list applies (res_nsearch), so a short name works inside a cluster.
/// Fills at most `capacity` records and sets `*count` to the number of SRV records the answer
/// holds, which may be more than `capacity`. `answered` (1025 bytes) receives the full name the
/// answer is for (the search list's domain added).
/// The size of a name buffer (NS_MAXDNAME).
enum { cresolv_name_capacity = 1025 };

cresolv_status cresolv_query_srv(const char *name, int search, cresolv_srv_record *records, int capacity, int *count, char *answered);

#endif
