#ifndef DTP_CMOSQUITTO_SHIM_H
#define DTP_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#endif
