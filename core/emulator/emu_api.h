/*
 * emu_api.h — the JSON views of the typed control API (emu_api.c; its public functions are
 * in include/dialtone/emulator.h "control API in C"), as the HTTP control routes render
 * them. Calls emu_util, emu_sched, emu_timeline, emu_script, emu_registry, emu_media,
 * emu_calls.
 */
#ifndef DT_EMU_API_H
#define DT_EMU_API_H
#include "emu_model.h"

cJSON *dt__emu_call_summary(const emu_call_t *c);
cJSON *dt__emu_call_detail(const emu_call_t *c);
cJSON *dt__emu_faults_json(const emu_faults_t *f);
/* The faults a POST /faults body names (what it does not name is off); an unknown name or a
   value out of its range: DT_EINVAL, a message in err, *out untouched. */
int dt__emu_faults_from_json(const cJSON *body, dt_emulator_faults_t *out, char *err, size_t errlen);
/* Applies the settings a POST /emulator/config body names to *c (bot_url is not one of
   them); a wrong type or a value out of range: DT_EINVAL, a message in err, *c untouched. */
int dt__emu_config_from_json(const cJSON *body, dt_emulator_config_t *c, char *err, size_t errlen);
cJSON *dt__emu_stats_json(const dt_emulator_t *emu);
cJSON *dt__emu_party_json(const char *key, const emu_party_t *p);

#endif
