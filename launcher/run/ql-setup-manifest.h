#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>
#include "ql-setup-host.h"
#include "ql-setup-plan.h"

/* What qlaunch host-setup made for a VM, so that --undo removes exactly
 * that and a rerun tells its own files from someone else's: the files
 * under /etc with a SHA-256 of what was written, the softdep modules, the
 * /dev/vfio nodes given to the user (with their owner before), the taps.
 * Kept as root's STATE/NAME/host-setup.json; read back as untrusted input. */

typedef struct {
  QlSetupFileKind kind;
  char *path;                /* relative to the /etc root, as ql_setup_file_path () */
  char *sha256;              /* of the text written */
} QlManifestFile;

typedef struct {
  char *vm;
  char *user;               /* whose it is: a run for another user, or an --undo, is refused */
  char *profile;             /* the profile it was set up from (absolute); NULL in older records */
  GPtrArray *files;          /* QlManifestFile* */
  GPtrArray *softdep_modules;  /* char* */
  GArray *nodes;             /* QlVfioNodeOwner */
  GPtrArray *taps;           /* char*: interface names */
} QlSetupManifest;

#define QL_SETUP_MANIFEST_LIMIT 256    /* entries of any list: more than a VM has */

QlSetupManifest *ql_setup_manifest_new (const char *vm, const char *user);
void ql_setup_manifest_free (QlSetupManifest *manifest);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (QlSetupManifest, ql_setup_manifest_free)

/* STATE/NAME/host-setup.json */
char *ql_setup_manifest_path (const char *vm);

const QlManifestFile *ql_setup_manifest_find_file (const QlSetupManifest *manifest, const char *path);
const QlVfioNodeOwner *ql_setup_manifest_find_node (const QlSetupManifest *manifest, int group);
/* "sha256" of text, lowercase hex */
char *ql_setup_sha256 (const char *text);

JsonNode *ql_setup_manifest_to_json (const QlSetupManifest *manifest);
/* Every field by its grammar: the VM must be vm, each path the one host-setup
 * writes for its kind, user, module and interface names valid, numbers in
 * range, no list longer than QL_SETUP_MANIFEST_LIMIT. */
QlSetupManifest *ql_setup_manifest_from_json (JsonObject *object, const char *vm, GError **error);

/* NULL with *ret_exists FALSE (no error) when there is none.  Refuses a
 * link, anything but a regular file, a file not owned by this user (root)
 * or writable by group or others. */
QlSetupManifest *ql_setup_manifest_load (const char *vm, gboolean *ret_exists, GError **error);
/* Writes it (0600, atomically) in the VM's state dir, made when missing;
 * an empty manifest removes the file instead. */
gboolean ql_setup_manifest_save (const QlSetupManifest *manifest, GError **error);
