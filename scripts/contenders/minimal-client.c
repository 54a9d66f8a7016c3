/*
 * The physical limit of bootstrapping a fresh replica set with libmongoc: a client that sends
 * only the round trips the job needs, for scripts/bench to measure mongo-rs-bootstrap against.
 *
 *   minimal-client HOST:PORT[,HOST:PORT...]
 *
 * 1. Every member at once (a thread each): connect with directConnection=true. The connection
 *    handshake is a hello; its reply (kept by libmongoc as the server description) says the
 *    member is up and fresh (no setName), so no second hello is sent.
 * 2. replSetInitiate on the first member with every member (the 8th and later with votes 0 and
 *    priority 0: mongod allows 7 voters).
 * 3. Awaitable hello on the first member (topologyVersion + maxAwaitTimeMS, so each reply is a
 *    state change, never a poll) until it is SECONDARY; replSetStepUp; awaitable hello until it
 *    is a writable primary. Exit 0.
 *
 * No safety checks, no retries beyond a refused step-up, no verification of the config: it is
 * the floor, not a tool. Any other failure exits 1 with the reason on stderr. A single-threaded
 * libmongoc client sends its commands on the handshake's connection: one connection a member.
 */
#include <mongoc/mongoc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SET_NAME "rs0"
#define MAX_VOTERS 7

struct member {
    const char *host;
    mongoc_client_t *client;
    uint32_t server_id;
    bson_t *hello; /* the handshake's reply */
    char error[600];
};

static void fail(const char *what, const char *host, const bson_error_t *error) {
    fprintf(stderr, "minimal-client: %s on %s: %s\n", what, host, error->message);
    exit(1);
}

/* Step 1 for one member: connect, handshake, keep the hello reply. */
static void *look(void *argument) {
    struct member *member = argument;
    char uri[512];
    snprintf(uri, sizeof uri, "mongodb://%s/?directConnection=true&appname=minimal-client", member->host);
    member->client = mongoc_client_new(uri);
    if (!member->client) {
        snprintf(member->error, sizeof member->error, "bad URI %s", uri);
        return NULL;
    }
    bson_error_t error;
    mongoc_server_description_t *server = mongoc_client_select_server(member->client, false, NULL, &error);
    if (!server) {
        snprintf(member->error, sizeof member->error, "%s", error.message);
        return NULL;
    }
    member->server_id = mongoc_server_description_id(server);
    member->hello = bson_copy(mongoc_server_description_hello_response(server));
    mongoc_server_description_destroy(server);
    return NULL;
}

static bool flag(const bson_t *document, const char *key) {
    bson_iter_t iter;
    return bson_iter_init_find(&iter, document, key) && bson_iter_as_bool(&iter);
}

/* One command to a member; the reply replaces *reply. */
static bool command(struct member *member, const bson_t *cmd, bson_t *reply, bson_error_t *error) {
    bson_destroy(reply);
    return mongoc_client_command_simple_with_server_id(member->client, "admin", cmd, NULL, member->server_id, reply, error);
}

/* An awaitable hello: answered at the member's next state change after the one in `last`. */
static void await_change(struct member *member, bson_t *last, int32_t max_await_ms) {
    bson_iter_t iter;
    bson_t cmd = BSON_INITIALIZER;
    BSON_APPEND_INT32(&cmd, "hello", 1);
    if (bson_iter_init_find(&iter, last, "topologyVersion") && BSON_ITER_HOLDS_DOCUMENT(&iter)) {
        const uint8_t *data;
        uint32_t length;
        bson_iter_document(&iter, &length, &data);
        bson_t version;
        bson_init_static(&version, data, length);
        BSON_APPEND_DOCUMENT(&cmd, "topologyVersion", &version);
        BSON_APPEND_INT64(&cmd, "maxAwaitTimeMS", max_await_ms);
    }
    bson_error_t error;
    bson_t reply;
    bson_init(&reply);
    if (!command(member, &cmd, &reply, &error)) fail("hello", member->host, &error);
    bson_destroy(&cmd);
    bson_destroy(last);
    bson_copy_to(&reply, last);
    bson_destroy(&reply);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: minimal-client HOST:PORT[,HOST:PORT...]\n");
        return 64;
    }
    char *list = strdup(argv[1]);
    size_t count = 1;
    for (const char *c = list; *c; c++) count += *c == ',';
    struct member *members = calloc(count, sizeof *members);
    pthread_t *threads = calloc(count, sizeof *threads);
    char *save = NULL;
    size_t n = 0;
    for (char *host = strtok_r(list, ",", &save); host; host = strtok_r(NULL, ",", &save)) members[n++].host = host;
    count = n;

    mongoc_init();
    for (size_t i = 0; i < count; i++) pthread_create(&threads[i], NULL, look, &members[i]);
    for (size_t i = 0; i < count; i++) pthread_join(threads[i], NULL);
    for (size_t i = 0; i < count; i++) {
        if (!members[i].hello) {
            fprintf(stderr, "minimal-client: connect to %s: %s\n", members[i].host, members[i].error);
            return 1;
        }
        bson_iter_t iter;
        if (bson_iter_init_find(&iter, members[i].hello, "setName")) {
            fprintf(stderr, "minimal-client: %s is not fresh (it is in a set)\n", members[i].host);
            return 1;
        }
    }

    /* 2. replSetInitiate on the first member. */
    bson_t cmd = BSON_INITIALIZER, config, array;
    BSON_APPEND_DOCUMENT_BEGIN(&cmd, "replSetInitiate", &config);
    BSON_APPEND_UTF8(&config, "_id", SET_NAME);
    BSON_APPEND_ARRAY_BEGIN(&config, "members", &array);
    for (size_t i = 0; i < count; i++) {
        char key[16];
        const char *key_text;
        bson_uint32_to_string((uint32_t) i, &key_text, key, sizeof key);
        bson_t entry;
        BSON_APPEND_DOCUMENT_BEGIN(&array, key_text, &entry);
        BSON_APPEND_INT32(&entry, "_id", (int32_t) i);
        BSON_APPEND_UTF8(&entry, "host", members[i].host);
        if (i >= MAX_VOTERS) {
            BSON_APPEND_INT32(&entry, "votes", 0);
            BSON_APPEND_INT32(&entry, "priority", 0);
        }
        bson_append_document_end(&array, &entry);
    }
    bson_append_array_end(&config, &array);
    bson_append_document_end(&cmd, &config);
    struct member *first = &members[0];
    bson_t reply = BSON_INITIALIZER;
    bson_error_t error;
    if (!command(first, &cmd, &reply, &error)) fail("replSetInitiate", first->host, &error);
    bson_destroy(&cmd);

    /* 3. SECONDARY, step up, writable primary. */
    bson_t last;
    bson_copy_to(first->hello, &last);
    bool stepped_up = false;
    int32_t max_await_ms = 10000;
    for (;;) {
        await_change(first, &last, max_await_ms);
        if (flag(&last, "isWritablePrimary")) break;
        if (!stepped_up && flag(&last, "secondary")) {
            bson_t step_up = BSON_INITIALIZER;
            BSON_APPEND_INT32(&step_up, "replSetStepUp", 1);
            stepped_up = command(first, &step_up, &reply, &error);
            bson_destroy(&step_up);
            /* Refused (an election already running): look again soon, changed or not. */
            max_await_ms = stepped_up ? 10000 : 20;
        }
    }
    bson_destroy(&last);
    bson_destroy(&reply);

    for (size_t i = 0; i < count; i++) {
        bson_destroy(members[i].hello);
        mongoc_client_destroy(members[i].client);
    }
    mongoc_cleanup();
    free(threads);
    free(members);
    free(list);
    return 0;
}
