/* arena.c -- the bump allocator that owns one query's AST. */
#include <stdlib.h>
#include <string.h>

#include "logql/logql_int.h"

#define LQ_ARENA_BLOCK 4096

struct lq_arena_block {
    struct lq_arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

void *cairn__lq_alloc(struct lq_arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    struct lq_arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > LQ_ARENA_BLOCK ? n : LQ_ARENA_BLOCK;
        b = malloc(sizeof(*b) + cap);
        if (!b)
            return NULL;
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *cairn__lq_strdup(struct lq_arena *a, const char *p, size_t n)
{
    char *s = cairn__lq_alloc(a, n + 1);
    if (!s)
        return NULL;
    if (n)
        memcpy(s, p, n);
    s[n] = '\0';
    return s;
}

void cairn__lq_arena_free(struct lq_arena *a)
{
    struct lq_arena_block *b = a->head;
    while (b) {
        struct lq_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}
