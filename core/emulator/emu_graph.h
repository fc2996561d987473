/*
 * emu_graph.h — the Graph calls REST surface (emu_graph.c). Calls emu_util, emu_http,
 * emu_timeline, emu_registry, emu_notify, emu_media, emu_calls.
 */
#ifndef DT_EMU_GRAPH_H
#define DT_EMU_GRAPH_H
#include "emu_model.h"

/* Handles a Graph request; base is "/v1.0", "/beta" or ""; collection
   "/communications/calls" or "/app/calls"; rest the path after it ("" or "/{id}..."). */
void dt__emu_graph(dt_emulator_t *emu, dt_http_request_t *req, const char *base,
                   const char *collection, const char *rest);

#endif
