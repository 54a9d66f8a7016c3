// The system resolver and libresolv's own message parser, as libmongoc uses them for
// mongodb+srv (src/libmongoc/src/mongoc/mongoc-client.c, _mongoc_get_rr_search): no DNS wire
// format is parsed here by hand.
#include "cresolv.h"

#include <arpa/nameser.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdlib.h>
#include <string.h>

// The largest DNS message (a TCP answer); glibc retries over TCP when a UDP answer is truncated.
enum { answer_capacity = 65535 };

static cresolv_status status_of(int h_error) {
    switch (h_error) {
    case HOST_NOT_FOUND: return CRESOLV_NO_SUCH_NAME;
    case NO_DATA: return CRESOLV_NO_RECORDS;
    case TRY_AGAIN: return CRESOLV_TRY_AGAIN;
    default: return CRESOLV_FAILED;
    }
}

static cresolv_status parse(const unsigned char *answer, int length, cresolv_srv_record *records, int capacity, int *count, char *answered) {
    ns_msg message;
    if (ns_initparse(answer, length, &message) < 0) return CRESOLV_MALFORMED;
    if (ns_msg_count(message, ns_s_qd) > 0) {
        ns_rr question;
        if (ns_parserr(&message, ns_s_qd, 0, &question) < 0) return CRESOLV_MALFORMED;
        // ns_rr's name holds NS_MAXDNAME (1025) bytes, terminated.
        memcpy(answered, ns_rr_name(question), NS_MAXDNAME);
    }
    int found = 0;
    for (int index = 0; index < ns_msg_count(message, ns_s_an); index++) {
        ns_rr record;
        if (ns_parserr(&message, ns_s_an, index, &record) < 0) return CRESOLV_MALFORMED;
        // A CNAME on the way to the records is part of the answer too.
        if (ns_rr_type(record) != ns_t_srv || ns_rr_class(record) != ns_c_in) continue;
        const unsigned char *data = ns_rr_rdata(record);
        // Priority, weight and port (2 bytes each), then at least the root label.
        if (ns_rr_rdlen(record) < 7) return CRESOLV_MALFORMED;
        if (found < capacity) {
            cresolv_srv_record *out = &records[found];
            out->priority = ns_get16(data);
            out->weight = ns_get16(data + 2);
            out->port = ns_get16(data + 4);
            if (dn_expand(ns_msg_base(message), ns_msg_end(message), data + 6, out->target, sizeof out->target) < 0) {
                return CRESOLV_MALFORMED;
            }
        }
        found++;
    }
    *count = found;
    return found == 0 ? CRESOLV_NO_RECORDS : CRESOLV_OK;
}

cresolv_status cresolv_query_srv(const char *name, int search, cresolv_srv_record *records, int capacity, int *count, char *answered) {
    *count = 0;
    answered[0] = 0;
    struct __res_state *state = calloc(1, sizeof *state);
    unsigned char *answer = malloc(answer_capacity);
    cresolv_status status = CRESOLV_FAILED;
    if (state == NULL || answer == NULL) goto done;
    if (res_ninit(state) != 0) {
        res_nclose(state);
        goto done;
    }
    int length = search ? res_nsearch(state, name, ns_c_in, ns_t_srv, answer, answer_capacity)
                        : res_nquery(state, name, ns_c_in, ns_t_srv, answer, answer_capacity);
    if (length < 0) {
        status = status_of(state->res_h_errno);
    } else {
        status = parse(answer, length > answer_capacity ? answer_capacity : length, records, capacity, count, answered);
    }
    res_nclose(state);
done:
    free(answer);
    free(state);
    return status;
}
