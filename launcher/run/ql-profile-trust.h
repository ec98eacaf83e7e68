#pragma once

#include <glib.h>

/* A profile started as root decides what runs with root's host-side power
 * (its [qemu] binary and args, the files it names), so, like sudo with
 * sudoers and sshd with StrictModes, qlaunch runs one only if root owns it
 * and nobody else can write it, nor any directory above it (else they could
 * put another file in its place).  A directory with the sticky bit (/tmp)
 * may be writable by others: they cannot rename or remove root's entries.
 * Symbolic links are followed first and the target checked.  Returns FALSE
 * with a QL_ERROR_PROFILE error naming the file, its owner and mode, and the
 * fix. */
gboolean ql_profile_trust_check (const char *path, GError **error);
