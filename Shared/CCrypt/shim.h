#ifndef DTP_CCRYPT_SHIM_H
#define DTP_CCRYPT_SHIM_H
#include <crypt.h>
#endif
