#ifndef CMONGOC_SHIM_H
#define CMONGOC_SHIM_H

#include <mongoc/mongoc.h>

/* Debian builds libbson with BSON_EXTRA_ALIGN: bson_t and bson_iter_t are 128-byte aligned, which
 * Swift cannot import as values. They are allocated on the heap here and freed with bson_free. */
/* aligned_alloc wants the size to be a multiple of the alignment (bson_iter_t is 80 bytes). */
#define CMONGOC_ALIGNED_SIZE(type) ((sizeof(type) + BSON_ALIGNOF(type) - 1) / BSON_ALIGNOF(type) * BSON_ALIGNOF(type))

static inline bson_iter_t *cmongoc_iter_new(void) {
    return (bson_iter_t *) bson_aligned_alloc0(BSON_ALIGNOF(bson_iter_t), CMONGOC_ALIGNED_SIZE(bson_iter_t));
}

static inline void cmongoc_iter_free(bson_iter_t *iter) {
    bson_free(iter);
}

/* Storage for a bson_t that the caller owns: bson_init() and C calls with output documents
 * (libmongoc's `reply`) initialize it in place; bson_destroy() then frees only its data. */
static inline bson_t *cmongoc_bson_storage_new(void) {
    return (bson_t *) bson_aligned_alloc0(BSON_ALIGNOF(bson_t), CMONGOC_ALIGNED_SIZE(bson_t));
}

static inline void cmongoc_bson_storage_free(bson_t *storage) {
    bson_free(storage);
}

/* Whether bson_iter_next stopped at a corrupt element rather than at the end of the document. */
static inline bool cmongoc_iter_failed(const bson_iter_t *iter) {
    return iter->err_off != 0;
}

/* The length of a document, whose struct fields Swift cannot see. */
static inline uint32_t cmongoc_bson_length(const bson_t *bson) {
    return bson->len;
}

/* The message of a bson_error_t, whose char array imports as a tuple. */
static inline const char *cmongoc_error_message(const bson_error_t *error) {
    return error->message;
}

#endif
