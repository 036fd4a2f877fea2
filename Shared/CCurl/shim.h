#ifndef DTP_CCURL_SHIM_H
#define DTP_CCURL_SHIM_H
#include <curl/curl.h>
#endif
