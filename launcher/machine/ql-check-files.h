#pragma once

#include <glib.h>
#include "ql-check.h"
#include "ql-machine.h"
#include "ql-run-as.h"

/* The files a VM's profile names (disks, CD-ROMs, ROMs, kernel, initrd,
 * UEFI code, ACPI tables, fw_cfg files...) as the user QEMU runs as may use
 * them, from owners, modes and groups that host/ql-check-read.c read: the
 * kernel's check, computed, not tried. */

typedef struct {
  QlRunAs *run_as;           /* QEMU's user with the groups start gives it; NULL: QEMU runs as root */
  char *group_name;          /* run_as's primary group, for the chgrp fix */
  gboolean root_start;       /* root starts the VM (and hands root's own files over for the run) */
  char *error;               /* who QEMU runs as cannot be decided: start's refusal */
  GHashTable *paths;         /* path -> QlPathInfo*, each file and every directory above it */
  GHashTable *acls;          /* the paths that carry a POSIX access ACL */
} QlCheckFileFacts;

void ql_check_file_facts_free (QlCheckFileFacts *facts);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlCheckFileFacts, ql_check_file_facts_free)

/* What check looks at (QlRunAsNeed*): every file QEMU opens by the
 * profile's word, and, when the starting user is QEMU's, the UEFI varstore
 * template that start itself copies. */
GPtrArray *ql_check_file_needs (const QlMachine *m, gboolean root_start);

/* Appends the files findings: a fail (with the chgrp/chmod or setfacl fix)
 * for each file QEMU's user may not use and start does not hand over, a
 * warn for each behind a POSIX ACL, else one ok.  Adds to failed each
 * failing file as "LABEL 'PATH'", the way start's host plan names it. */
void ql_check_files (const QlMachine *m, const QlCheckFileFacts *facts, GPtrArray *findings, GPtrArray *failed);
