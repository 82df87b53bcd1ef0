/* query_metric.c -- metric results for people (`cairn query`'s default output; -o raw
 * and -o jsonl keep the server's JSON for machines): an instant vector as an aligned
 * table with one column per label and the value; a range matrix as one row per series
 * with a sparkline over the steps and its min, max and last value, or with --wide one
 * row per step and one column per series. Values are printed as the server sent them
 * (strings in Loki's answers); only the sparkline's heights are computed. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cairn/buf.h"
#include "cairn/error.h"
#include "cairn/timeutil.h"
#include "cmd/query_int.h"

/* Sparkline columns at most, and at least (the labels are cut to make room). */
#define SPARK_MAX 120
#define SPARK_MIN 16
/* Labels column at most this wide unless --wide. */
#define LABELS_MAX 60

static const char *const bars[8] = {"\u2581", "\u2582", "\u2583", "\u2584",
                                    "\u2585", "\u2586", "\u2587", "\u2588"};

/* Unix seconds (a JSON number, milliseconds at best) as RFC3339. */
static size_t format_ts(double sec, char *buf, size_t cap)
{
    return cairn_format_rfc3339((int64_t)llround(sec * 1e3) * 1000000, buf, cap);
}

/* A sample's value text and number ([ts, "v"]); NULL when malformed. */
static const char *sample(json_t *pair, double *ts, double *v)
{
    json_t *t = json_array_get(pair, 0), *s = json_array_get(pair, 1);
    const char *txt = json_string_value(s);
    if (!json_is_number(t) || !txt)
        return NULL;
    *ts = json_number_value(t);
    char *end;
    *v = strtod(txt, &end);
    if (end == txt)
        *v = NAN;
    return txt;
}

/* `{a="b", c="d"}` of the labels o shows, into out. */
static int labels_text(const struct query_opts *o, json_t *metric, struct cairn_buf *out)
{
    const char *k;
    json_t *v;
    int rc = cairn_buf_append_byte(out, '{'), first = 1;
    json_object_foreach(metric, k, v) {
        if (!cairn__query_label_shown(o, k))
            continue;
        rc |= cairn_buf_appendf(out, "%s%s=\"%s\"", first ? "" : ", ", k,
                                json_string_value(v) ? json_string_value(v) : "");
        first = 0;
    }
    return rc | cairn_buf_append_byte(out, '}');
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Instant vector: NAME... VALUE, columns as wide as their widest cell. */
static int print_vector(const struct query_opts *o, json_t *result, struct cairn_buf *out)
{
    size_t n = json_array_size(result), nk = 0, cap = 16;
    const char **keys = malloc(cap * sizeof *keys);
    if (!keys)
        return CAIRN_ENOMEM;
    json_t *s;
    size_t i;
    json_array_foreach(result, i, s) {
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(s, "metric"), k, v) {
            size_t j = 0;
            while (j < nk && strcmp(keys[j], k))
                j++;
            if (j < nk || !cairn__query_label_shown(o, k))
                continue;
            if (nk == cap) {
                const char **g = realloc(keys, 2 * cap * sizeof *keys);
                if (!g) {
                    free(keys);
                    return CAIRN_ENOMEM;
                }
                keys = g;
                cap *= 2;
            }
            keys[nk++] = k;
        }
    }
    qsort(keys, nk, sizeof *keys, cmp_str);
    size_t *w = calloc(nk + 1, sizeof *w);
    if (!w) {
        free(keys);
        return CAIRN_ENOMEM;
    }
    for (size_t j = 0; j < nk; j++)
        w[j] = cairn__query_text_width(keys[j], strlen(keys[j]));
    json_array_foreach(result, i, s) {
        for (size_t j = 0; j < nk; j++) {
            const char *v = json_string_value(json_object_get(json_object_get(s, "metric"), keys[j]));
            size_t vw = v ? cairn__query_text_width(v, strlen(v)) : 0;
            if (vw > w[j])
                w[j] = o->wide || vw < LABELS_MAX ? vw : LABELS_MAX;
        }
    }
    int rc = 0;
    for (size_t j = 0; j < nk; j++)
        rc |= cairn__query_put_cell(out, keys[j], strlen(keys[j]), w[j], 0, 1) |
              cairn_buf_append_str(out, "  ");
    rc |= cairn_buf_append_str(out, "VALUE\n");
    json_array_foreach(result, i, s) {
        json_t *m = json_object_get(s, "metric");
        for (size_t j = 0; j < nk; j++) {
            const char *v = json_string_value(json_object_get(m, keys[j]));
            rc |= cairn__query_put_cell(out, v ? v : "", v ? strlen(v) : 0, w[j], !o->wide, 1) |
                  cairn_buf_append_str(out, "  ");
        }
        double ts, v;
        const char *txt = sample(json_object_get(s, "value"), &ts, &v);
        rc |= cairn_buf_appendf(out, "%s\n", txt ? txt : "?");
    }
    (void)n;
    free(w);
    free(keys);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Every step's timestamp across the series, sorted, without repeats. */
static double *time_grid(json_t *result, size_t *n_out)
{
    size_t n = 0, i, j;
    json_t *s, *p;
    json_array_foreach(result, i, s)
        n += json_array_size(json_object_get(s, "values"));
    double *g = malloc((n ? n : 1) * sizeof *g);
    if (!g)
        return NULL;
    n = 0;
    json_array_foreach(result, i, s) {
        json_array_foreach(json_object_get(s, "values"), j, p) {
            if (json_is_number(json_array_get(p, 0)))
                g[n++] = json_number_value(json_array_get(p, 0));
        }
    }
    qsort(g, n, sizeof *g, cmp_double);
    size_t u = 0;
    for (size_t k = 0; k < n; k++)
        if (!u || g[k] != g[u - 1])
            g[u++] = g[k];
    *n_out = u;
    return g;
}

static size_t grid_index(const double *g, size_t n, double ts)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (g[mid] < ts)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* One series' sparkline over ncol columns of the grid (a column is the mean of its
 * steps' values; a blank where the series has no sample), scaled to its own range.
 * col and cnt have room for ncol. */
static int sparkline(json_t *values, const double *g, size_t ng, size_t ncol, double *col,
                     size_t *cnt, struct cairn_buf *out, double *mn, double *mx,
                     const char **last)
{
    size_t j;
    json_t *p;
    for (size_t c = 0; c < ncol; c++) {
        col[c] = 0;
        cnt[c] = 0;
    }
    *mn = INFINITY;
    *mx = -INFINITY;
    *last = NULL;
    json_array_foreach(values, j, p) {
        double ts, v;
        const char *txt = sample(p, &ts, &v);
        if (!txt)
            continue;
        *last = txt;
        if (isnan(v))
            continue;
        size_t c = grid_index(g, ng, ts) * ncol / (ng ? ng : 1);
        if (c >= ncol)
            c = ncol - 1;
        col[c] += v;
        cnt[c]++;
        if (v < *mn)
            *mn = v;
        if (v > *mx)
            *mx = v;
    }
    int rc = 0;
    for (size_t c = 0; c < ncol; c++) {
        if (!cnt[c]) {
            rc |= cairn_buf_append_byte(out, ' ');
            continue;
        }
        col[c] /= (double)cnt[c];
        if (isnan(col[c])) {
            rc |= cairn_buf_append_byte(out, ' ');
            continue;
        }
        int lvl = 0;
        if (isfinite(*mx - *mn) && *mx > *mn)
            lvl = (int)((col[c] - *mn) / (*mx - *mn) * 7.0 + 0.5);
        else if (isinf(col[c]) && col[c] > 0)
            lvl = 7;
        rc |= cairn_buf_append_str(out, bars[lvl < 0 ? 0 : lvl > 7 ? 7 : lvl]);
    }
    return rc;
}

static int print_matrix_spark(const struct query_opts *o, json_t *result, struct cairn_buf *out)
{
    size_t ng, i, lw = 0;
    double *g = time_grid(result, &ng);
    if (!g)
        return CAIRN_ENOMEM;
    size_t ns = json_array_size(result);
    struct cairn_buf *lab = calloc(ns ? ns : 1, sizeof *lab);
    double *col = malloc(SPARK_MAX * sizeof *col);
    size_t *cnt = malloc(SPARK_MAX * sizeof *cnt);
    int rc = lab && col && cnt ? 0 : CAIRN_ENOMEM;
    json_t *s;
    json_array_foreach(result, i, s) {
        if (rc)
            break;
        rc = labels_text(o, json_object_get(s, "metric"), &lab[i]);
        size_t w = cairn__query_text_width(lab[i].data, lab[i].len);
        if (w > lw)
            lw = w;
    }
    size_t tw = cairn__query_term_width();
    if (!o->wide && lw > LABELS_MAX)
        lw = LABELS_MAX;
    /* labels, two spaces, the line, two spaces, "min .. max .. last .." (~30) */
    size_t room = tw > lw + 32 ? tw - lw - 32 : SPARK_MIN;
    size_t ncol = ng < room ? ng : room;
    if (ncol > SPARK_MAX)
        ncol = SPARK_MAX;
    if (ncol < SPARK_MIN && ng >= SPARK_MIN)
        ncol = SPARK_MIN;
    if (!ncol)
        ncol = 1;
    if (!rc && ng) {
        char a[48], b[48];
        format_ts(g[0], a, sizeof a);
        format_ts(g[ng - 1], b, sizeof b);
        rc = cairn_buf_appendf(out, "%zu series, %zu steps from %s to %s%s\n", ns, ng, a, b,
                               ng > ncol ? " (a bar is the mean of its steps)" : "");
    }
    json_array_foreach(result, i, s) {
        if (rc)
            break;
        double mn, mx;
        const char *last;
        rc |= cairn__query_put_cell(out, lab[i].data ? lab[i].data : "", lab[i].len, lw,
                                    !o->wide, 1);
        rc |= cairn_buf_append_str(out, "  ");
        rc |= sparkline(json_object_get(s, "values"), g, ng, ncol, col, cnt, out, &mn, &mx,
                        &last);
        if (isfinite(mn) || isinf(mn))
            rc |= cairn_buf_appendf(out, "  min %g max %g", mn, mx);
        rc |= cairn_buf_appendf(out, "  last %s\n", last ? last : "-");
    }
    for (size_t k = 0; lab && k < ns; k++)
        cairn_buf_deinit(&lab[k]);
    free(lab);
    free(col);
    free(cnt);
    free(g);
    return rc;
}

/* --wide: TIME then one column per series (its labels as the header), a row per step. */
static int print_matrix_wide(const struct query_opts *o, json_t *result, struct cairn_buf *out)
{
    size_t ng, i, j, ns = json_array_size(result);
    double *g = time_grid(result, &ng);
    const char **cell = g ? calloc(ng * ns + 1, sizeof *cell) : NULL;
    struct cairn_buf *lab = calloc(ns ? ns : 1, sizeof *lab);
    size_t *w = calloc(ns ? ns : 1, sizeof *w);
    int rc = cell && lab && w ? 0 : CAIRN_ENOMEM;
    json_t *s, *p;
    json_array_foreach(result, i, s) {
        if (rc)
            break;
        rc = labels_text(o, json_object_get(s, "metric"), &lab[i]);
        w[i] = cairn__query_text_width(lab[i].data, lab[i].len);
        json_array_foreach(json_object_get(s, "values"), j, p) {
            double ts, v;
            const char *txt = sample(p, &ts, &v);
            if (!txt)
                continue;
            cell[grid_index(g, ng, ts) * ns + i] = txt;
            if (strlen(txt) > w[i])
                w[i] = strlen(txt);
        }
    }
    char t[48];
    if (!rc) {
        rc |= cairn__query_put_cell(out, "TIME", 4, 30, 0, 1);
        for (i = 0; i < ns; i++)
            rc |= cairn_buf_append_str(out, "  ") |
                  cairn__query_put_cell(out, lab[i].data, lab[i].len, w[i], 0, i + 1 < ns);
        rc |= cairn_buf_append_byte(out, '\n');
    }
    for (size_t r = 0; !rc && r < ng; r++) {
        size_t tl = format_ts(g[r], t, sizeof t);
        rc |= cairn__query_put_cell(out, t, tl, 30, 0, 1);
        for (i = 0; i < ns; i++) {
            const char *c = cell[r * ns + i];
            rc |= cairn_buf_append_str(out, "  ") |
                  cairn__query_put_cell(out, c ? c : "", c ? strlen(c) : 0, w[i], 0, i + 1 < ns);
        }
        rc |= cairn_buf_append_byte(out, '\n');
    }
    for (size_t k = 0; lab && k < ns; k++)
        cairn_buf_deinit(&lab[k]);
    free(lab);
    free(w);
    free(cell);
    free(g);
    return rc;
}

int cairn__query_print_metric(const struct query_opts *o, json_t *data)
{
    const char *type = json_string_value(json_object_get(data, "resultType"));
    json_t *result = json_object_get(data, "result");
    struct cairn_buf out = CAIRN_BUF_INIT;
    int rc = 0;
    if (!type) {
        fprintf(stderr, "cairn query: the reply has no resultType\n");
        return 1;
    }
    if (strcmp(type, "vector") == 0) {
        rc = json_array_size(result) ? print_vector(o, result, &out)
                                     : cairn_buf_append_str(&out, "(no series)\n");
    } else if (strcmp(type, "matrix") == 0) {
        if (!json_array_size(result))
            rc = cairn_buf_append_str(&out, "(no series)\n");
        else
            rc = o->wide ? print_matrix_wide(o, result, &out)
                         : print_matrix_spark(o, result, &out);
    } else if (strcmp(type, "scalar") == 0 || strcmp(type, "string") == 0) {
        double ts, v;
        const char *txt = sample(result, &ts, &v);
        rc = cairn_buf_appendf(&out, "%s\n", txt ? txt : "?");
    } else {
        fprintf(stderr, "cairn query: unknown resultType '%s' (try -o raw)\n", type);
        return 1;
    }
    if (rc) {
        cairn_buf_deinit(&out);
        fprintf(stderr, "cairn query: out of memory\n");
        return 1;
    }
    fwrite(out.data, 1, out.len, stdout);
    cairn_buf_deinit(&out);
    return 0;
}
