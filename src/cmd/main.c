/* main.c -- the cairn binary: dispatch to a subcommand from a {name, fn, help} table. */
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

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
     "Docker logging plugin: container logs to a Loki-compatible store, docker logs kept"},
    {"check", cairn_cmd_check, "verify a data directory's files; --repair rewrites damaged ones"},
};

static void usage(FILE *f)
{
    fprintf(f, "cairn %s -- keeps what a Kubernetes cluster forgets.\n\n"
               "usage: cairn <command> [options]\n\ncommands:\n", CAIRN_VERSION);
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++)
        fprintf(f, "  %-13s %s\n", subcommands[i].name, subcommands[i].help);
    fprintf(f, "\noptions:\n  --help     this text\n  --version  print the version\n"
               "\n'cairn <command> --help' lists a command's options with their defaults.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("cairn %s\n", CAIRN_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof subcommands / sizeof subcommands[0]; i++) {
        if (strcmp(cmd, subcommands[i].name) == 0)
            return subcommands[i].fn(argc - 1, argv + 1);
    }
    fprintf(stderr, "cairn: unknown command '%s'\n\n", cmd);
    usage(stderr);
    return 2;
}
