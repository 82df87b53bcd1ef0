/* ui.h -- the web UI's files, built into the binary (src/ui/assets, embedded by
 * cmake/embed.cmake), for `cairn serve` to answer GET / and the files it loads.
 *
 * Ownership: the assets are static, read-only data; lookups return views into them. */
#ifndef CAIRN_UI_H
#define CAIRN_UI_H

#include <stddef.h>

struct cairn_ui_asset {
    const char *path;         /* "/index.html" */
    const char *content_type;
    const unsigned char *data;
    size_t len;
};

/* The asset served at an URL path ("/" is the index), or NULL. */
const struct cairn_ui_asset *cairn_ui_find(const char *path);

#endif
