#pragma once

#include <gio/gio.h>

/* A private D-Bus daemon of the test's own with python-dbusmock's
 * templates on it ("systemd", "logind"), standing in for the system bus:
 * DBUS_SYSTEM_BUS_ADDRESS points at it, in this process and in the
 * qlaunch it starts. */
typedef struct {
  GSubprocess *daemon;
  char *address;
  GPtrArray *mocks;          /* GSubprocess*: one python3 -m dbusmock per template */
  GDBusConnection *bus;      /* the test's own connection */
} MockBus;

/* NULL with *ret_skip saying what is missing (dbus-daemon, python3-dbusmock). */
MockBus *mock_bus_start (char **ret_skip);
/* Starts a template and waits until it owns its bus name. */
void mock_bus_add_template (MockBus *mock, const char *template, const char *bus_name);
void mock_bus_stop (MockBus *mock);

/* A call on the bus, asserted to succeed: the reply (or NULL for "()"). */
GVariant *mock_call (MockBus *mock, const char *name, const char *path, const char *interface, const char *method,
                     GVariant *args);
/* org.freedesktop.DBus.Mock.METHOD on path of name. */
GVariant *mock_control (MockBus *mock, const char *name, const char *path, const char *method, GVariant *args);

/* systemd's mock: a unit with its AllowedCPUs (a slice or a scope), and a
 * SetUnitProperties that stores AllowedCPUs. */
void mock_systemd_add_cpu_unit (MockBus *mock, const char *unit, const guint8 *mask, gsize len);
/* The unit's AllowedCPUs as a hex string of its bytes ("01", "" for none). */
char *mock_systemd_allowed_cpus (MockBus *mock, const char *unit);
/* How many times method was called on the systemd mock's manager. */
guint mock_systemd_calls (MockBus *mock, const char *method);

/* A unit (AddMockUnit) with its ActiveState, and the manager's StopUnit
 * and StartUnit replaced by ones that are logged (GetMethodCalls), set
 * ActiveState and send JobRemoved; StopUnit of fail_stop (may be NULL)
 * ends with "failed" and leaves the unit as it was.  Each unit's
 * QemuRanAtStop says whether a QEMU with "guest=VM" in its command line
 * ran when it was stopped. */
void mock_systemd_add_unit (MockBus *mock, const char *unit, const char *active_state);
void mock_systemd_replace_jobs (MockBus *mock, const char *vm, const char *fail_stop);
char *mock_systemd_active_state (MockBus *mock, const char *unit);
gboolean mock_systemd_qemu_ran_at_stop (MockBus *mock, const char *unit);
/* The first argument of each call of method, comma-separated ("" for none). */
char *mock_systemd_call_units (MockBus *mock, const char *method);
void mock_systemd_clear_calls (MockBus *mock);

/* logind's current inhibitors: "WHAT WHO MODE: WHY; …" ("" for none). */
char *mock_logind_inhibitors (MockBus *mock);
void mock_logind_prepare_for_sleep (MockBus *mock, gboolean before);

#define SKIP_WITHOUT_MOCK_BUS(mock) \
  G_STMT_START { g_autofree char *skip_ = NULL; (mock) = mock_bus_start (&skip_); \
    if ((mock) == NULL) { g_test_skip (skip_); return; } } G_STMT_END
