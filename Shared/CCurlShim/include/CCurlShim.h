#ifndef DTP_CCURLSHIM_H
#define DTP_CCURLSHIM_H
#include <curl/curl.h>

// curl_easy_setopt and curl_easy_getinfo are variadic, which Swift cannot call.
// These typed entry points forward to them, one per argument type curl takes.
CURLcode dtp_curl_easy_setopt_long(CURL *handle, CURLoption option, long value);
CURLcode dtp_curl_easy_setopt_off_t(CURL *handle, CURLoption option, curl_off_t value);
CURLcode dtp_curl_easy_setopt_string(CURL *handle, CURLoption option, const char *value);
CURLcode dtp_curl_easy_setopt_pointer(CURL *handle, CURLoption option, void *value);
CURLcode dtp_curl_easy_setopt_slist(CURL *handle, CURLoption option, struct curl_slist *value);
CURLcode dtp_curl_easy_setopt_write_callback(CURL *handle, size_t (*callback)(char *, size_t, size_t, void *));
CURLcode dtp_curl_easy_setopt_read_callback(CURL *handle, size_t (*callback)(char *, size_t, size_t, void *));
CURLcode dtp_curl_easy_setopt_header_callback(CURL *handle, size_t (*callback)(char *, size_t, size_t, void *));
CURLcode dtp_curl_easy_setopt_xferinfo_callback(CURL *handle, int (*callback)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t));
// Called once the connection is established (or reused), just before the request is sent: lets callers
// tell a connect timeout from a timeout later in the transfer, which both report CURLE_OPERATION_TIMEDOUT.
CURLcode dtp_curl_easy_setopt_prereq_callback(
    CURL *handle, int (*callback)(void *, char *, char *, int, int));
CURLcode dtp_curl_easy_getinfo_long(CURL *handle, CURLINFO info, long *value);
CURLcode dtp_curl_easy_getinfo_double(CURL *handle, CURLINFO info, double *value);
CURLcode dtp_curl_easy_getinfo_pointer(CURL *handle, CURLINFO info, void **value);
CURLMcode dtp_curl_multi_setopt_long(CURLM *handle, CURLMoption option, long value);

#endif
