/*
 * emu_control.h — the control API over HTTP (emu_control.c; dt_emulator_control is its
 * in-process door, in include/dialtone/emulator.h). Calls emu_util, emu_http,
 * emu_timeline, emu_registry, emu_api.
 */
#ifndef DT_EMU_CONTROL_H
#define DT_EMU_CONTROL_H
#include "emu_model.h"

/* Answers a request under {E}/emulator; path is the part after "/emulator". */
void dt__emu_control(dt_emulator_t *emu, dt_http_request_t *req, const char *path);

#endif
