/*
 * emu_media.h — service-hosted media as Graph runs it (emu_media.c): operations' JSON and
 * completion, the per-call media queue (playPrompt, recordResponse), prompt durations,
 * recordings, what the caller's keys and voice do to them, sendDtmfTones. Calls emu_util,
 * emu_sched, emu_timeline, emu_script, emu_registry, emu_notify.
 */
#ifndef DT_EMU_MEDIA_H
#define DT_EMU_MEDIA_H
#include "emu_model.h"

/* ------------------------------------------------------------------ operations */
cJSON *dt__emu_op_json(emu_call_t *c, const emu_op_t *op, bool for_notification);
/* Sets the outcome, records it and notifies the bot (not once the call has ended). */
void dt__emu_op_finish(emu_call_t *c, emu_op_t *op, int status, int code, int subcode,
                       const char *msg, const char *reason);

/* ------------------------------------------------------------------ the media queue */
void dt__emu_media_enqueue(emu_call_t *c, emu_op_t *op);
/* Empties the queue; notify: each operation fails with 400/8508 (cancelMediaProcessing). */
void dt__emu_media_cancel_all(emu_call_t *c, bool notify);
/* The call ended: queued and running operations go without a notification. */
void dt__emu_media_abandon(emu_call_t *c);
void dt__emu_dtmf_start(emu_call_t *c, emu_op_t *op);

/* ------------------------------------------------------------------ prompts, recordings */
/* Learns url's duration (a fetch of its WAV's first 64 KiB when it is on this machine). */
void dt__emu_prefetch(dt_emulator_t *emu, const char *url);
void dt__emu_prompt_cache_free(void *p);
void dt__emu_prompt_cache_forget_known(dt_emulator_t *emu);
const emu_recording_t *dt__emu_recording_find(dt_emulator_t *emu, const char *id);
void dt__emu_recording_free(void *p);

/* ------------------------------------------------------------------ the caller */
/* The simulated party presses a key / speaks for ms, at simulated time at (0 = now). */
void dt__emu_caller_tone(emu_call_t *c, char tone, uint64_t at);
void dt__emu_caller_speak(emu_call_t *c, int64_t ms, uint64_t at);

#endif
