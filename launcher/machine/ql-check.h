#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

/* qlaunch check as data: findings (ok / warn / fail, each warn or fail
 * with the fix for this host's distribution) computed by pure functions
 * from facts that host/ql-check-read.c gathers. */

typedef enum {
  QL_CHECK_OK,
  QL_CHECK_WARN,
  QL_CHECK_FAIL,
} QlCheckStatus;

typedef struct {
  char *check;               /* "iommu", "kvm", "pci gpu", ... */
  QlCheckStatus status;
  char *message;
  char *fix;                 /* NULL for ok */
} QlFinding;

/* The families whose commands differ (ID and ID_LIKE of os-release). */
typedef enum {
  QL_DISTRO_UNKNOWN,
  QL_DISTRO_DEBIAN,          /* debian, ubuntu, mint, pop: update-grub, update-initramfs */
  QL_DISTRO_FEDORA,          /* fedora, rhel, centos: grub2-mkconfig, dracut */
  QL_DISTRO_ARCH,            /* arch, manjaro, endeavouros: grub-mkconfig, mkinitcpio */
  QL_DISTRO_SUSE,            /* opensuse, sles: grub2-mkconfig, dracut */
} QlDistroFamily;

/* How the host boots, for the kernel command line's fix. */
typedef struct {
  QlDistroFamily family;
  char *grub_cmdline;        /* GRUB_CMDLINE_LINUX_DEFAULT's value in /etc/default/grub; NULL: no such file */
  char *kernel_cmdline;      /* /etc/kernel/cmdline (systemd-boot, kernel-install); NULL: none */
  const char *initramfs_command;   /* as ql_setup_initramfs_command () found it; NULL: by the family */
} QlBootConfig;

void ql_finding_free (QlFinding *finding);
const char *ql_check_status_to_string (QlCheckStatus status);
/* Appends a finding; fix is taken (may be NULL). */
void ql_findings_add (GPtrArray *findings, const char *check, QlCheckStatus status, char *message, char *fix);
/* A new array of QlFinding*. */
GPtrArray *ql_findings_new (void);
/* 0: all ok, 1: a warn, 2: a fail. */
int ql_findings_exit_code (const GPtrArray *findings);
/* [{check, status, message, fix}] */
JsonNode *ql_findings_to_json (const GPtrArray *findings);

/* From the text of os-release: ID, then each of ID_LIKE. */
QlDistroFamily ql_distro_family_from_os_release (const char *text);
/* The value of KEY="..." in a shell-like file (os-release, /etc/default/grub), unquoted; NULL when absent. */
char *ql_check_shell_value (const char *text, const char *key);

/* The fix that adds params (space-separated) to the kernel command line
 * and rebuilds the boot loader's configuration, as this host boots. */
char *ql_check_fix_cmdline (const QlBootConfig *boot, const char *params);
/* This family's initramfs command. */
const char *ql_check_initramfs_command (const QlBootConfig *boot);
/* The command that installs package names for this family (one per family, space separated). */
char *ql_check_fix_install (const QlBootConfig *boot, const char *debian, const char *fedora, const char *arch,
                            const char *suse);
