#pragma once

#include <glib.h>

/* Splits the byte stream a QMP peer sends into complete top-level JSON
 * objects.  It does not parse JSON (json-glib does that); it only tracks
 * object depth, strings and escapes so that a message split across reads, or
 * several messages in one read, come out one by one. */

/* QEMU's largest reply (query-qmp-schema) is about 200 KiB in 7.2; anything
 * far beyond that is a broken or hostile peer. */
#define QL_QMP_MAX_MESSAGE_SIZE (8u * 1024 * 1024)

typedef struct _QlQmpFramer QlQmpFramer;

QlQmpFramer *ql_qmp_framer_new (gsize max_message_size);
void ql_qmp_framer_free (QlQmpFramer *framer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlQmpFramer, ql_qmp_framer_free)

void ql_qmp_framer_push (QlQmpFramer *framer, const void *data, gsize len);

/* Returns TRUE and a newly allocated message in ret_message when a complete
 * object is buffered; FALSE with error unset when more bytes are needed;
 * FALSE with error set (QL_QMP_ERROR_PROTOCOL) when the stream is not a
 * sequence of JSON objects or a message exceeds the size limit.  After an
 * error the framer stays failed. */
gboolean ql_qmp_framer_next (QlQmpFramer *framer, char **ret_message, GError **error);
