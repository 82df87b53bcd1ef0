/* ship_capture_tool.c -- a tiny Loki push endpoint for e2e tests: decodes each
 * snappy+protobuf push and appends one "tenant\tlabels\tline" row per entry to a file.
 *
 *   ship_capture_tool OUT_FILE [STATUS]
 * listens on an ephemeral 127.0.0.1 port, prints "port=N" on stdout, runs until
 * SIGTERM/SIGINT. STATUS (default 204) is the reply to every push. */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "push.pb-c.h"

struct ctx {
    FILE *out;
    unsigned status;
    pthread_mutex_t mu;
};

struct conn {
    char *body;
    size_t len;
};

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    (void)url;
    (void)method;
    (void)version;
    struct ctx *x = cls;
    struct conn *cn = *con_cls;
    if (!cn) {
        cn = calloc(1, sizeof *cn);
        *con_cls = cn;
        return cn ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        char *nb = realloc(cn->body, cn->len + *upload_size);
        if (!nb)
            return MHD_NO;
        cn->body = nb;
        memcpy(cn->body + cn->len, upload, *upload_size);
        cn->len += *upload_size;
        *upload_size = 0;
        return MHD_YES;
    }
    unsigned status = x->status;
    size_t ulen = 0;
    Logproto__PushRequest *pr = NULL;
    if (snappy_uncompressed_length(cn->body, cn->len, &ulen) == SNAPPY_OK) {
        char *raw = malloc(ulen ? ulen : 1);
        if (raw && snappy_uncompress(cn->body, cn->len, raw, &ulen) == SNAPPY_OK)
            pr = logproto__push_request__unpack(NULL, ulen, (uint8_t *)raw);
        free(raw);
    }
    if (!pr) {
        status = 400;
    } else if (status / 100 == 2) {
        const char *tenant = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Scope-OrgID");
        pthread_mutex_lock(&x->mu);
        for (size_t i = 0; i < pr->n_streams; i++) {
            Logproto__StreamAdapter *s = pr->streams[i];
            for (size_t j = 0; j < s->n_entries; j++)
                fprintf(x->out, "%s\t%s\t%.*s\n", tenant ? tenant : "", s->labels,
                        (int)s->entries[j]->line.len, (const char *)s->entries[j]->line.data);
        }
        fflush(x->out);
        pthread_mutex_unlock(&x->mu);
    }
    if (pr)
        logproto__push_request__free_unpacked(pr, NULL);
    static const char msg[] = "";
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)msg, MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static void done(void *cls, struct MHD_Connection *c, void **con_cls,
                 enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    struct conn *cn = *con_cls;
    if (cn) {
        free(cn->body);
        free(cn);
        *con_cls = NULL;
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s OUT_FILE [STATUS]\n", argv[0]);
        return 2;
    }
    struct ctx x = {fopen(argv[1], "a"), argc > 2 ? (unsigned)atoi(argv[2]) : 204,
                    PTHREAD_MUTEX_INITIALIZER};
    if (!x.out) {
        perror(argv[1]);
        return 1;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* the daemon's thread inherits the mask */
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct MHD_Daemon *d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD, 0, NULL, NULL, handle,
                                            &x, MHD_OPTION_SOCK_ADDR, &sa,
                                            MHD_OPTION_NOTIFY_COMPLETED, done, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "cannot start the server\n");
        return 1;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("port=%u\n", (unsigned)di->port);
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    fclose(x.out);
    return 0;
}
