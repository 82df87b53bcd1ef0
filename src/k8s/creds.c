/* creds.c -- the credentials a request carries right now: inline or file tokens (re-read
 * when the file changes, as projected service-account tokens rotate), basic auth, client
 * certificates, and exec credential plugins run again before their expiry. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cairn/buf.h"
#include "cairn/k8s.h"
#include "cairn/log.h"
#include "cairn/timeutil.h"

extern char **environ;

/* Run the plugin again this long before its credential expires. */
#define EXEC_REFRESH_MARGIN_NS (60LL * 1000000000LL)
/* A plugin that has not answered in this time is killed (it must not hang the router). */
#define EXEC_TIMEOUT_NS (30LL * 1000000000LL)
/* A plugin printing more than this is broken. */
#define EXEC_MAX_OUTPUT (1024 * 1024)

struct cairn_k8s_creds {
    const struct cairn_k8s_conn *c;
    /* token file cache */
    char *file_token;
    struct timespec file_mtime;
    off_t file_size;
    int file_loaded;
    /* exec plugin cache */
    char *exec_token;
    char *exec_cert, *exec_key;
    int64_t exec_expiry_ns; /* 0: no expiry */
    int exec_loaded;
};

struct cairn_k8s_creds *cairn_k8s_creds_create(const struct cairn_k8s_conn *c)
{
    struct cairn_k8s_creds *cr = calloc(1, sizeof *cr);
    if (cr)
        cr->c = c;
    return cr;
}

static void exec_clear(struct cairn_k8s_creds *cr)
{
    free(cr->exec_token);
    free(cr->exec_cert);
    free(cr->exec_key);
    cr->exec_token = cr->exec_cert = cr->exec_key = NULL;
    cr->exec_loaded = 0;
    cr->exec_expiry_ns = 0;
}

void cairn_k8s_creds_destroy(struct cairn_k8s_creds *cr)
{
    if (!cr)
        return;
    free(cr->file_token);
    exec_clear(cr);
    free(cr);
}

void cairn_k8s_creds_invalidate(struct cairn_k8s_creds *cr)
{
    cr->file_loaded = 0;
    exec_clear(cr);
}

static int load_token_file(struct cairn_k8s_creds *cr, struct cairn_err *err)
{
    const char *path = cr->c->token_file;
    struct stat st;
    if (stat(path, &st) != 0)
        return cairn_err_set(err, CAIRN_EIO, "token file %s: %s", path, strerror(errno));
    if (cr->file_loaded && st.st_size == cr->file_size &&
        st.st_mtim.tv_sec == cr->file_mtime.tv_sec &&
        st.st_mtim.tv_nsec == cr->file_mtime.tv_nsec)
        return 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return cairn_err_set(err, CAIRN_EIO, "token file %s: %s", path, strerror(errno));
    struct cairn_buf b = CAIRN_BUF_INIT;
    char chunk[4096];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        rc = cairn_buf_append(&b, chunk, n);
    fclose(f);
    if (rc) {
        cairn_buf_deinit(&b);
        return cairn_err_set(err, rc, "token file %s: out of memory", path);
    }
    while (b.len > 0 && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r' ||
                         b.data[b.len - 1] == ' '))
        cairn_buf_truncate(&b, b.len - 1);
    free(cr->file_token);
    cr->file_token = cairn_buf_detach(&b, NULL);
    if (!cr->file_token && !(cr->file_token = strdup("")))
        return CAIRN_ENOMEM;
    if (cr->file_loaded)
        CAIRN_INFO("k8s", "token file changed, re-read", "path=%s", path);
    cr->file_loaded = 1;
    cr->file_mtime = st.st_mtim;
    cr->file_size = st.st_size;
    return 0;
}

/* Build argv and envp before fork, so the child only calls execvpe. */
static char **build_env(const struct cairn_k8s_exec *x, const char *info)
{
    size_t n0 = 0, n1 = 0;
    while (environ && environ[n0])
        n0++;
    while (x->env && x->env[n1])
        n1++;
    char **env = calloc(n0 + n1 + 2, sizeof *env);
    if (!env)
        return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n0; i++)
        env[k++] = environ[i];
    for (size_t i = 0; i < n1; i++)
        env[k++] = x->env[i];
    env[k++] = (char *)info;
    return env;
}

static int run_exec(struct cairn_k8s_creds *cr, struct cairn_err *err)
{
    const struct cairn_k8s_exec *x = &cr->c->exec;
    const char *apiv = x->api_version ? x->api_version : "client.authentication.k8s.io/v1";
    char info[512];
    snprintf(info, sizeof info, "KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\",\"kind\":"
             "\"ExecCredential\",\"spec\":{\"interactive\":false}}", apiv);
    size_t nargs = 0;
    while (x->args && x->args[nargs])
        nargs++;
    char **argv = calloc(nargs + 2, sizeof *argv);
    char **envp = build_env(x, info);
    int pfd[2] = {-1, -1};
    if (!argv || !envp || pipe(pfd) != 0) {
        free(argv);
        free(envp);
        return cairn_err_set(err, CAIRN_EIO, "exec plugin %s: cannot start", x->command);
    }
    argv[0] = x->command;
    for (size_t i = 0; i < nargs; i++)
        argv[i + 1] = x->args[i];
    pid_t pid = fork();
    if (pid == 0) {
        int nul = open("/dev/null", O_RDONLY); /* never interactive */
        if (nul >= 0)
            dup2(nul, 0);
        dup2(pfd[1], 1);
        close(pfd[0]);
        close(pfd[1]);
        execvpe(x->command, argv, envp);
        _exit(127);
    }
    free(argv);
    free(envp);
    close(pfd[1]);
    if (pid < 0) {
        close(pfd[0]);
        return cairn_err_set(err, CAIRN_EIO, "exec plugin %s: fork: %s", x->command,
                             strerror(errno));
    }
    struct cairn_buf out = CAIRN_BUF_INIT;
    char chunk[4096];
    ssize_t n;
    int rc = 0;
    int64_t deadline = cairn_mono_ns() + EXEC_TIMEOUT_NS;
    int timed_out = 0;
    for (;;) {
        int64_t left_ms = (deadline - cairn_mono_ns()) / 1000000;
        struct pollfd pf = {.fd = pfd[0], .events = POLLIN};
        int pr = left_ms > 0 ? poll(&pf, 1, (int)left_ms) : 0;
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0) {
            timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        n = read(pfd[0], chunk, sizeof chunk);
        if (n == 0)
            break;
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (rc == 0 && out.len + (size_t)n <= EXEC_MAX_OUTPUT)
            rc = cairn_buf_append(&out, chunk, (size_t)n);
    }
    close(pfd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
        cairn_buf_deinit(&out);
        return cairn_err_set(err, CAIRN_EIO, "exec plugin %s: no answer within %lld s, killed",
                             x->command, (long long)(EXEC_TIMEOUT_NS / 1000000000));
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        cairn_buf_deinit(&out);
        return cairn_err_set(err, CAIRN_EIO, "exec plugin %s: exited with status %d",
                             x->command, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    json_error_t jerr;
    json_t *doc = rc ? NULL : json_loadb(out.data ? out.data : "", out.len, 0, &jerr);
    cairn_buf_deinit(&out);
    json_t *st = json_object_get(doc, "status");
    if (!json_is_object(st)) {
        json_decref(doc);
        return cairn_err_set(err, CAIRN_EINVAL, "exec plugin %s: output is not an "
                             "ExecCredential with a status", x->command);
    }
    exec_clear(cr);
    const char *tok = json_string_value(json_object_get(st, "token"));
    const char *cert = json_string_value(json_object_get(st, "clientCertificateData"));
    const char *key = json_string_value(json_object_get(st, "clientKeyData"));
    const char *exp = json_string_value(json_object_get(st, "expirationTimestamp"));
    rc = 0;
    if ((tok && !(cr->exec_token = strdup(tok))) || (cert && !(cr->exec_cert = strdup(cert))) ||
        (key && !(cr->exec_key = strdup(key))))
        rc = CAIRN_ENOMEM;
    if (rc == 0 && !tok && !(cert && key))
        rc = cairn_err_set(err, CAIRN_EINVAL, "exec plugin %s: ExecCredential has neither "
                           "status.token nor clientCertificateData+clientKeyData", x->command);
    if (rc == 0 && exp && cairn_k8s_parse_time(exp, &cr->exec_expiry_ns) != 0)
        rc = cairn_err_set(err, CAIRN_EINVAL, "exec plugin %s: bad expirationTimestamp \"%s\"",
                           x->command, exp);
    if (rc == 0)
        CAIRN_INFO("k8s", "exec credential plugin ran", "command=%s expires=%s", x->command,
                   exp ? exp : "never");
    json_decref(doc);
    if (rc) {
        exec_clear(cr);
        return rc;
    }
    cr->exec_loaded = 1;
    return 0;
}

int cairn_k8s_creds_get(struct cairn_k8s_creds *cr, int64_t now_ns, struct cairn_k8s_auth *out,
                        struct cairn_err *err)
{
    const struct cairn_k8s_conn *c = cr->c;
    memset(out, 0, sizeof *out);
    int rc;
    if (c->exec.command) {
        if (!cr->exec_loaded ||
            (cr->exec_expiry_ns && now_ns + EXEC_REFRESH_MARGIN_NS >= cr->exec_expiry_ns)) {
            if ((rc = run_exec(cr, err)) != 0)
                return rc;
        }
        out->token = cr->exec_token;
        if (cr->exec_cert && cr->exec_key) {
            out->cert = (const unsigned char *)cr->exec_cert;
            out->cert_len = strlen(cr->exec_cert);
            out->key = (const unsigned char *)cr->exec_key;
            out->key_len = strlen(cr->exec_key);
        }
    }
    if (!out->token && c->token && *c->token)
        out->token = c->token;
    if (!out->token && c->token_file) {
        if ((rc = load_token_file(cr, err)) != 0)
            return rc;
        out->token = cr->file_token;
    }
    if (!out->token && c->username) {
        out->username = c->username;
        out->password = c->password ? c->password : "";
    }
    if (!out->cert) {
        if (c->cert_data) {
            out->cert = c->cert_data;
            out->cert_len = c->cert_data_len;
        } else {
            out->cert_file = c->cert_file;
        }
        if (c->key_data) {
            out->key = c->key_data;
            out->key_len = c->key_data_len;
        } else {
            out->key_file = c->key_file;
        }
    }
    return 0;
}

static int b64v(int ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

unsigned char *cairn_k8s_base64_decode(const char *s, size_t len, size_t *out_len)
{
    unsigned char *out = malloc(len / 4 * 3 + 4);
    if (!out)
        return NULL;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0, pad = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
            continue;
        if (ch == '=') {
            pad++;
            continue;
        }
        int v = b64v(ch);
        if (v < 0 || pad) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

static int digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

int cairn_k8s_parse_time(const char *s, int64_t *ns)
{
    struct tm tm = {0};
    int y, mo, d, h, mi, se;
    if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) ||
        s[7] != '-' || digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
        digits(s + 17, 2, &se))
        return CAIRN_EINVAL;
    const char *p = s + 19;
    int64_t frac = 0;
    if (*p == '.') {
        int64_t scale = 100000000;
        for (p++; *p >= '0' && *p <= '9'; p++) {
            frac += (*p - '0') * scale;
            scale /= 10;
        }
    }
    int64_t off = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om))
            return CAIRN_EINVAL;
        off = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return CAIRN_EINVAL;
    }
    if (*p != '\0')
        return CAIRN_EINVAL;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    int64_t secs = (int64_t)timegm(&tm) - off;
    /* unix ns in int64 span 1677-09-21 .. 2262-04-11; past them the product overflows */
    if (secs <= INT64_MIN / 1000000000LL || secs >= INT64_MAX / 1000000000LL)
        return CAIRN_EINVAL;
    *ns = secs * 1000000000LL + frac;
    return 0;
}
