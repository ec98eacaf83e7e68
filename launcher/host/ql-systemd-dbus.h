#pragma once

#include <gio/gio.h>

/* The few calls qlaunch makes to systemd (org.freedesktop.systemd1) and
 * logind (org.freedesktop.login1) on the system bus.  The bus is the one
 * GIO finds: DBUS_SYSTEM_BUS_ADDRESS when set (the tests point it at a
 * private bus with python-dbusmock's templates), else the system bus.
 * Every call has a timeout, and every failure is a GError that names the
 * call and the unit, with the fix when it is known (run as root, no
 * systemd as PID 1, no logind). */

#define QL_DBUS_TIMEOUT_MS 10000

/* A connection of its own to the system bus, made within timeout_ms. */
GDBusConnection *ql_system_bus_open (guint timeout_ms, GError **error);

/* systemd's CPU masks (AllowedCPUs=, "ay"): bit j of byte i is CPU 8i+j. */
GVariant *ql_systemd_cpus_to_mask (const GArray *cpus);
GArray *ql_systemd_mask_to_cpus (GVariant *mask);

/* The unit's AllowedCPUs (guint CPUs; empty: not set, all CPUs) through its
 * org.freedesktop.systemd1.Slice/Scope/Service interface. */
gboolean ql_systemd_get_allowed_cpus (const char *unit, GArray **ret_cpus, GError **error);

/* SetUnitProperties (unit, runtime=true, AllowedCPUs=cpus); an empty cpus
 * means all CPUs again (systemd resets the property).  Idempotent. */
gboolean ql_systemd_set_allowed_cpus (const char *unit, const GArray *cpus, GError **error);

/* The unit's ActiveState ("active", "inactive", "failed", ...) through
 * GetUnit and org.freedesktop.systemd1.Unit; a unit systemd has not loaded
 * (NoSuchUnit) is "inactive", as systemctl shows it. */
gboolean ql_systemd_get_active_state (const char *unit, char **ret_state, GError **error);

/* StopUnit/StartUnit (name, "replace"), then waits up to timeout_ms for
 * the JobRemoved signal of that job: a result other than "done" is an
 * error that names it (QL_ERROR_TIMEOUT when none comes in time). */
gboolean ql_systemd_stop_unit (const char *name, guint timeout_ms, GError **error);
gboolean ql_systemd_start_unit (const char *name, guint timeout_ms, GError **error);

/* logind's Inhibit (what, who, why, mode) on bus: the lock's fd (the
 * caller's; the lock goes when it is closed), or -1. */
int ql_logind_inhibit (GDBusConnection *bus, const char *what, const char *who, const char *why,
                       const char *mode, GError **error);

/* Calls func (before, data) for logind's PrepareForSleep (before: TRUE as
 * the host goes to sleep, FALSE once it woke) in the thread-default main
 * context; destroy (data) once unsubscribed (g_dbus_connection_signal_unsubscribe
 * with the id it returns), after which func is not called. */
guint ql_logind_watch_sleep (GDBusConnection *bus, void (*func) (gboolean before, gpointer data), gpointer data,
                             GDestroyNotify destroy);
