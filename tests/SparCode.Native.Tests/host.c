/*
 * A C host for libsparcode.so, driven by the native ABI tests: it reads one command per line on stdin
 * and answers each with one line on stdout, "S <status> <payload>"; on a failure the payload is
 * sc_last_error(). Scores are printed as the hex of their IEEE-754 bits so that the test compares them
 * exactly with the C# engine's.
 *
 *   abi | simd | info
 *   open PATH | swap PATH | close
 *   searcher UNKNOWN EXCLUDE FILL        (or "searcher default": NULL options)
 *   search K [h ...] [| e ...]           -> "S 0 n id:bits ..."
 *   batch K THREADS h ... ; h ... ; ...  -> "S 0 q" and one line per query "R n id:bits ..." (k columns)
 *   stress THREADS MILLISECONDS PATH_A PATH_B  -> "S 0 queries swaps wrong failed differ": THREADS threads search
 *        while this thread swaps between A and B every 5 ms; an answer is wrong unless it equals A's or
 *        B's single-thread answer for the same history (the open index must be A); differ counts
 *        the histories whose A and B answers differ
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include "sparcode.h"

static sc_index* index_handle;
static sc_searcher* searcher;

static int64_t histories[1 << 16];
static int64_t excludes[1 << 12];
static int32_t offsets[1 << 12];

static unsigned bits_of(float f) {
    unsigned u;
    memcpy(&u, &f, sizeof u);
    return u;
}

static int fail(sc_status s) {
    printf("S %d %s\n", (int)s, sc_last_error());
    return 0;
}

static void print_row(const int64_t* ids, const float* scores, int n) {
    printf("%d", n);
    for (int i = 0; i < n; i++) printf(" %lld:%08x", (long long)ids[i], bits_of(scores[i]));
}

static void search(char* args) {
    int k = (int)strtol(strtok(args, " "), NULL, 10);
    int h = 0, e = 0, in_exclude = 0;
    for (char* t = strtok(NULL, " "); t; t = strtok(NULL, " ")) {
        if (strcmp(t, "|") == 0) { in_exclude = 1; continue; }
        if (in_exclude) excludes[e++] = strtoll(t, NULL, 10); else histories[h++] = strtoll(t, NULL, 10);
    }
    int64_t* ids = malloc(sizeof(int64_t) * (k > 0 ? k : 1));
    float* scores = malloc(sizeof(float) * (k > 0 ? k : 1));
    int32_t count = -1;
    sc_status s = sc_search(searcher, h ? histories : NULL, h, e ? excludes : NULL, e, k, ids, scores, &count);
    if (s == SC_OK) {
        printf("S 0 ");
        print_row(ids, scores, count);
        printf("\n");
    } else {
        fail(s);
    }
    free(ids);
    free(scores);
}

static void batch(char* args) {
    int k = (int)strtol(strtok(args, " "), NULL, 10);
    int threads = (int)strtol(strtok(NULL, " "), NULL, 10);
    int q = 0, h = 0;
    offsets[0] = 0;
    for (char* t = strtok(NULL, " "); t; t = strtok(NULL, " ")) {
        if (strcmp(t, ";") == 0) { offsets[++q] = h; continue; }
        histories[h++] = strtoll(t, NULL, 10);
    }
    offsets[++q] = h;
    int cells = q * (k > 0 ? k : 1);
    int64_t* ids = malloc(sizeof(int64_t) * cells);
    float* scores = malloc(sizeof(float) * cells);
    int32_t* counts = malloc(sizeof(int32_t) * q);
    sc_status s = sc_search_batch(searcher, histories, offsets, q, k, ids, scores, counts, threads);
    if (s == SC_OK) {
        printf("S 0 %d\n", q);
        for (int i = 0; i < q; i++) {
            printf("R ");
            print_row(ids + (size_t)i * k, scores + (size_t)i * k, counts[i]);
            printf("\n");
        }
    } else {
        fail(s);
    }
    free(ids);
    free(scores);
    free(counts);
}

enum { STRESS_K = 20, STRESS_QUERIES = 16, STRESS_LENGTH = 4 };
static int64_t stress_histories[STRESS_QUERIES][STRESS_LENGTH];
static int64_t stress_expected[2][STRESS_QUERIES][STRESS_K];
static atomic_int stress_stop;
static atomic_long stress_done, stress_wrong, stress_failed;

static void* stress_worker(void* arg) {
    (void)arg;
    int64_t ids[STRESS_K];
    float scores[STRESS_K];
    for (unsigned q = 0; !atomic_load(&stress_stop); q = (q + 1) % STRESS_QUERIES) {
        int32_t count;
        if (sc_search(searcher, stress_histories[q], STRESS_LENGTH, NULL, 0, STRESS_K, ids, scores, &count) != SC_OK) {
            atomic_fetch_add(&stress_failed, 1);
            continue;
        }
        if (memcmp(ids, stress_expected[0][q], sizeof ids) != 0 && memcmp(ids, stress_expected[1][q], sizeof ids) != 0)
            atomic_fetch_add(&stress_wrong, 1);
        atomic_fetch_add(&stress_done, 1);
    }
    return NULL;
}

static sc_status expected_answers(int which) {
    float scores[STRESS_K];
    int32_t count;
    for (int q = 0; q < STRESS_QUERIES; q++) {
        sc_status s = sc_search(searcher, stress_histories[q], STRESS_LENGTH, NULL, 0, STRESS_K, stress_expected[which][q], scores, &count);
        if (s != SC_OK) return s;
    }
    return SC_OK;
}

static void stress(char* args) {
    int threads = (int)strtol(strtok(args, " "), NULL, 10);
    long milliseconds = strtol(strtok(NULL, " "), NULL, 10);
    char* paths[2] = { strtok(NULL, " "), strtok(NULL, " ") };
    for (int q = 0; q < STRESS_QUERIES; q++)
        for (int i = 0; i < STRESS_LENGTH; i++) stress_histories[q][i] = (q * 7 + i * 13) % 50;
    sc_status s;
    if ((s = expected_answers(0)) != SC_OK || (s = sc_swap(index_handle, paths[1])) != SC_OK ||
        (s = expected_answers(1)) != SC_OK || (s = sc_swap(index_handle, paths[0])) != SC_OK) {
        fail(s);
        return;
    }
    atomic_store(&stress_stop, 0);
    pthread_t workers[64];
    if (threads > 64) threads = 64;
    for (int t = 0; t < threads; t++) pthread_create(&workers[t], NULL, stress_worker, NULL);
    long swaps = 0, swap_failures = 0;
    struct timespec pause = { 0, 5 * 1000 * 1000 };
    for (long elapsed = 0; elapsed < milliseconds; elapsed += 5) {
        nanosleep(&pause, NULL);
        if (sc_swap(index_handle, paths[++swaps % 2]) != SC_OK) swap_failures++;
    }
    atomic_store(&stress_stop, 1);
    for (int t = 0; t < threads; t++) pthread_join(workers[t], NULL);
    int differ = 0;
    for (int q = 0; q < STRESS_QUERIES; q++) differ += memcmp(stress_expected[0][q], stress_expected[1][q], sizeof stress_expected[0][q]) != 0;
    printf("S 0 %ld %ld %ld %ld %d\n", atomic_load(&stress_done), swaps, atomic_load(&stress_wrong),
           atomic_load(&stress_failed) + swap_failures, differ);
}

int main(void) {
    static char line[1 << 20];
    setvbuf(stdout, NULL, _IOLBF, 0);
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = 0;
        char* rest = strchr(line, ' ');
        if (rest) *rest++ = 0; else rest = line + strlen(line);
        sc_status s = SC_OK;
        if (strcmp(line, "abi") == 0) {
            printf("S 0 %d %d\n", sc_abi_version(), SC_ABI_VERSION);
        } else if (strcmp(line, "simd") == 0) {
            printf("S 0 %d\n", sc_simd_bits());
        } else if (strcmp(line, "open") == 0) {
            s = sc_open(rest, &index_handle);
            if (s == SC_OK) printf("S 0\n"); else fail(s);
        } else if (strcmp(line, "swap") == 0) {
            s = sc_swap(index_handle, rest);
            if (s == SC_OK) printf("S 0\n"); else fail(s);
        } else if (strcmp(line, "info") == 0) {
            sc_index_info info;
            s = sc_index_info_get(index_handle, &info);
            if (s == SC_OK) printf("S 0 %lld %lld %d %d %lld %lld\n", (long long)info.item_count, (long long)info.code_count,
                                   info.history_length, info.format_version, (long long)info.generation, (long long)info.open_memory_bytes);
            else fail(s);
        } else if (strcmp(line, "searcher") == 0) {
            sc_searcher_destroy(searcher);
            searcher = NULL;
            if (strcmp(rest, "default") == 0) {
                s = sc_searcher_create(index_handle, NULL, &searcher);
            } else {
                sc_search_options o;
                if (sscanf(rest, "%d %d %d", &o.unknown_items, &o.exclude_history, &o.fill_to_k) != 3) { printf("S -1 bad searcher line\n"); continue; }
                s = sc_searcher_create(index_handle, &o, &searcher);
            }
            if (s == SC_OK) printf("S 0\n"); else fail(s);
        } else if (strcmp(line, "search") == 0) {
            search(rest);
        } else if (strcmp(line, "batch") == 0) {
            batch(rest);
        } else if (strcmp(line, "stress") == 0) {
            stress(rest);
        } else if (strcmp(line, "close") == 0) {
            sc_close(index_handle);
            index_handle = NULL;
            printf("S 0\n");
        } else if (strcmp(line, "destroy") == 0) {
            sc_searcher_destroy(searcher);
            searcher = NULL;
            printf("S 0\n");
        } else {
            printf("S -1 unknown command '%s'\n", line);
        }
    }
    sc_searcher_destroy(searcher);
    sc_close(index_handle);
    return 0;
}
