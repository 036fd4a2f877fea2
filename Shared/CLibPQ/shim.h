#ifndef DTP_CLIBPQ_SHIM_H
#define DTP_CLIBPQ_SHIM_H
#include <libpq-fe.h>
#endif
