#pragma once

#include <glib.h>

typedef struct {
  const char *name;
  int (*handler) (int argc, char **argv);
  const char *summary;
} QlVerb;

/* qlaunch's own options (-v, --help, --version), then the verb: its
 * handler gets argv from the verb on, argv[0] reading "qlaunch VERB". */
int ql_verbs_dispatch (const QlVerb *verbs, guint n_verbs, int argc, char **argv);

/* import and export run in qlaunch-xml: libxml2, with ICU and libstdc++
 * behind it, doubles the dynamic loader's work, and every other command
 * (start, kill above all) would pay for it. */
int ql_verbs_exec_xml_import (int argc, char **argv);
int ql_verbs_exec_xml_export (int argc, char **argv);

/* console runs in qlaunch-console: readline and its terminfo library are
 * for the one interactive command, and would cost every other one their
 * loading (about 28 page faults of a start or a kill of 280). */
int ql_verbs_exec_console (int argc, char **argv);

/* In a helper, before its dispatch: the qlaunch binary that exec'd it
 * (QLAUNCH_BINARY, which exec_helper sets; else the installed one) is the
 * one a supervisor's process is checked against. */
void ql_verbs_take_qlaunch_binary (void);
