#pragma once

#include <glib.h>

/* Where qlaunch keeps things (see the README's "Paths").  Each base can be
 * moved with an environment variable, which the tests use to stay hermetic:
 * QLAUNCH_RUNTIME_DIR, QLAUNCH_STATE_DIR, QLAUNCH_CACHE_DIR, QLAUNCH_PROFILE_PATH (':'-separated). */

char *ql_paths_runtime_base (void);
char *ql_paths_state_base (void);
/* What qlaunch learnt and can learn again (QEMU's capabilities):
 * $XDG_CACHE_HOME/qlaunch, /var/cache/qlaunch as root; QLAUNCH_CACHE_DIR moves it. */
char *ql_paths_cache_base (void);
char *ql_paths_runtime_dir (const char *vm_name);
/* The runtime dir a root start gives VM_NAME, whoever asks: /run/qlaunch/NAME
 * (or under QLAUNCH_RUNTIME_DIR). */
char *ql_paths_system_runtime_dir (const char *vm_name);
char *ql_paths_state_dir (const char *vm_name);
GStrv ql_paths_profile_dirs (void);

/* An argument ending in ".ini" or containing '/' is a path; anything else is
 * looked up as NAME.ini in the profile directories. */
char *ql_paths_find_profile (const char *name_or_path, GError **error);

/* The host's /sys, /proc and /dev; QLAUNCH_SYSFS and friends point them at a
 * tree made by a test. */
const char *ql_paths_sysfs (void);
const char *ql_paths_procfs (void);
const char *ql_paths_devfs (void);
/* The host's /etc, where host-setup writes; QLAUNCH_ETC points it at a
 * tree made by a test. */
const char *ql_paths_etc (void);
/* The kernels' modules (RELEASE/modules.dep); QLAUNCH_MODULES moves it. */
const char *ql_paths_modules (void);

/* A directory qlaunch keeps files in: a real directory (no symbolic link),
 * owned by this user, writable by no one else.  QL_ERROR_HOST otherwise. */
gboolean ql_paths_check_own_dir (const char *path, GError **error);

/* Creates path (0700) and its parents, then checks it and its parent as above. */
gboolean ql_paths_make_own_dir (const char *path, GError **error);
