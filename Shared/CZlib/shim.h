#ifndef DTP_CZLIB_SHIM_H
#define DTP_CZLIB_SHIM_H
#include <zlib.h>
#endif
