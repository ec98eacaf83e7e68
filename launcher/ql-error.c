#include "ql-error.h"

G_DEFINE_QUARK (ql-error-quark, ql_error)
