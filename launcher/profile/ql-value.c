#include "ql-value.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

gboolean
ql_value_parse_size (const char *text, guint64 *ret_bytes, char **ret_message)
{
  static const struct { char unit; guint shift; } units[] = {
    { 'K', 10 }, { 'M', 20 }, { 'G', 30 }, { 'T', 40 },
  };
  const char *p = text;
  guint64 whole = 0, frac = 0, frac_div = 1;
  gboolean digits = FALSE;
  guint shift = 0;
  guint64 bytes;

  while (g_ascii_isdigit (*p))
    {
      if (whole > G_MAXUINT64 / 10)
        goto too_big;
      whole = whole * 10 + (*p++ - '0');
      digits = TRUE;
    }
  if (*p == '.')
    {
      p++;
      while (g_ascii_isdigit (*p))
        {
          if (frac_div < 1000000)
            {
              frac = frac * 10 + (*p - '0');
              frac_div *= 10;
            }
          p++;
          digits = TRUE;
        }
    }
  if (!digits)
    {
      *ret_message = g_strdup_printf ("'%s' is not a size; write a number with a unit, e.g. 512M or 8G", text);
      return FALSE;
    }
  if (*p == '\0')
    {
      *ret_message = g_strdup_printf ("'%s' has no unit; write e.g. %sM or %sG", text, text, text);
      return FALSE;
    }
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    if (g_ascii_toupper (*p) == units[i].unit)
      shift = units[i].shift;
  if (shift == 0 || !(p[1] == '\0' || g_ascii_strcasecmp (p + 1, "iB") == 0 ||
                      g_ascii_strcasecmp (p + 1, "B") == 0))
    {
      *ret_message = g_strdup_printf ("'%s' has an unknown unit '%s'; use K, M, G or T", text, p);
      return FALSE;
    }
  if (whole > (G_MAXUINT64 >> shift))
    goto too_big;
  bytes = (whole << shift) + ((frac << shift) / frac_div);
  *ret_bytes = bytes;
  return TRUE;

too_big:
  *ret_message = g_strdup_printf ("'%s' is too large", text);
  return FALSE;
}

gboolean
ql_value_parse_uint (const char *text, guint64 min, guint64 max, guint64 *ret_value,
                     char **ret_message)
{
  g_autoptr(GError) error = NULL;
  guint64 value;
  guint base = 10;
  const char *digits = text;

  if (g_str_has_prefix (text, "0x") || g_str_has_prefix (text, "0X"))
    {
      base = 16;
      digits = text + 2;
    }
  if (*digits == '\0' || *digits == '-' || *digits == '+' ||
      !g_ascii_string_to_unsigned (digits, base, 0, G_MAXUINT64, &value, &error))
    {
      *ret_message = g_strdup_printf ("'%s' is not a whole number", text);
      return FALSE;
    }
  if (value < min || value > max)
    {
      *ret_message = g_strdup_printf ("%s is out of range (%" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT ")",
                                      text, min, max);
      return FALSE;
    }
  *ret_value = value;
  return TRUE;
}

static gboolean
parse_cpu (const char *text, guint *ret)
{
  guint64 v;

  if (!g_ascii_isdigit (text[0]) || !g_ascii_string_to_unsigned (text, 10, 0, QL_VALUE_CPU_MAX, &v, NULL))
    return FALSE;
  *ret = (guint) v;
  return TRUE;
}

gboolean
ql_value_parse_cpu_list (const char *text, GArray **ret_cpus, char **ret_message)
{
  g_auto(GStrv) items = g_strsplit (text, ",", -1);
  g_autoptr(GArray) cpus = g_array_new (FALSE, FALSE, sizeof (guint));

  for (guint i = 0; items[i] != NULL; i++)
    {
      g_auto(GStrv) range = g_strsplit (g_strstrip (items[i]), "-", 3);
      guint first, last;

      if (g_strv_length (range) == 0 || g_strv_length (range) > 2 || !parse_cpu (g_strstrip (range[0]), &first) ||
          !parse_cpu (range[1] ? g_strstrip (range[1]) : range[0], &last) || last < first)
        {
          *ret_message = g_strdup_printf ("'%s' is not a list of host CPUs; write numbers and ranges "
                                          "as in /sys/devices/system/cpu/online, e.g. 2-5 or 2,3,6,7",
                                          text);
          return FALSE;
        }
      for (guint cpu = first; cpu <= last; cpu++)
        g_array_append_val (cpus, cpu);
    }
  if (cpus->len == 0)
    {
      *ret_message = g_strdup ("'' is not a list of host CPUs; write numbers and ranges as in "
                               "/sys/devices/system/cpu/online, e.g. 2-5 or 2,3,6,7");
      return FALSE;
    }
  *ret_cpus = g_steal_pointer (&cpus);
  return TRUE;
}

char *
ql_value_format_cpu_list (const GArray *cpus)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < cpus->len; i++)
    g_string_append_printf (out, i ? ",%u" : "%u", g_array_index (cpus, guint, i));
  return g_string_free (out, FALSE);
}

static int
compare_guint (gconstpointer a, gconstpointer b)
{
  guint x = *(const guint *) a, y = *(const guint *) b;
  return x < y ? -1 : x > y;
}

char *
ql_value_format_cpu_set (const GArray *cpus)
{
  g_autoptr(GArray) sorted = g_array_copy ((GArray *) cpus);
  GString *out = g_string_new (NULL);

  g_array_sort (sorted, compare_guint);
  for (guint i = 0; i < sorted->len;)
    {
      guint first = g_array_index (sorted, guint, i), last = first;

      while (++i < sorted->len && g_array_index (sorted, guint, i) <= last + 1)
        last = g_array_index (sorted, guint, i);
      g_string_append_printf (out, out->len ? ",%u" : "%u", first);
      if (last != first)
        g_string_append_printf (out, "-%u", last);
    }
  return g_string_free (out, FALSE);
}

char *
ql_value_format_size (guint64 bytes)
{
  static const char *const names[] = { "bytes", "KiB", "MiB", "GiB", "TiB" };
  guint i = 0;
  double v = bytes;

  while (v >= 1024 && i + 1 < G_N_ELEMENTS (names))
    {
      v /= 1024;
      i++;
    }
  if (i == 0)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " bytes", bytes);
  if (v == (guint64) v)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " %s", (guint64) v, names[i]);
  return g_strdup_printf ("%.1f %s", v, names[i]);
}

guint
ql_value_edit_distance (const char *a, const char *b)
{
  gsize la = strlen (a), lb = strlen (b);
  g_autofree guint *row = g_new (guint, lb + 1);

  for (gsize j = 0; j <= lb; j++)
    row[j] = j;
  for (gsize i = 1; i <= la; i++)
    {
      guint diag = row[0];
      row[0] = i;
      for (gsize j = 1; j <= lb; j++)
        {
          guint up = row[j];
          guint cost = g_ascii_tolower (a[i - 1]) == g_ascii_tolower (b[j - 1]) ? 0 : 1;
          row[j] = MIN (MIN (row[j] + 1, row[j - 1] + 1), diag + cost);
          diag = up;
        }
    }
  return row[lb];
}

static gboolean
parse_port (const char *text, guint *ret_port, char **ret_message)
{
  guint64 port;

  if (!g_ascii_string_to_unsigned (text, 10, 0, 65535, &port, NULL))
    {
      *ret_message = g_strdup_printf ("'%s' is not a port (0-65535)", text);
      return FALSE;
    }
  *ret_port = (guint) port;
  return TRUE;
}

gboolean
ql_value_parse_listen (const char *text, char **ret_host, guint *ret_port, char **ret_message)
{
  const char *colon = strrchr (text, ':');
  const char *close = text[0] == '[' ? strchr (text, ']') : NULL;
  g_autofree char *host = NULL;
  guint port = 0;

  if (text[0] == '[' && (close == NULL || (close[1] != '\0' && close[1] != ':')))
    {
      *ret_message = g_strdup_printf ("'%s' is not [IPV6] or [IPV6]:PORT", text);
      return FALSE;
    }
  if (close != NULL)
    {
      host = g_strndup (text + 1, close - text - 1);
      if (close[1] == ':' && !parse_port (close + 2, &port, ret_message))
        return FALSE;
    }
  else if (colon != NULL && strchr (text, ':') != colon)
    host = g_strdup (text);     /* a bare IPv6 address */
  else if (colon != NULL)
    {
      host = g_strndup (text, colon - text);
      if (!parse_port (colon + 1, &port, ret_message))
        return FALSE;
    }
  else if (g_ascii_isdigit (text[0]) && strspn (text, "0123456789") == strlen (text))
    {
      if (!parse_port (text, &port, ret_message))
        return FALSE;
    }
  else
    host = g_strdup (text);
  *ret_host = host != NULL && host[0] != '\0' ? g_steal_pointer (&host) : NULL;
  *ret_port = port;
  return TRUE;
}

gboolean
ql_value_host_is_loopback (const char *host)
{
  return host != NULL && (g_str_has_prefix (host, "127.") || g_ascii_strcasecmp (host, "localhost") == 0 ||
                          strcmp (host, "::1") == 0);
}

static const char *const unit_types[] = {
  "service", "socket", "target", "device", "mount", "automount", "swap", "timer", "path", "slice", "scope", NULL
};

static gboolean
unit_name_chars_are_valid (const char *name)
{
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr (":-_.\\@", *p) == NULL)
      return FALSE;
  return TRUE;
}

gboolean
ql_value_unit_name_is_valid (const char *name, char **ret_message)
{
  const char *dot = strrchr (name, '.');
  const char *at = strchr (name, '@');

  /* systemd's UNIT_NAME_MAX is 256 with the NUL */
  if (strlen (name) > 255 || !unit_name_chars_are_valid (name))
    {
      *ret_message = g_strdup_printf ("'%s' is not a unit name (at most 255 letters, digits and ':-_.\\@')", name);
      return FALSE;
    }
  if (dot == NULL || dot == name || g_strv_contains (unit_types, dot + 1) == FALSE)
    {
      *ret_message = g_strdup_printf ("'%s' is not a unit name: it needs a prefix and a type, like "
                                      "network-online.target or nfs.mount", name);
      return FALSE;
    }
  if (at != NULL && (at == name || at + 1 == dot || strchr (at + 1, '@') != NULL))
    {
      *ret_message = g_strdup_printf ("'%s' is not a unit name a dependency can name: a template "
                                      "needs one instance, like getty@tty1.service", name);
      return FALSE;
    }
  return TRUE;
}

#define MODULE_NAME_MAX 55

gboolean
ql_value_module_name_is_valid (const char *name, char **ret_message)
{
  gsize len = strlen (name);
  gboolean chars_ok = TRUE;

  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '-')
      chars_ok = FALSE;
  if (len == 0 || len > MODULE_NAME_MAX || !chars_ok)
    {
      *ret_message = g_strdup_printf ("'%s' is not a kernel module name (1-%d letters, digits, '_' and '-', "
                                      "like nvidia_drm)", name, MODULE_NAME_MAX);
      return FALSE;
    }
  return TRUE;
}

#define USER_NAME_MAX 32           /* useradd's default limit (LOGIN_NAME_MAX is larger) */

gboolean
ql_value_user_name_is_valid (const char *name, char **ret_message)
{
  gsize len = strlen (name);
  gboolean ok = len > 0 && len <= USER_NAME_MAX && (g_ascii_islower (name[0]) || name[0] == '_');

  for (gsize i = 1; ok && i < len; i++)
    ok = g_ascii_islower (name[i]) || g_ascii_isdigit (name[i]) || name[i] == '_' || name[i] == '-' ||
         (name[i] == '$' && i == len - 1);
  if (!ok)
    *ret_message = g_strdup_printf ("'%s' is not a user name (1-%d lower-case letters, digits, '_' and '-', "
                                    "starting with a letter or '_', like qemu)", name, USER_NAME_MAX);
  return ok;
}

gboolean
ql_value_machine_type_is_valid (const char *name)
{
  return g_regex_match_simple ("^pc-q35-[0-9]{1,4}\\.[0-9]{1,2}(\\.[0-9]{1,2})?$", name, 0, 0);
}
