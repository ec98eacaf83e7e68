/* The fixes of qlaunch check, spelled the way this host's distribution does it. */
#include "ql-check.h"

#include <string.h>

char *
ql_check_shell_value (const char *text, const char *key)
{
  g_auto(GStrv) lines = g_strsplit (text ? text : "", "\n", -1);
  g_autofree char *prefix = g_strconcat (key, "=", NULL);
  char *value = NULL;

  /* the last assignment wins, as in the shell that reads the file */
  for (guint i = 0; lines[i]; i++)
    {
      const char *line = g_strstrip (lines[i]);
      if (g_str_has_prefix (line, prefix))
        {
          g_free (value);
          value = g_shell_unquote (line + strlen (prefix), NULL);
          if (value == NULL)
            value = g_strdup (line + strlen (prefix));
        }
    }
  return value;
}

static QlDistroFamily
family_of_id (const char *id)
{
  static const struct {
    const char *id;
    QlDistroFamily family;
  } ids[] = {
    { "debian", QL_DISTRO_DEBIAN }, { "ubuntu", QL_DISTRO_DEBIAN },
    { "fedora", QL_DISTRO_FEDORA }, { "rhel", QL_DISTRO_FEDORA }, { "centos", QL_DISTRO_FEDORA },
    { "arch", QL_DISTRO_ARCH },
    { "suse", QL_DISTRO_SUSE }, { "opensuse", QL_DISTRO_SUSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    if (g_strcmp0 (id, ids[i].id) == 0)
      return ids[i].family;
  return QL_DISTRO_UNKNOWN;
}

QlDistroFamily
ql_distro_family_from_os_release (const char *text)
{
  g_autofree char *id = ql_check_shell_value (text, "ID");
  g_autofree char *like = ql_check_shell_value (text, "ID_LIKE");
  g_auto(GStrv) likes = g_strsplit (like ? like : "", " ", -1);
  QlDistroFamily family = family_of_id (id);

  for (guint i = 0; family == QL_DISTRO_UNKNOWN && likes[i]; i++)
    family = family_of_id (likes[i]);
  return family;
}

/* line with each of params that it does not have yet */
static char *
add_params (const char *line, const char *params)
{
  g_auto(GStrv) have = g_strsplit_set (line ? line : "", " \t\n", -1);
  g_auto(GStrv) add = g_strsplit (params, " ", -1);
  GString *out = g_string_new (NULL);

  for (guint i = 0; have[i]; i++)
    if (have[i][0])
      g_string_append_printf (out, "%s%s", out->len ? " " : "", have[i]);
  for (guint i = 0; add[i]; i++)
    if (add[i][0] && !g_strv_contains ((const char *const *) have, add[i]))
      g_string_append_printf (out, "%s%s", out->len ? " " : "", add[i]);
  return g_string_free (out, FALSE);
}

static const char *
grub_update_command (QlDistroFamily family)
{
  switch (family)
    {
    case QL_DISTRO_DEBIAN:
      return "update-grub";
    case QL_DISTRO_FEDORA:
    case QL_DISTRO_SUSE:
      return "grub2-mkconfig -o /boot/grub2/grub.cfg";
    case QL_DISTRO_ARCH:
      return "grub-mkconfig -o /boot/grub/grub.cfg";
    case QL_DISTRO_UNKNOWN:
    default:
      return "update-grub (Debian, Ubuntu) or grub2-mkconfig -o /boot/grub2/grub.cfg (Fedora, openSUSE)";
    }
}

char *
ql_check_fix_cmdline (const QlBootConfig *boot, const char *params)
{
  if (boot->kernel_cmdline != NULL && boot->grub_cmdline == NULL)
    {
      g_autofree char *line = add_params (boot->kernel_cmdline, params);
      return g_strdup_printf ("write /etc/kernel/cmdline as: %s ; then, as root: kernel-install add $(uname -r) "
                              "/lib/modules/$(uname -r)/vmlinuz (systemd-boot; bootctl list shows the entry); reboot",
                              line);
    }
  {
    g_autofree char *line = add_params (boot->grub_cmdline, params);
    return g_strdup_printf ("in /etc/default/grub: GRUB_CMDLINE_LINUX_DEFAULT=\"%s\" ; then, as root: %s; reboot",
                            line, grub_update_command (boot->family));
  }
}

const char *
ql_check_initramfs_command (const QlBootConfig *boot)
{
  if (boot->initramfs_command != NULL)
    return boot->initramfs_command;
  switch (boot->family)
    {
    case QL_DISTRO_DEBIAN:
      return "update-initramfs -u -k all";
    case QL_DISTRO_FEDORA:
    case QL_DISTRO_SUSE:
      return "dracut -f --regenerate-all";
    case QL_DISTRO_ARCH:
      return "mkinitcpio -P";
    case QL_DISTRO_UNKNOWN:
    default:
      return "rebuild the initramfs (update-initramfs -u, dracut -f or mkinitcpio -P)";
    }
}

char *
ql_check_fix_install (const QlBootConfig *boot, const char *debian, const char *fedora, const char *arch,
                      const char *suse)
{
  switch (boot->family)
    {
    case QL_DISTRO_DEBIAN:
      return g_strdup_printf ("apt install %s", debian);
    case QL_DISTRO_FEDORA:
      return g_strdup_printf ("dnf install %s", fedora);
    case QL_DISTRO_ARCH:
      return g_strdup_printf ("pacman -S %s", arch);
    case QL_DISTRO_SUSE:
      return g_strdup_printf ("zypper install %s", suse);
    case QL_DISTRO_UNKNOWN:
    default:
      return g_strdup_printf ("install %s (Debian's name) with the distribution's package manager", debian);
    }
}
