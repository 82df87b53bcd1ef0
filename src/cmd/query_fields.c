/* query_fields.c -- `cairn query --fields a.b,c[0],msg`: print chosen keys of JSON (or
 * logfmt) log lines as aligned columns instead of the whole line.
 *
 * JSON lines go through the shared path extractor (parse_json.h: nested keys, arrays by
 * index, ["dotted.key"]); other lines are read as logfmt and a field matches a key by
 * its whole name. A missing key prints blank. Columns are as wide as their widest value;
 * on a terminal (and without --wide) the widest columns are narrowed until the row fits
 * and longer values are cut with "...". Control bytes in values print as spaces. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cairn/json.h"
#include "cairn/parse_json.h"
#include "cairn/parse_logfmt.h"
#include "cairn/timeutil.h"
#include "cmd/query_int.h"

#define MIN_COL 8     /* narrowing stops here: a column keeps a readable stub */
#define DEFAULT_TERM 80

struct query_fields {
    size_t n;
    char **names;
    struct cairn_jsonpath **paths; /* NULL where a name is not a valid JSON path */
};

void cairn__query_fields_free(struct query_fields *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->n; i++) {
        free(f->names[i]);
        cairn_jsonpath_destroy(f->paths[i]);
    }
    free(f->names);
    free(f->paths);
    free(f);
}

struct query_fields *cairn__query_fields_parse(const char *spec)
{
    struct query_fields *f = calloc(1, sizeof *f);
    size_t cap = 1;
    for (const char *c = spec; *c; c++)
        cap += *c == ',';
    if (!f || !(f->names = calloc(cap, sizeof *f->names)) ||
        !(f->paths = calloc(cap, sizeof *f->paths))) {
        cairn__query_fields_free(f);
        return NULL;
    }
    const char *p = spec;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n) {
            struct cairn_err err = {0};
            f->names[f->n] = strndup(p, n);
            if (!f->names[f->n]) {
                cairn__query_fields_free(f);
                return NULL;
            }
            f->paths[f->n] = cairn_jsonpath_compile(p, n, &err);
            f->n++;
        }
        p += n + (e != NULL);
    }
    if (!f->n) {
        cairn__query_fields_free(f);
        return NULL;
    }
    return f;
}

/* Display width: UTF-8 code points (no wide-glyph tables; good enough for columns). */
size_t cairn__query_text_width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((unsigned char)s[i] & 0xC0) != 0x80;
    return w;
}

/* Append s, cut to w code points (with "..." when cut), padded to w when pad. */
int cairn__query_put_cell(struct cairn_buf *out, const char *s, size_t n, size_t w, int cut, int pad)
{
    size_t sw = cairn__query_text_width(s, n);
    int rc = 0;
    if (cut && sw > w) {
        size_t keep = w > 3 ? w - 3 : w, cps = 0, i = 0;
        for (; i < n; i++) {
            if (((unsigned char)s[i] & 0xC0) != 0x80 && cps++ == keep)
                break;
        }
        rc |= cairn_buf_append(out, s, i) | cairn_buf_append(out, "...", w > 3 ? 3 : 0);
        sw = w;
    } else {
        rc |= cairn_buf_append(out, s, n);
    }
    for (; pad && sw < w; sw++)
        rc |= cairn_buf_append_byte(out, ' ');
    return rc;
}

/* The value of field i in line, appended to out (blank when absent). */
static int extract(const struct query_fields *f, size_t i, const char *line,
                   struct cairn_buf *out)
{
    size_t n = strlen(line);
    const char *q = line;
    while (*q == ' ' || *q == '\t')
        q++;
    if (*q == '{') {
        struct cairn_json_tok t;
        const char *raw;
        size_t rawlen;
        if (!f->paths[i] || cairn_jsonpath_get(f->paths[i], line, n, &t, &raw, &rawlen) != 1)
            return 0;
        if (t.type == CAIRN_JSON_STRING) {
            struct cairn_buf tmp = CAIRN_BUF_INIT;
            int rc = cairn_json_unescape(t.p, t.len, &tmp);
            if (rc == 0)
                rc = cairn_buf_append(out, tmp.data, tmp.len);
            else
                rc = cairn_buf_append(out, t.p, t.len);
            cairn_buf_deinit(&tmp);
            return rc;
        }
        if (t.type == CAIRN_JSON_NULL)
            return 0;
        if (t.type == CAIRN_JSON_OBJECT_START || t.type == CAIRN_JSON_ARRAY_START)
            return cairn__query_json_reprint(raw, rawlen, 0, out) == CAIRN_ENOMEM ? CAIRN_ENOMEM
                                                                                : 0;
        return cairn_buf_append(out, t.p, t.len);
    }
    struct cairn_logfmt it;
    struct cairn_logfmt_pair pr;
    int r;
    size_t nl = strlen(f->names[i]);
    cairn_logfmt_init(&it, line, n);
    while ((r = cairn_logfmt_next(&it, &pr)) != 0) {
        if (r < 0) {
            cairn_logfmt_recover(&it);
            continue;
        }
        if (pr.key_len == nl && memcmp(pr.key, f->names[i], nl) == 0) {
            size_t before = out->len;
            if (cairn_logfmt_value(&pr, out) == CAIRN_ENOMEM)
                return CAIRN_ENOMEM;
            if (out->len == before && pr.val_len)
                return cairn_buf_append(out, pr.val, pr.val_len);
            return 0;
        }
    }
    return 0;
}

size_t cairn__query_term_width(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    const char *c = getenv("COLUMNS");
    long v = c ? strtol(c, NULL, 10) : 0;
    return v > 0 ? (size_t)v : DEFAULT_TERM;
}

int cairn__query_fields_print(const struct query_opts *o, const struct query_row *rows,
                              size_t n)
{
    const struct query_fields *f = o->fields;
    size_t nf = f->n, ncell = (n + 1) * nf;
    char **cell = calloc(ncell ? ncell : 1, sizeof *cell);
    size_t *len = calloc(ncell ? ncell : 1, sizeof *len), *w = calloc(nf, sizeof *w);
    int timecol = strcmp(o->output, "raw") != 0, rc = 0;
    struct cairn_buf v = CAIRN_BUF_INIT, out = CAIRN_BUF_INIT;
    if (!cell || !len || !w)
        goto oom;
    for (size_t j = 0; j < nf; j++) { /* row 0: the header */
        cell[j] = f->names[j];
        len[j] = strlen(f->names[j]);
    }
    for (size_t r = 0; r < n; r++) {
        for (size_t j = 0; j < nf; j++) {
            cairn_buf_reset(&v);
            if (extract(f, j, rows[r].line, &v))
                goto oom;
            for (size_t k = 0; k < v.len; k++)
                if ((unsigned char)v.data[k] < 0x20 || v.data[k] == 0x7f)
                    v.data[k] = ' ';
            size_t vl = 0;
            char *d = NULL;
            if (v.len && !(d = cairn_buf_detach(&v, &vl)))
                goto oom;
            cell[(r + 1) * nf + j] = d;
            len[(r + 1) * nf + j] = vl;
        }
    }
    size_t total = timecol ? 30 + 1 : 0; /* RFC3339 with ns and a space */
    for (size_t j = 0; j < nf; j++) {
        for (size_t r = 0; r <= n; r++) {
            const char *c = cell[r * nf + j];
            size_t cw = c ? cairn__query_text_width(c, len[r * nf + j]) : 0;
            if (cw > w[j])
                w[j] = cw;
        }
        total += w[j] + (j + 1 < nf ? 2 : 0);
    }
    int cut = !o->wide && isatty(STDOUT_FILENO);
    if (cut) {
        size_t tw = cairn__query_term_width();
        while (total > tw) { /* narrow the widest column by one, down to MIN_COL */
            size_t best = 0;
            for (size_t j = 1; j < nf; j++)
                if (w[j] > w[best])
                    best = j;
            if (w[best] <= MIN_COL)
                break;
            w[best]--;
            total--;
        }
    }
    for (size_t r = 0; r <= n; r++) {
        if (r == 0 && !o->fields_header)
            continue;
        cairn_buf_reset(&out);
        if (timecol) {
            char t[64];
            if (r == 0)
                snprintf(t, sizeof t, "%-30s", "TIME");
            else
                cairn_format_rfc3339(rows[r - 1].ts, t, sizeof t);
            rc |= cairn_buf_appendf(&out, "%-30s ", t);
        }
        for (size_t j = 0; j < nf; j++) {
            const char *c = cell[r * nf + j];
            rc |= cairn__query_put_cell(&out, c ? c : "", c ? len[r * nf + j] : 0, w[j], cut, j + 1 < nf);
            if (j + 1 < nf)
                rc |= cairn_buf_append_str(&out, "  ");
        }
        while (out.len && out.data[out.len - 1] == ' ')
            out.len--;
        rc |= cairn_buf_append_byte(&out, '\n');
        if (rc)
            goto oom;
        fwrite(out.data, 1, out.len, stdout);
    }
    goto done;
oom:
    fprintf(stderr, "cairn query: out of memory\n");
    rc = 1;
done:
    if (cell)
        for (size_t i = nf; i < ncell; i++)
            free(cell[i]);
    free(cell);
    free(len);
    free(w);
    cairn_buf_deinit(&v);
    cairn_buf_deinit(&out);
    return rc ? 1 : 0;
}
