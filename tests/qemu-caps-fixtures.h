#pragma once

#include "ql-qemu-caps.h"

/* The caps of Debian 12's QEMU 7.2 (version 702) and of 10.0 from
 * bookworm-backports (1000), as their probes report the parts qlaunch asks
 * about, for pure tests that must not run QEMU. */
QlQemuCaps *qemu_caps_fixture (guint version);
