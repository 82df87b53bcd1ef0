#!/usr/bin/env python3
"""gen.py -- man pages and shell completions from the built binary's own help.

    packaging/gen.py --cairn build/cairn --out build/packaging

writes OUT/man/cairn.1 and cairn-CMD.1 for every command `cairn help` lists whose
--help is a usage text (help and version are described in cairn(1)), and
OUT/completions/cairn (bash) and OUT/completions/_cairn (zsh). The options come from
the config tables through `cairn CMD --help`, so a new option or command shows up here
at the next build (CMake runs this after linking cairn). Files whose content did not
change are left alone. The date on the pages is $SOURCE_DATE_EPOCH's, else today's.
"""
import argparse
import datetime
import os
import sys

sys.dont_write_bytecode = True  # the build writes nothing into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import completion  # noqa: E402
import helptext  # noqa: E402
import man  # noqa: E402


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(path, encoding="utf-8") as f:
            if f.read() == text:
                return
    except FileNotFoundError:
        pass
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cairn", required=True, help="the built cairn binary")
    ap.add_argument("--out", required=True, help="output folder")
    args = ap.parse_args()

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch
            else datetime.datetime.now(datetime.timezone.utc))
    date = when.strftime("%Y-%m-%d")

    prog = helptext.read_program(args.cairn)
    mandir = os.path.join(args.out, "man")
    wanted = {"cairn.1"}
    write(os.path.join(mandir, "cairn.1"), man.page_top(prog, date))
    for cmd in prog.commands:
        if cmd.usage:
            name = "cairn-%s.1" % cmd.name
            wanted.add(name)
            write(os.path.join(mandir, name), man.page_command(prog, cmd, date))
    # a page of a command that is gone would otherwise be installed forever
    for stale in set(os.listdir(mandir)) - wanted:
        if stale.endswith(".1"):
            os.remove(os.path.join(mandir, stale))
    write(os.path.join(args.out, "completions", "cairn"), completion.bash(prog))
    write(os.path.join(args.out, "completions", "_cairn"), completion.zsh(prog))
    return 0


if __name__ == "__main__":
    sys.exit(main())
