#pragma once

#include <glib.h>
#include "ql-import.h"

/* The namespace of qlaunch's element in a domain's <metadata>: the profile
 * keys libvirt has no element for, as 'qlaunch export libvirt' writes them. */
#define QL_LIBVIRT_METADATA_NS "https://qlaunch.invalid/xmlns/profile/1"

/* A profile from a libvirt domain XML (what 'virsh dumpxml NAME' prints).
 * Every element is either mapped onto a profile key, kept in [qemu] args,
 * or named in a warning with its line.  NULL with QL_ERROR_PROFILE when
 * data is not well-formed XML or not a <domain>.  source names the input in
 * messages.  Pure: parses data only (no network, no external entities). */
QlImport *ql_import_libvirt (const char *data, gsize len, const char *source, GError **error);
