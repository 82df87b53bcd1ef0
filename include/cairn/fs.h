/* fs.h -- file-system helpers shared by the store and the object storage.
 * Errors: 0 or a negative CAIRN_E*; failures are logged with the path. */
#ifndef CAIRN_FS_H
#define CAIRN_FS_H

#include "cairn/buf.h"
#include "cairn/error.h"

/* Append a whole file to out; 0, CAIRN_ENOTFOUND or CAIRN_EIO. */
int cairn_fs_read_file(const char *path, struct cairn_buf *out);
/* mkdir -p; 0, CAIRN_EINVAL (path too long) or CAIRN_EIO. */
int cairn_fs_mkdir_p(const char *path);
/* fsync a directory; 0 or CAIRN_EIO. */
int cairn_fs_fsync_dir(const char *path);
/* rm -rf (a missing path is fine); 0 or CAIRN_EIO. */
int cairn_fs_rm_rf(const char *path);

#endif
