/* main.c -- the cairn binary: dispatch to a subcommand from a {name, fn, help} table;
 * `cairn help [command]` and `cairn version` / `--version` with the build's facts. */
#include <stdio.h>
#include <string.h>

#include "cairn/text.h"
#include "cmd/cmd.h"

#ifndef CAIRN_GIT_COMMIT
#define CAIRN_GIT_COMMIT "unknown"
#endif
#ifndef CAIRN_BUILD_TYPE
#define CAIRN_BUILD_TYPE "unknown"
#endif

struct subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *help;
};

static const struct subcommand subcommands[] = {
    {"serve", cairn_cmd_serve, "the store: Loki's push and query API, WAL, chunks, index, web UI"},
    {"events", cairn_cmd_events, "watch Kubernetes Events and emit each exactly once"},
    {"ship", cairn_cmd_ship, "the agent: tail files, stdin and pod logs, run stages, push"},
    {"query", cairn_cmd_query, "run a LogQL query against a Loki-compatible endpoint"},
    {"docker-driver", cairn_cmd_docker_driver,
     "Docker logging plugin: container logs to a Loki-compatible store"},
    {"canary", cairn_cmd_canary, "write lines, read them back, report missing ones (loki-canary)"},
    {"check", cairn_cmd_check, "verify a data directory's files; --repair rewrites damaged ones"},
};
#define N_SUBCOMMANDS (sizeof subcommands / sizeof subcommands[0])

static void usage(FILE *f)
{
    fprintf(f, "cairn %s -- keeps what a Kubernetes cluster forgets.\n\n"
               "usage: cairn <command> [options]\n\ncommands:\n", CAIRN_VERSION);
    for (size_t i = 0; i < N_SUBCOMMANDS; i++)
        fprintf(f, "  %-13s %s\n", subcommands[i].name, subcommands[i].help);
    fprintf(f, "  %-13s %s\n  %-13s %s\n", "help", "this text, or a command's options: "
               "cairn help <command>", "version", "the version and how it was built");
    fprintf(f, "\n'cairn <command> --help' lists a command's options with their defaults.\n");
}

/* What `cairn version` prints, as `loki -version` does: version, commit, build. */
static void version(void)
{
    printf("cairn, version %s (commit: %s)\n"
           "  build type: %s\n"
           "  compiler:   %s\n"
           "  built:      %s %s\n",
           CAIRN_VERSION, CAIRN_GIT_COMMIT, CAIRN_BUILD_TYPE,
#ifdef __clang__
           "clang " __clang_version__,
#else
           "gcc " __VERSION__,
#endif
           __DATE__, __TIME__);
}

static const struct subcommand *find(const char *name)
{
    for (size_t i = 0; i < N_SUBCOMMANDS; i++)
        if (strcmp(name, subcommands[i].name) == 0)
            return &subcommands[i];
    return NULL;
}

/* "unknown command" with the closest name, if one is close. */
static int unknown(const char *name)
{
    const char *best = NULL;
    size_t best_d = strlen(name) < 4 ? 2 : 3;
    for (size_t i = 0; i < N_SUBCOMMANDS; i++) {
        const char *n = subcommands[i].name;
        size_t d = cairn_edit_distance(name, strlen(name), n, strlen(n));
        if (d < best_d) {
            best_d = d;
            best = n;
        }
    }
    if (best)
        fprintf(stderr, "cairn: unknown command '%s' (did you mean %s?)\n", name, best);
    else
        fprintf(stderr, "cairn: unknown command '%s' (see cairn help)\n", name);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0 ||
        strcmp(cmd, "-help") == 0) {
        if (argc > 2 && strcmp(cmd, "help") == 0) {
            const struct subcommand *s = find(argv[2]);
            if (!s)
                return unknown(argv[2]);
            char *args[] = {argv[2], "--help", NULL};
            return s->fn(2, args);
        }
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-version") == 0 ||
        strcmp(cmd, "version") == 0) {
        version();
        return 0;
    }
    const struct subcommand *s = find(cmd);
    if (s)
        return s->fn(argc - 1, argv + 1);
    if (cmd[0] == '-') {
        fprintf(stderr, "cairn: unknown option '%s': a command comes first (see cairn help)\n",
                cmd);
        return 2;
    }
    return unknown(cmd);
}
