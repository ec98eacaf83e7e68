#include "ql-import-proxmox.h"
QlImport *ql_import_proxmox (const char *data, const char *source, guint vmid, GError **error) { (void)data;(void)source;(void)vmid;(void)error; return NULL; }
