/* src_syslog_parse.c -- syslog messages and their TCP framing, without copying:
 * RFC 5424 in full (PRI, VERSION, TIMESTAMP with fraction and offset, HOSTNAME,
 * APP-NAME, PROCID, MSGID, STRUCTURED-DATA with escapes, MSG with its optional BOM),
 * RFC 3164 as well as its many dialects allow ("<34>Oct 11 22:14:15 host tag[pid]:
 * msg", with or without host or time), and RFC 6587's two framings.
 *
 * Lenient where it costs nothing (up to 9 fraction digits, an unescaped ']' inside a
 * quoted value), strict where a wrong guess would mislabel (field lengths, PRI range). */
#include <string.h>

#include "ship/ship_int.h"
#include "ship/src_syslog.h"

/* RFC 5424 field lengths (section 6). */
#define HOST_MAX 255
#define APP_MAX 48
#define PROCID_MAX 128
#define MSGID_MAX 32
#define SDNAME_MAX 32

static const char *const severities[8] = {
    "emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"};

/* go-syslog's facility keywords (syslog(3) names); codes without one get its text. */
static const char *const facilities[24] = {
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp",
    "clock daemon", "authpriv", "ftp", "NTP subsystem", "log audit", "log alert", "cron",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"};

const char *cairn_syslog_severity_name(int s)
{
    return s >= 0 && s < 8 ? severities[s] : "";
}

const char *cairn_syslog_facility_name(int f)
{
    return f >= 0 && f < 24 ? facilities[f] : "";
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static int printusascii(char c)
{
    return c >= 33 && c <= 126;
}

/* "<PRI>": 1 to 3 digits, 0..191. Returns bytes read or 0. */
static size_t parse_pri(const char *p, size_t len, int *pri)
{
    if (len < 3 || p[0] != '<')
        return 0;
    size_t i = 1;
    int v = 0;
    while (i < len && i <= 4 && is_digit(p[i]))
        v = v * 10 + (p[i++] - '0');
    if (i == 1 || i > 4 || i >= len || p[i] != '>' || v > 191)
        return 0;
    *pri = v;
    return i + 1;
}

/* One header field of 1..max PRINTUSASCII up to the next SP (or the end when last).
 * "-" is the NILVALUE. Returns the index after the field, or 0. */
static size_t field(const char *p, size_t i, size_t len, size_t max, struct cairn_syslog_field *out)
{
    size_t s = i;
    while (i < len && p[i] != ' ') {
        if (!printusascii(p[i]))
            return 0;
        i++;
    }
    if (i == s || i - s > max)
        return 0;
    if (i - s == 1 && p[s] == '-')
        *out = (struct cairn_syslog_field){NULL, 0};
    else
        *out = (struct cairn_syslog_field){p + s, i - s};
    return i;
}

/* SD-NAME: 1..32 PRINTUSASCII except '=', SP, ']', '"'. */
static size_t sd_name(const char *p, size_t i, size_t len)
{
    size_t s = i;
    while (i < len && printusascii(p[i]) && p[i] != '=' && p[i] != ']' && p[i] != '"')
        i++;
    return i > s && i - s <= SDNAME_MAX ? i - s : 0;
}

/* One SD-ELEMENT from p[i] == '['; returns the index after its ']' or 0. */
static size_t sd_element(const char *p, size_t i, size_t len)
{
    i++;
    size_t n = sd_name(p, i, len);
    if (!n)
        return 0;
    i += n;
    while (i < len && p[i] == ' ') {
        i++;
        if (!(n = sd_name(p, i, len)))
            return 0;
        i += n;
        if (i + 1 >= len || p[i] != '=' || p[i + 1] != '"')
            return 0;
        i += 2;
        while (i < len && p[i] != '"')
            i += p[i] == '\\' && i + 1 < len ? 2 : 1;
        if (i >= len)
            return 0;
        i++; /* closing quote */
    }
    return i < len && p[i] == ']' ? i + 1 : 0;
}

static void set_msg(struct cairn_syslog_msg *m, const char *p, size_t len)
{
    if (len >= 3 && (unsigned char)p[0] == 0xEF && (unsigned char)p[1] == 0xBB &&
        (unsigned char)p[2] == 0xBF)
        p += 3, len -= 3;
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\r' || p[len - 1] == '\0'))
        len--;
    m->msg = (struct cairn_syslog_field){p, len};
}

/* n digits at p, their value in *v, within [lo, hi]. */
static int digits(const char *p, int n, int lo, int hi)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return 0;
        v = v * 10 + (p[i] - '0');
    }
    return v >= lo && v <= hi;
}

/* RFC 3339 as RFC 5424 section 6.2.3 has it: FULL-DATE "T" FULL-TIME, 1 to 9 fraction
 * digits (RFC 5424 allows 6), "Z" or an offset. Only the shape and ranges are checked
 * here; cairn_syslog_time converts, when a time is wanted. */
static int rfc3339_shape(const char *p, size_t len)
{
    if (len < 20 || !digits(p, 4, 0, 9999) || p[4] != '-' || !digits(p + 5, 2, 1, 12) ||
        p[7] != '-' || !digits(p + 8, 2, 1, 31) || (p[10] != 'T' && p[10] != 't') ||
        !digits(p + 11, 2, 0, 23) || p[13] != ':' || !digits(p + 14, 2, 0, 59) ||
        p[16] != ':' || !digits(p + 17, 2, 0, 60))
        return 0;
    size_t i = 19;
    if (p[i] == '.') {
        size_t s = ++i;
        while (i < len && is_digit(p[i]))
            i++;
        if (i == s || i - s > 9)
            return 0;
    }
    if (i < len && (p[i] == 'Z' || p[i] == 'z'))
        return i + 1 == len;
    return i + 6 == len && (p[i] == '+' || p[i] == '-') && digits(p + i + 1, 2, 0, 23) &&
           p[i + 3] == ':' && digits(p + i + 4, 2, 0, 59);
}

int cairn_syslog_time(const struct cairn_syslog_msg *m, int64_t *ns)
{
    if (!m->ts.p)
        return CAIRN_EINVAL;
    return cairn__time_parse(m->ts_bsd ? "Stamp" : "RFC3339Nano", NULL, m->ts.p, m->ts.len, ns);
}

static int parse_5424(const char *p, size_t i, size_t len, struct cairn_syslog_msg *m,
                      const char **why)
{
    m->rfc = 5424;
    size_t v = i;
    while (i < len && is_digit(p[i]) && i - v < 3)
        i++;
    if (i == v || p[v] == '0' || i >= len || p[i] != ' ')
        return *why = "bad VERSION", CAIRN_EINVAL;
    i++;
    struct cairn_syslog_field ts;
    size_t e = field(p, i, len, 64, &ts);
    if (!e || e >= len)
        return *why = "bad TIMESTAMP", CAIRN_EINVAL;
    if (ts.p && !rfc3339_shape(ts.p, ts.len))
        return *why = "bad TIMESTAMP", CAIRN_EINVAL;
    m->ts = ts;
    i = e + 1;
    static const struct { size_t max; const char *why; } hdr[4] = {
        {HOST_MAX, "bad HOSTNAME"}, {APP_MAX, "bad APP-NAME"}, {PROCID_MAX, "bad PROCID"},
        {MSGID_MAX, "bad MSGID"}};
    struct cairn_syslog_field *dst[4] = {&m->host, &m->app, &m->procid, &m->msgid};
    for (int k = 0; k < 4; k++) {
        e = field(p, i, len, hdr[k].max, dst[k]);
        if (!e || e >= len)
            return *why = hdr[k].why, CAIRN_EINVAL;
        i = e + 1;
    }
    /* STRUCTURED-DATA */
    if (i >= len)
        return *why = "missing STRUCTURED-DATA", CAIRN_EINVAL;
    if (p[i] == '-') {
        i++;
    } else if (p[i] == '[') {
        size_t s = i;
        while (i < len && p[i] == '[') {
            if (!(e = sd_element(p, i, len)))
                return *why = "bad STRUCTURED-DATA", CAIRN_EINVAL;
            i = e;
        }
        m->sd = (struct cairn_syslog_field){p + s, i - s};
    } else {
        return *why = "bad STRUCTURED-DATA", CAIRN_EINVAL;
    }
    if (i < len && p[i] != ' ' && p[i] != '\n' && p[i] != '\r')
        return *why = "bad STRUCTURED-DATA", CAIRN_EINVAL;
    if (i < len && p[i] == ' ')
        set_msg(m, p + i + 1, len - i - 1);
    return 0;
}

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/* "Mmm dd hh:mm:ss" (day space-padded or not). Returns its length or 0. */
static size_t stamp_3164(const char *p, size_t len)
{
    if (len < 15 || p[3] != ' ')
        return 0;
    int mon = 0;
    for (int k = 0; k < 12 && !mon; k++)
        if (memcmp(p, months + 3 * k, 3) == 0)
            mon = k + 1;
    if (!mon)
        return 0;
    size_t i = 4;
    if (p[i] == ' ')
        i++;
    if (!is_digit(p[i]))
        return 0;
    i += is_digit(p[i + 1]) ? 2 : 1;
    static const char t[] = " dd:dd:dd";
    if (i + 9 > len)
        return 0;
    for (size_t k = 0; k < 9; k++)
        if (t[k] == 'd' ? !is_digit(p[i + k]) : p[i + k] != t[k])
            return 0;
    return i + 9;
}

/* TAG[PID]: at p[i]; sets app (and procid) and returns the index of the message, or
 * i when the text there is not a tag. */
static size_t tag_3164(const char *p, size_t i, size_t len, struct cairn_syslog_msg *m)
{
    size_t s = i;
    while (i < len && printusascii(p[i]) && p[i] != '[' && p[i] != ':' && i - s <= APP_MAX)
        i++;
    if (i == s || i - s > APP_MAX || i >= len)
        return s;
    struct cairn_syslog_field app = {p + s, i - s}, pid = {NULL, 0};
    if (p[i] == '[') {
        size_t ps = ++i;
        while (i < len && p[i] != ']' && printusascii(p[i]))
            i++;
        if (i >= len || p[i] != ']' || i == ps || i - ps > PROCID_MAX)
            return s;
        pid = (struct cairn_syslog_field){p + ps, i - ps};
        i++;
        if (i < len && p[i] == ':')
            i++;
    } else if (p[i] == ':') {
        i++;
    } else {
        return s;
    }
    if (i < len && p[i] == ' ')
        i++;
    m->app = app;
    m->procid = pid;
    return i;
}

static void parse_3164(const char *p, size_t i, size_t len, struct cairn_syslog_msg *m)
{
    m->rfc = 3164;
    size_t n = stamp_3164(p + i, len - i);
    int stamped = 0;
    if (n) {
        m->ts = (struct cairn_syslog_field){p + i, n};
        m->ts_bsd = 1;
        i += n;
        stamped = 1;
    } else if (len - i > 19 && is_digit(p[i]) && p[i + 4] == '-' && p[i + 10] == 'T') {
        /* an RFC 3339 time, as rsyslog's forwarding templates send */
        const char *sp = memchr(p + i, ' ', len - i);
        size_t tl = sp ? (size_t)(sp - (p + i)) : len - i;
        if (rfc3339_shape(p + i, tl)) {
            m->ts = (struct cairn_syslog_field){p + i, tl};
            i += tl;
            stamped = 1;
        }
    }
    if (stamped && i < len && p[i] == ' ')
        i++;
    if (stamped) {
        /* HOSTNAME unless the first word is already the tag ("su[1]:", "cron:") */
        size_t e = i;
        while (e < len && p[e] != ' ')
            e++;
        int is_tag = e > i && (p[e - 1] == ':' || memchr(p + i, '[', e - i));
        if (!is_tag && e > i && e - i <= HOST_MAX) {
            int ok = 1;
            for (size_t k = i; k < e && ok; k++)
                ok = printusascii(p[k]);
            if (ok && e < len) {
                m->host = (struct cairn_syslog_field){p + i, e - i};
                i = e + 1;
            }
        }
    }
    i = tag_3164(p, i, len, m);
    set_msg(m, p + i, len - i);
}

int cairn_syslog_parse(const char *p, size_t len, int format, struct cairn_syslog_msg *m,
                       const char **why)
{
    static const char *unused;
    if (!why)
        why = &unused;
    memset(m, 0, sizeof *m);
    int pri;
    size_t i = parse_pri(p, len, &pri);
    if (!i)
        return *why = "bad PRI", CAIRN_EINVAL;
    m->facility = pri / 8;
    m->severity = pri % 8;
    int is5424 = format == CAIRN_SYSLOG_RFC5424;
    if (format == CAIRN_SYSLOG_AUTO) {
        size_t k = i;
        while (k < len && k - i < 3 && is_digit(p[k]))
            k++;
        is5424 = k > i && k < len && p[k] == ' ';
    }
    if (is5424)
        return parse_5424(p, i, len, m, why);
    parse_3164(p, i, len, m);
    return 0;
}

/* ---- structured data ---- */

void cairn_syslog_sd_begin(struct cairn_syslog_sd_iter *it, const struct cairn_syslog_msg *m)
{
    memset(it, 0, sizeof *it);
    it->p = m->sd.p;
    it->end = m->sd.p ? m->sd.p + m->sd.len : NULL;
}

int cairn_syslog_sd_next(struct cairn_syslog_sd_iter *it, struct cairn_syslog_field *id,
                         struct cairn_syslog_field *name, struct cairn_buf *val)
{
    /* the text was validated by parse: walk it without checks */
    while (it->p && it->p < it->end) {
        if (!it->in_elem) {
            const char *s = ++it->p; /* past '[' */
            while (*it->p != ' ' && *it->p != ']')
                it->p++;
            it->id = (struct cairn_syslog_field){s, (size_t)(it->p - s)};
            it->in_elem = 1;
        }
        if (*it->p == ']') {
            it->p++;
            it->in_elem = 0;
            continue;
        }
        const char *s = ++it->p; /* past SP */
        while (*it->p != '=')
            it->p++;
        *name = (struct cairn_syslog_field){s, (size_t)(it->p - s)};
        it->p += 2; /* =" */
        cairn_buf_reset(val);
        while (*it->p != '"') {
            char c = *it->p++;
            if (c == '\\' && (*it->p == '"' || *it->p == '\\' || *it->p == ']'))
                c = *it->p++;
            if (cairn_buf_append_byte(val, c))
                return CAIRN_ENOMEM;
        }
        it->p++;
        if (cairn_buf_append(val, "", 0))
            return CAIRN_ENOMEM;
        *id = it->id;
        return 1;
    }
    return 0;
}

/* ---- framing ---- */

int cairn_syslog_frame_next(struct cairn_syslog_framer *f, const char *buf, size_t len,
                            const char **frame, size_t *flen, size_t *used)
{
    size_t i = 0;
    *used = 0;
    if (f->skip) {
        size_t n = len - i < f->skip ? len - i : (size_t)f->skip;
        f->skip -= n;
        i += n;
    }
    if (f->skip_to_lf) {
        const char *lf = memchr(buf + i, '\n', len - i);
        if (!lf) {
            *used = len;
            return CAIRN_FRAME_MORE;
        }
        i = (size_t)(lf - buf) + 1;
        f->skip_to_lf = 0;
    }
    while (i < len && (buf[i] == '\n' || buf[i] == '\r' || buf[i] == ' ' || buf[i] == '\0'))
        i++;
    *used = i;
    if (i >= len || f->skip)
        return CAIRN_FRAME_MORE;
    if (is_digit(buf[i])) {
        /* RFC 6587 octet counting: MSG-LEN = NONZERO-DIGIT *DIGIT, then SP */
        size_t d = i;
        uint64_t n = 0;
        while (d < len && is_digit(buf[d]) && d - i < 10)
            n = n * 10 + (uint64_t)(buf[d++] - '0');
        if (d >= len)
            return d - i < 10 ? CAIRN_FRAME_MORE : CAIRN_FRAME_BAD;
        if (buf[d] != ' ' || buf[i] == '0')
            return CAIRN_FRAME_BAD;
        d++;
        if (n > f->max) {
            f->skip = n;
            *used = d;
            return CAIRN_FRAME_OVERSIZE;
        }
        if (len - d < n)
            return CAIRN_FRAME_MORE;
        *frame = buf + d;
        *flen = (size_t)n;
        *used = d + (size_t)n;
        return CAIRN_FRAME_OK;
    }
    const char *lf = memchr(buf + i, '\n', len - i);
    if (!lf) {
        if (len - i > f->max) {
            f->skip_to_lf = 1;
            *used = len;
            return CAIRN_FRAME_OVERSIZE;
        }
        return CAIRN_FRAME_MORE;
    }
    size_t n = (size_t)(lf - (buf + i));
    if (n > f->max) {
        *used = (size_t)(lf - buf) + 1;
        return CAIRN_FRAME_OVERSIZE;
    }
    *frame = buf + i;
    *flen = n;
    *used = (size_t)(lf - buf) + 1;
    return CAIRN_FRAME_OK;
}
