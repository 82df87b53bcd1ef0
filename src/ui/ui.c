/* ui.c -- find the web UI's embedded files by URL path. */
#include <string.h>

#include "cairn/ui.h"

extern const struct cairn_ui_asset cairn__ui_assets[]; /* gen/ui_assets.c */

const struct cairn_ui_asset *cairn_ui_find(const char *path)
{
    if (!path || strcmp(path, "/") == 0 || strcmp(path, "/ui") == 0 || strcmp(path, "/ui/") == 0)
        path = "/index.html";
    else if (strncmp(path, "/ui/", 4) == 0)
        path += 3; /* the same files under /ui/, for a UI behind a path prefix */
    for (const struct cairn_ui_asset *a = cairn__ui_assets; a->path; a++)
        if (strcmp(a->path, path) == 0)
            return a;
    return NULL;
}
