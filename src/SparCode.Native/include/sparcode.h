/*
 * sparcode.h: the C ABI of SparCode.Engine (libsparcode.so, a NativeAOT build of the C# engine).
 *
 * Build the library with src/SparCode.Native/build.sh; link with -lsparcode (and -Wl,-rpath as needed).
 *
 * Conventions
 *  - Every function that can fail returns an sc_status; SC_OK is 0. No exception or signal crosses the
 *    boundary: every .NET exception becomes a status, and sc_last_error() gives its message.
 *  - Item ids are the catalogue's external int64 ids. Histories are oldest first; a history longer than
 *    the index's history length keeps its most recent items.
 *  - Output arrays are the caller's and must hold k elements (k per query for a batch); the library does
 *    not keep any pointer the caller passes after the call returns.
 *
 * Thread safety
 *  - sc_index: sc_search, sc_search_batch, sc_index_info and sc_swap may be called from any number of
 *    threads at once. A swap opens and validates the new file on the calling thread, then switches
 *    atomically; searches in flight finish on the old index, which is unmapped after the last of them.
 *  - sc_searcher: holds search options only; it may be shared by threads.
 *  - sc_close and sc_searcher_destroy must not race with calls on the same handle, and a handle must not
 *    be used after it is closed or destroyed (the pointer is freed). Searchers of a closed index return
 *    SC_DISPOSED until they are destroyed.
 *  - sc_last_error() is per thread.
 *
 * Index files are immutable once written: replace one by writing a new file and calling sc_swap (or by
 * an atomic rename followed by sc_swap), never by rewriting a file that is open.
 */
#ifndef SPARCODE_H
#define SPARCODE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The ABI version this header describes; sc_abi_version() returns the library's. */
#define SC_ABI_VERSION 1

typedef enum sc_status {
    SC_OK = 0,
    SC_INVALID_ARGUMENT = 1,  /* a null pointer, a negative length, k outside 1..n_items, bad offsets */
    SC_UNKNOWN_ITEM = 2,      /* a history id is not in the catalogue (and unknown ids are errors) */
    SC_FILE_NOT_FOUND = 3,    /* no file at the path */
    SC_CORRUPT_INDEX = 4,     /* the file is damaged or not a SparCode index */
    SC_VERSION_MISMATCH = 5,  /* the file's format version is not one this library reads */
    SC_DISPOSED = 6,          /* the index was closed */
    SC_IO_ERROR = 7,          /* the operating system refused a read, a map or a permission */
    SC_OUT_OF_MEMORY = 8,
    SC_INTERNAL = 9           /* a bug in the library: please report the message */
} sc_status;

/* What to do with history ids that are not in the catalogue. */
typedef enum sc_unknown_items {
    SC_UNKNOWN_ERROR = 0,     /* fail the query with SC_UNKNOWN_ITEM */
    SC_UNKNOWN_SKIP = 1       /* drop them and encode the rest */
} sc_unknown_items;

/* Search options; sc_searcher_create copies them. */
typedef struct sc_search_options {
    int32_t unknown_items;    /* an sc_unknown_items value */
    int32_t exclude_history;  /* nonzero: the history's items never appear in the results */
    int32_t fill_to_k;        /* nonzero: pad short lists to k with popular items (score 0) */
} sc_search_options;

/* A description of the index currently served. */
typedef struct sc_index_info {
    int64_t item_count;       /* catalogue size n_items */
    int64_t code_count;       /* codes K_c^M */
    int32_t history_length;   /* items of history the query tower reads */
    int32_t format_version;   /* the file's format version */
    int64_t generation;       /* swaps completed on this handle */
    int64_t open_memory_bytes;/* heap the index took at open, besides the mapping */
} sc_index_info;

typedef struct sc_index sc_index;
typedef struct sc_searcher sc_searcher;

/* The library's ABI version (SC_ABI_VERSION when header and library agree). */
int32_t sc_abi_version(void);

/* The widest SIMD width the library's kernels use on this CPU, in bits (512, 256, 128, or 0 for scalar). */
int32_t sc_simd_bits(void);

/* The message of the last call on this thread that did not return SC_OK, as UTF-8, or "" if none.
 * Valid until the next failing call on the same thread. */
const char* sc_last_error(void);

/* Opens and fully validates an index file. On success *out is a new handle for sc_close. */
sc_status sc_open(const char* path_utf8, sc_index** out);

/* Closes the handle. Searches in flight on other threads finish first; NULL is ignored. */
void sc_close(sc_index* index);

/* Opens and validates path_utf8 and makes it the index that new searches use; on failure nothing changes. */
sc_status sc_swap(sc_index* index, const char* path_utf8);

/* Describes the index currently served. */
sc_status sc_index_info_get(const sc_index* index, sc_index_info* out);

/* A searcher with the given options (NULL: unknown ids are errors, history excluded, fill to k). */
sc_status sc_searcher_create(sc_index* index, const sc_search_options* options, sc_searcher** out);

/* Frees the searcher; NULL is ignored. */
void sc_searcher_destroy(sc_searcher* searcher);

/* The k best items for one history, best first (ties: smaller internal item id first).
 * ids and scores must hold k values; *count receives how many were written (k when fill_to_k is on). */
sc_status sc_search(const sc_searcher* searcher,
                    const int64_t* history, int32_t history_length,
                    const int64_t* exclude, int32_t exclude_length,
                    int32_t k, int64_t* ids, float* scores, int32_t* count);

/* Searches many histories on up to max_threads threads (-1: every core), all on one index.
 * Query q is histories[offsets[q] .. offsets[q + 1]); offsets holds queries + 1 values, from 0,
 * non-decreasing. Row q of ids and scores (k columns) receives its results, unused slots padded with
 * id -1 and score -infinity; counts[q] receives the row's count. On SC_UNKNOWN_ITEM or
 * SC_INVALID_ARGUMENT the message names the failing query. */
sc_status sc_search_batch(const sc_searcher* searcher,
                          const int64_t* histories, const int32_t* offsets, int32_t queries,
                          int32_t k, int64_t* ids, float* scores, int32_t* counts, int32_t max_threads);

#ifdef __cplusplus
}
#endif

#endif /* SPARCODE_H */
