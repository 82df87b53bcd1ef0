/* k8s_kubeconfig_fuzz.c -- the kubeconfig loader (src/k8s/kubeconfig.c) on arbitrary
 * bytes: one file (--kubeconfig), or two merged as $KUBECONFIG names them when the
 * input holds a NUL (the bytes before it are the first file). It refuses or loads,
 * never crashes, leaks or reads out of bounds; a loaded connection has a server
 * without a trailing '/', and decoded blobs have the lengths they claim. The loader
 * reads files, so the input is written to a private temporary directory. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cairn/k8s.h"
#include "cairn/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], path_a[96], path_b[96], both[200];

static int write_file(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = n ? fwrite(p, 1, n, f) : 0;
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static void remove_dir(void)
{
    unlink(path_a);
    unlink(path_b);
    rmdir(dir);
}

static void touch_blob(const unsigned char *p, size_t n)
{
    volatile unsigned char sink = 0;
    for (size_t i = 0; i < n; i++)
        sink ^= p[i]; /* ASan checks each blob's bounds */
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/cairn-kubeconfig-fuzz-XXXXXX");
        if (!mkdtemp(dir))
            abort();
        snprintf(path_a, sizeof path_a, "%s/a", dir);
        snprintf(path_b, sizeof path_b, "%s/b", dir);
        snprintf(both, sizeof both, "%s:%s", path_a, path_b);
        atexit(remove_dir);
        cairn_log_set_level(CAIRN_LOG_ERROR);
    }
    const uint8_t *nul = size ? memchr(data, 0, size) : NULL;
    size_t na = nul ? (size_t)(nul - data) : size;
    if (write_file(path_a, data, na))
        return 0;
    struct cairn_k8s_load_opts o = {.home = dir, .sa_dir = dir};
    if (nul) {
        if (write_file(path_b, nul + 1, size - na - 1))
            return 0;
        o.kubeconfig_env = both;
    } else {
        o.kubeconfig = path_a;
    }
    struct cairn_k8s_conn c;
    struct cairn_err err;
    if (cairn_k8s_conn_load(&c, &o, &err) == 0) {
        size_t sl = c.server ? strlen(c.server) : 0;
        if (!c.server || (sl && c.server[sl - 1] == '/') || c.in_cluster)
            abort();
        touch_blob(c.ca_data, c.ca_data_len);
        touch_blob(c.cert_data, c.cert_data_len);
        touch_blob(c.key_data, c.key_data_len);
    }
    cairn_k8s_conn_deinit(&c);
    return 0;
}
