/*
 * cdr_internal.h — the CDR writer's fault-injection seam, for tests only.
 *
 * Every write(2) the writer makes (the CDR file and the spool file) goes through the
 * function set here, so a test can make one short, or fail with ENOSPC or EIO, and check
 * that the file keeps whole lines and the record is written later. NULL restores write.
 */
#ifndef DIALTONE_CDR_INTERNAL_H
#define DIALTONE_CDR_INTERNAL_H
#include <sys/types.h>

void dt__cdr_set_write_fn(ssize_t (*fn)(int fd, const void *buf, size_t len));

#endif
