/*
 * demo.c — `dialtone demo` (src/demo.h) and the transcript printer it shares
 * with `dialtone console`.
 *
 * Owns: the scripted calls that walk flows/main.lua (a voicemail; a wrong key, silence
 * and an order number read back; a plumber who is busy; a plumber who answers), the
 * transcript of each call, the check that each call went as scripted, and the summary.
 * Promises: everything runs in this process on one loop (localrun.h): the engine runs the
 * real flow against the embedded emulator over loopback HTTP; callers are emulator caller
 * scripts (docs/emulator.md), so nothing here presses keys on a timer of its own. Lines are
 * printed as the emulator's timeline reports them, stamped with simulated time, so the
 * transcript reads like a real call whatever the time scale. Whether a call went as
 * scripted is decided from the engine's call record (CDR: outcome, error, recordings,
 * transfers) and the prompts the emulator played — never from the transcript text.
 * No ANSI colours unless the output is a terminal (and NO_COLOR is unset).
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>
#include "args.h"
#include "dialtone/common.h"
#include "demo.h"
#include "dialtone/error.h"
#include "dialtone/graph.h"
#include "dialtone/localrun.h"
#include "dialtone/log.h"

/* ================================================================== transcript printer */

#define TR_CACHE 64
#define TR_WRAP 78       /* columns for prompt text */
#define TR_INDENT 10     /* "  0:04.5  " */

struct dt_transcript_s {
  FILE *out;
  char *prompts_dir;
  bool color, you;
  struct {
    char *name, *text;   /* text NULL: no NAME.txt */
  } cache[TR_CACHE];
  size_t ncache;
  char keys[96];         /* keys pressed in a row, printed as one line */
  size_t nkeys;
  long long keys_t;
  char transfer_target[128];
  bool answered;         /* "IVR answers" once per call (a failed transfer re-establishes) */
  dt_buf_t played;       /* prompts of this call with their text shown: " name name " */
  dt_transcript_stats_t stats;
};

dt_transcript_t *dt_transcript_new(FILE *out, const char *prompts_dir, bool color, bool second_person) {
  dt_transcript_t *t = dt_xcalloc(1, sizeof *t);
  t->out = out;
  t->prompts_dir = prompts_dir ? dt_xstrdup(prompts_dir) : NULL;
  t->color = color;
  t->you = second_person;
  return t;
}

void dt_transcript_free(dt_transcript_t *t) {
  if (t == NULL) return;
  for (size_t i = 0; i < t->ncache; i++) {
    free(t->cache[i].name);
    free(t->cache[i].text);
  }
  free(t->prompts_dir);
  dt_buf_free(&t->played);
  free(t);
}

const dt_transcript_stats_t *dt_transcript_stats(const dt_transcript_t *t) { return &t->stats; }

const char *dt_transcript_style(const dt_transcript_t *t, const char *style) {
  if (!t->color || style == NULL) return "";
  static const struct { const char *name, *esc; } styles[] = {
      {"dim", "\033[2m"},     {"bold", "\033[1m"},      {"caller", "\033[36m"}, {"ivr", "\033[1m"},
      {"ok", "\033[32m"},     {"bad", "\033[1;31m"},    {"warn", "\033[33m"},   {"title", "\033[1;4m"},
      {"text", "\033[3m"}};
  for (size_t i = 0; i < DT_ARRAY_SIZE(styles); i++)
    if (strcmp(styles[i].name, style) == 0) return styles[i].esc;
  return "";
}

const char *dt_transcript_reset(const dt_transcript_t *t) { return t->color ? "\033[0m" : ""; }

void dt_transcript_time(long long t_ms, char out[24]) {
  if (t_ms < 0) t_ms = 0;
  long long tenths = (t_ms + 50) / 100;
  snprintf(out, 24, "%lld:%02lld.%lld", tenths / 600, (tenths / 10) % 60, tenths % 10);
}

/* Only prompt names made of safe characters become file names. */
static bool safe_name(const char *n) {
  if (n == NULL || n[0] == '\0' || strlen(n) > 100 || n[0] == '.') return false;
  for (const char *p = n; *p; p++)
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
          *p == '-' || *p == '.'))
      return false;
  return true;
}

const char *dt_transcript_prompt_text(dt_transcript_t *t, const char *name) {
  if (!safe_name(name)) return NULL;
  for (size_t i = 0; i < t->ncache; i++)
    if (strcmp(t->cache[i].name, name) == 0) return t->cache[i].text;
  char *text = NULL;
  if (t->prompts_dir) {
    char *path = dt_xasprintf("%s/%s.txt", t->prompts_dir, name);
    char *raw = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
      raw = dt_xmalloc(1025);
      len = fread(raw, 1, 1024, f);
      raw[len] = '\0';
      fclose(f);
    }
    free(path);
    if (raw) {
      /* fold whitespace (line breaks included) into single spaces */
      text = dt_xmalloc(len + 1);
      size_t k = 0;
      bool space = false;
      for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c == '\0') break;
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
          space = k > 0;
          continue;
        }
        if (c < 0x20) continue;
        if (space) text[k++] = ' ';
        space = false;
        text[k++] = (char)c;
      }
      text[k] = '\0';
      free(raw);
      if (k == 0) {
        free(text);
        text = NULL;
      }
    }
  }
  if (t->ncache < TR_CACHE) {
    t->cache[t->ncache].name = dt_xstrdup(name);
    t->cache[t->ncache].text = text;
    t->ncache++;
    return text;
  }
  /* cache full (a flow with very many prompts): the oldest goes */
  free(t->cache[0].name);
  free(t->cache[0].text);
  memmove(&t->cache[0], &t->cache[1], (TR_CACHE - 1) * sizeof t->cache[0]);
  t->cache[TR_CACHE - 1].name = dt_xstrdup(name);
  t->cache[TR_CACHE - 1].text = text;
  return text;
}

static void vline(dt_transcript_t *t, long long t_ms, const char *style, const char *fmt, va_list ap) {
  char tm[24] = "";
  if (t_ms >= 0) {
    dt_transcript_time(t_ms, tm);
    fprintf(t->out, "%s%8s%s  ", dt_transcript_style(t, "dim"), tm, dt_transcript_reset(t));
  } else {
    fprintf(t->out, "%8s  ", "");
  }
  fputs(dt_transcript_style(t, style), t->out);
  vfprintf(t->out, fmt, ap);
  fputs(dt_transcript_reset(t), t->out);
  fputc('\n', t->out);
  fflush(t->out);
}

void dt_transcript_note(dt_transcript_t *t, long long t_ms, const char *style, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vline(t, t_ms, style, fmt, ap);
  va_end(ap);
}

#define LINE(t, ms, style, ...) dt_transcript_note((t), (ms), (style), __VA_ARGS__)

void dt_transcript_flush(dt_transcript_t *t) {
  if (t->nkeys == 0) return;
  char spaced[200];
  size_t k = 0;
  for (size_t i = 0; i < t->nkeys && k + 3 < sizeof spaced; i++) {
    if (i) spaced[k++] = ' ';
    spaced[k++] = t->keys[i];
  }
  spaced[k] = '\0';
  LINE(t, t->keys_t, "caller", "%s %s", t->you ? "you press" : "caller presses", spaced);
  t->nkeys = 0;
}

/* Prints text word-wrapped at TR_WRAP columns, every line indented (quoted: in quotes). */
static void wrap_text(dt_transcript_t *t, int indent, const char *text, bool quoted, const char *style) {
  FILE *o = t->out;
  size_t col = 0;
  const char *p = text;
  bool first = true;
  while (*p) {
    size_t wl = strcspn(p, " ");
    if (col == 0) {
      fprintf(o, "%*s%s%s", indent, "", dt_transcript_style(t, style), quoted ? (first ? "\"" : " ") : "");
      col = (size_t)indent + (quoted ? 1 : 0);
      first = false;
    } else if (col + 1 + wl > TR_WRAP) {
      fprintf(o, "%s\n", dt_transcript_reset(t));
      col = 0;
      continue;
    } else {
      fputc(' ', o);
      col++;
    }
    fwrite(p, 1, wl, o);
    col += wl;
    p += wl;
    while (*p == ' ') p++;
  }
  fprintf(o, "%s%s\n", quoted ? "\"" : "", dt_transcript_reset(t));
}

/* The prompt line: name, then its transcript text (wrapped under it when long). */
static void prompt_line(dt_transcript_t *t, long long t_ms, const char *name, bool record) {
  const char *text = dt_transcript_prompt_text(t, name);
  /* a prompt heard before in this call is not spelt out again */
  char key[120];
  snprintf(key, sizeof key, " %s ", name);
  bool again = t->played.data && strstr(t->played.data, key) != NULL;
  if (!again) {
    if (t->played.len == 0) dt_buf_append(&t->played, " ", 1);
    dt_buf_appendf(&t->played, "%s ", name);
  }
  if (again && text) {
    LINE(t, t_ms, NULL, "%splays %s%s again%s", dt_transcript_style(t, "ivr"), name, dt_transcript_reset(t),
         record ? " (then records)" : "");
    return;
  }
  char tm[24];
  dt_transcript_time(t_ms, tm);
  FILE *o = t->out;
  fprintf(o, "%s%8s%s  %splays %s%s%s%s", dt_transcript_style(t, "dim"), tm, dt_transcript_reset(t),
          dt_transcript_style(t, "ivr"), name, dt_transcript_reset(t), record ? " (then records)" : "",
          text ? ":" : "");
  if (text == NULL) {
    fputc('\n', o);
    fflush(o);
    return;
  }
  size_t head = TR_INDENT + strlen("plays ") + strlen(name) + (record ? strlen(" (then records)") : 0) + 1;
  if (head + 3 + strlen(text) <= TR_WRAP) {
    fprintf(o, " %s\"%s\"%s\n", dt_transcript_style(t, "text"), text, dt_transcript_reset(t));
  } else {
    /* the text, quoted, wrapped under the line */
    fputc('\n', o);
    wrap_text(t, TR_INDENT + 2, text, true, "text");
  }
  fflush(o);
}

static const char *jstr(const cJSON *o, const char *k) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double jnum(const cJSON *o, const char *k, double def) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
  return cJSON_IsNumber(v) ? v->valuedouble : def;
}

/* "phone:+1555" -> "+1555"; "user:x" stays (the kind says who it is). */
static const char *who(const char *id) {
  if (id && strncmp(id, "phone:", 6) == 0) return id + 6;
  return id ? id : "?";
}

static const char *record_reason(const char *r) {
  if (r == NULL) return "";
  if (strcmp(r, "stopToneDetected") == 0) return "stopped by a key";
  if (strcmp(r, "maxSilenceTimeout") == 0) return "the caller stopped talking";
  if (strcmp(r, "maxRecordDurationReached") == 0) return "maximum length reached";
  if (strcmp(r, "initialSilenceTimeout") == 0) return "nothing was said";
  if (strcmp(r, "operationCanceled") == 0) return "cancelled";
  return r;
}

void dt_transcript_entry(dt_transcript_t *t, const cJSON *e) {
  const char *kind = jstr(e, "kind");
  if (kind == NULL) return;
  long long ms = (long long)jnum(e, "t_ms", 0);
  if (strcmp(kind, "tone") == 0) {
    const char *tone = jstr(e, "tone");
    if (tone == NULL || tone[0] == '\0') return;
    t->stats.keys++;
    if (t->nkeys == 0) t->keys_t = ms;
    if (t->nkeys < sizeof t->keys) t->keys[t->nkeys++] = tone[0];
    return;
  }
  /* entries that print nothing keep gathered keys gathered */
  static const char *const silent[] = {"request", "notification", "script_step", "operation_abandoned",
                                       "dtmf_sent", "muted", "unmuted", "screen_sharing_role"};
  for (size_t i = 0; i < DT_ARRAY_SIZE(silent); i++)
    if (strcmp(kind, silent[i]) == 0) return;
  if (strcmp(kind, "state") == 0) {
    const char *s = jstr(e, "state");
    if (s == NULL || strcmp(s, "established") != 0 || t->answered) return;
    t->answered = true;
    dt_transcript_flush(t);
    LINE(t, ms, "ivr", "IVR answers");
    return;
  }
  if (strcmp(kind, "operation") == 0) {
    /* only a prompt stopped by a key (barge-in) is worth a line */
    const char *type = jstr(e, "type"), *status = jstr(e, "status"), *reason = jstr(e, "reason");
    if (type && strcmp(type, "playPromptOperation") == 0 && status && strcmp(status, "failed") == 0 && reason &&
        strcmp(reason, "mediaOperationCanceled") == 0) {
      dt_transcript_flush(t);
      LINE(t, ms, "dim", "(prompt cut short)");
    }
    return;
  }
  dt_transcript_flush(t);
  if (strcmp(kind, "incoming") == 0 || strcmp(kind, "outgoing") == 0) {
    /* a new call: what was heard and said belongs to the previous one */
    t->answered = false;
    dt_buf_reset(&t->played);
    t->transfer_target[0] = '\0';
  }
  if (strcmp(kind, "incoming") == 0) {
    LINE(t, ms, NULL, "incoming call from %s", who(jstr(e, "from")));
  } else if (strcmp(kind, "outgoing") == 0) {
    LINE(t, ms, NULL, "outgoing call");
  } else if (strcmp(kind, "prompt") == 0) {
    t->stats.prompts++;
    const char *name = jstr(e, "name");
    const cJSON *rec = cJSON_GetObjectItemCaseSensitive(e, "record");
    prompt_line(t, ms, name ? name : "?", cJSON_IsTrue(rec));
  } else if (strcmp(kind, "beep") == 0) {
    LINE(t, ms, "ivr", "beep");
  } else if (strcmp(kind, "recording_started") == 0) {
    LINE(t, ms, "ivr", "recording...");
  } else if (strcmp(kind, "speak") == 0) {
    LINE(t, ms, "caller", "%s for %.1f s", t->you ? "you speak" : "caller speaks", jnum(e, "ms", 0) / 1000.0);
  } else if (strcmp(kind, "barge_in") == 0) {
    LINE(t, ms, "dim", "(the caller interrupts the prompt)");
  } else if (strcmp(kind, "recording") == 0) {
    double d = jnum(e, "duration_ms", 0) / 1000.0;
    const char *url = jstr(e, "url");
    if (url && url[0]) {
      t->stats.recordings++;
      LINE(t, ms, "ivr", "recording finished: %.1f s of audio (%s)", d, record_reason(jstr(e, "reason")));
    } else {
      LINE(t, ms, "warn", "recording ended without audio (%s)", record_reason(jstr(e, "reason")));
    }
  } else if (strcmp(kind, "transfer") == 0) {
    const char *target = jstr(e, "target");
    snprintf(t->transfer_target, sizeof t->transfer_target, "%s", who(target));
    t->stats.transfers++;
    LINE(t, ms, "ivr", "transfers the call to %s", t->transfer_target);
  } else if (strcmp(kind, "transfer_result") == 0) {
    const char *outcome = jstr(e, "outcome"), *reason = jstr(e, "reason");
    const char *target = jstr(e, "target");
    if (outcome && strcmp(outcome, "completed") == 0) {
      t->stats.transfers_completed++;
      LINE(t, ms, "ok", "transfer completed: %s answered", target ? target : t->transfer_target);
    } else {
      t->stats.transfers_failed++;
      LINE(t, ms, "warn", "transfer failed: %s %s", target ? target : t->transfer_target,
           reason ? reason : "did not take the call");
    }
  } else if (strcmp(kind, "redirect") == 0) {
    LINE(t, ms, "ivr", "IVR redirects the call");
  } else if (strcmp(kind, "reject") == 0) {
    LINE(t, ms, "ivr", "IVR rejects the call");
  } else if (strcmp(kind, "hangup") == 0) {
    LINE(t, ms, "ivr", "IVR hangs up");
  } else if (strcmp(kind, "caller_hangup") == 0) {
    LINE(t, ms, "caller", "%s", t->you ? "you hang up" : "caller hangs up");
  } else if (strcmp(kind, "answer_timeout") == 0) {
    LINE(t, ms, "bad", "the IVR did not answer in time");
  } else if (strcmp(kind, "notification_failed") == 0) {
    LINE(t, ms, "bad", "(the engine refused a notification: %s, status %d)", jstr(e, "summary") ? jstr(e, "summary") : "?",
         (int)jnum(e, "status", 0));
  } else if (strcmp(kind, "ended") == 0) {
    const char *by = jstr(e, "by");
    const char *msg = jstr(e, "message");
    if (by && strcmp(by, "bot") == 0) LINE(t, ms, "bold", "call ended: the IVR hung up");
    else if (by && strcmp(by, "remote") == 0)
      LINE(t, ms, "bold", "call ended: %s hung up", t->you ? "you" : "the caller");
    else if (by && strcmp(by, "transfer") == 0)
      LINE(t, ms, "bold", "call ended: handed over to %s", t->transfer_target[0] ? t->transfer_target : "the transfer target");
    else if (by && strcmp(by, "reject") == 0) LINE(t, ms, "bold", "call ended: rejected by the IVR");
    else if (by && strcmp(by, "redirect") == 0) LINE(t, ms, "bold", "call ended: redirected by the IVR");
    else LINE(t, ms, "bold", "call ended (%s): %s", by ? by : "?", msg ? msg : "");
  }
}

double dt_wav_file_seconds(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) return -1;
  unsigned char h[4096];
  size_t n = fread(h, 1, sizeof h, f);
  struct stat st;
  long long fsize = fstat(fileno(f), &st) == 0 ? (long long)st.st_size : -1;
  fclose(f);
  if (n < 12 || memcmp(h, "RIFF", 4) != 0 || memcmp(h + 8, "WAVE", 4) != 0) return -2;
  uint32_t byte_rate = 0;
  size_t i = 12;
  while (i + 8 <= n) {
    uint32_t sz = (uint32_t)h[i + 4] | (uint32_t)h[i + 5] << 8 | (uint32_t)h[i + 6] << 16 | (uint32_t)h[i + 7] << 24;
    if (memcmp(h + i, "fmt ", 4) == 0 && i + 8 + 12 <= n) {
      const unsigned char *c = h + i + 8;
      byte_rate = (uint32_t)c[8] | (uint32_t)c[9] << 8 | (uint32_t)c[10] << 16 | (uint32_t)c[11] << 24;
    } else if (memcmp(h + i, "data", 4) == 0) {
      if (byte_rate == 0) return -3;
      long long avail = fsize >= 0 ? fsize - (long long)(i + 8) : (long long)sz;
      long long data = (long long)sz < avail ? (long long)sz : avail;
      return data < 0 ? -3 : (double)data / byte_rate;
    }
    if (sz > n) break;
    i += 8 + sz + (sz & 1);
  }
  return -3;
}

/* ================================================================== the scripted calls */

typedef struct {
  const char *title;
  const char *story;             /* what the caller does */
  const char *from;
  const char *dispatch;          /* behaviour of the plumber on duty; NULL = answers */
  const char *script;            /* emulator caller script (JSON) */
  const char *outcome;           /* the CDR outcome expected */
  const char *must_play;         /* prompts played, in this order (space-separated) */
  int recordings;                /* recordings stored */
  const char *transfer;          /* CDR transfer result expected, NULL = no transfer */
} scenario_t;

/* The id of the plumber on duty in flows/main.lua (DISPATCH). */
#define DEMO_DISPATCH "contoso-dispatch"

static const scenario_t scenarios[] = {
    {"A voicemail",
     "Presses 1 for the opening hours, leaves a message after the beep and presses # to finish.",
     "+15551230001", NULL,
     "[{\"on\":\"prompt\",\"match\":\"main_menu\",\"after_ms\":2500,\"tones\":\"1\"},"
     "{\"on\":\"record\",\"after_ms\":600,\"speak_s\":4},"
     "{\"after_ms\":4800,\"tones\":\"#\"}]",
     "completed", "welcome main_menu voicemail_intro voicemail_saved goodbye", 1, NULL},
    {"A wrong key, silence, then an order number",
     "Presses 9 (not an option), then says nothing, then presses 3 and types order number 427 and #; "
     "hangs up at the menu after the read-back.",
     "+15551230002", NULL,
     "[{\"on\":\"prompt\",\"match\":\"main_menu\",\"after_ms\":3000,\"tones\":\"9\"},"
     "{\"on\":\"prompt\",\"match\":\"noinput\",\"comment\":\"silence before this\"},"
     "{\"on\":\"prompt\",\"match\":\"main_menu\",\"after_ms\":2000,\"tones\":\"3\"},"
     "{\"on\":\"prompt\",\"match\":\"enter_digits\",\"after_ms\":3800,\"tones\":\"427#\",\"gap_ms\":450},"
     "{\"on\":\"prompt\",\"match\":\"main_menu\",\"after_ms\":1500,\"hangup\":true}]",
     "hangup", "welcome main_menu invalid main_menu noinput main_menu enter_digits you_entered digit_4 digit_2 "
               "digit_7 main_menu",
     0, NULL},
    {"A plumber, but all are busy",
     "Presses 2 for a plumber; the plumber on duty is busy, so the caller hangs up at the menu.",
     "+15551230003", "busy",
     "[{\"on\":\"prompt\",\"match\":\"main_menu\",\"after_ms\":4000,\"tones\":\"2\"},"
     "{\"on\":\"prompt\",\"match\":\"transfer_failed\"},"
     "{\"on\":\"prompt\",\"match\":\"main_menu\",\"after_ms\":1200,\"hangup\":true}]",
     "hangup", "welcome main_menu transferring transfer_failed main_menu", 0, "failed"},
    {"A plumber who answers",
     "Presses 2 for a plumber; the plumber on duty answers and takes the call.",
     "+15551230004", "answer",
     "[{\"on\":\"prompt\",\"match\":\"main_menu\",\"after_ms\":4000,\"tones\":\"2\"}]",
     "transferred", "welcome main_menu transferring", 0, "transferred"},
};

#define NSCEN DT_ARRAY_SIZE(scenarios)

typedef enum { PH_IDLE, PH_IN_CALL, PH_WAIT_CDR, PH_CLOSING } phase_t;

typedef struct {
  uv_loop_t loop;
  uv_timer_t timer;
  uv_signal_t sigint;
  dt_localrun_t *lr;
  dt_transcript_t *tr;
  FILE *out, *err;
  char *cdr_path, *workdir, *recordings_dir, *prompts_dir;
  double time_scale;
  size_t cur;
  phase_t phase;
  char call_id[128];
  uint64_t deadline;
  bool hung_up_by_us;
  dt_buf_t played;               /* prompt names of the current call, space-separated */
  unsigned ok_calls, failed_calls;
  unsigned recordings_saved;
  bool interrupted;
  bool closed;
} demo_t;

static void demo_next(demo_t *d);

static const char *S(demo_t *d, const char *style) { return dt_transcript_style(d->tr, style); }
static const char *R(demo_t *d) { return dt_transcript_reset(d->tr); }

static void on_entry(const cJSON *e, void *ud) {
  demo_t *d = ud;
  const char *call = jstr(e, "call");
  if (d->phase != PH_IN_CALL || call == NULL || strcmp(call, d->call_id) != 0) return;
  dt_transcript_entry(d->tr, e);
  const char *kind = jstr(e, "kind");
  if (kind && strcmp(kind, "prompt") == 0) {
    const char *name = jstr(e, "name");
    dt_buf_appendf(&d->played, "%s%s", d->played.len ? " " : "", name ? name : "?");
  }
  if (kind && strcmp(kind, "ended") == 0) {
    d->phase = PH_WAIT_CDR;
    d->deadline = dt_now_ms() + 15000;
  }
}

cJSON *dt_demo_find_cdr(const char *cdr_path, const char *call_id) {
  char *text = NULL;
  size_t len = 0;
  char want[160];
  if (call_id == NULL || strlen(call_id) >= sizeof want) return NULL;
  if (dt_read_file(cdr_path, 16u << 20, &text, &len) != 0) return NULL;
  dt_graph_id_key(call_id, want);
  cJSON *found = NULL;
  char *line = text;
  while (line && *line && !found) {
    char *nl = strchr(line, '\n');
    if (nl) *nl = '\0';
    cJSON *j = cJSON_Parse(line);
    const char *id = jstr(j, "call_id");
    char key[160];
    if (id && strlen(id) < sizeof key) {
      dt_graph_id_key(id, key);
      if (strcmp(key, want) == 0) found = j;
    }
    if (found != j) cJSON_Delete(j);
    line = nl ? nl + 1 : NULL;
  }
  free(text);
  return found;
}

/* Is `want` (space-separated names) a subsequence of `have`? Sets *missing to the first
   name not found in order. */
static bool played_in_order(const char *have, const char *want, char *missing, size_t mlen) {
  const char *h = have;
  const char *w = want;
  while (*w) {
    size_t wl = strcspn(w, " ");
    bool found = false;
    while (*h) {
      size_t hl = strcspn(h, " ");
      bool eq = hl == wl && strncmp(h, w, wl) == 0;
      h += hl;
      while (*h == ' ') h++;
      if (eq) {
        found = true;
        break;
      }
    }
    if (!found) {
      snprintf(missing, mlen, "%.*s", (int)wl, w);
      return false;
    }
    w += wl;
    while (*w == ' ') w++;
  }
  return true;
}

/* Prints the call's results and whether it went as scripted. */
static void finish_call(demo_t *d, cJSON *cdr, const char *problem) {
  const scenario_t *sc = &scenarios[d->cur];
  char reason[512] = "";
  if (problem) snprintf(reason, sizeof reason, "%s", problem);
  const char *outcome = jstr(cdr, "outcome");
  const char *error = jstr(cdr, "error");
  /* recordings: each stored file, with its length */
  const cJSON *recs = cJSON_GetObjectItemCaseSensitive(cdr, "recordings");
  int nrec = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, recs) {
    if (!cJSON_IsString(r)) continue;
    nrec++;
    double secs = dt_wav_file_seconds(r->valuestring);
    if (secs >= 0) {
      d->recordings_saved++;
      dt_transcript_note(d->tr, -1, "ok", "voicemail saved to %s (%.1f s WAV)", r->valuestring, secs);
    } else {
      dt_transcript_note(d->tr, -1, "bad", "recording %s is %s", r->valuestring,
                         secs == -1 ? "missing" : "not a WAV file");
      if (!reason[0]) snprintf(reason, sizeof reason, "the recording %s is %s", r->valuestring,
                               secs == -1 ? "missing" : "not a WAV file");
    }
  }
  const cJSON *trs = cJSON_GetObjectItemCaseSensitive(cdr, "transfers");
  const cJSON *tr0 = cJSON_GetArrayItem(trs, 0);
  const char *tres = jstr(tr0, "result");
  if (!reason[0] && cdr == NULL) snprintf(reason, sizeof reason, "the engine wrote no call record");
  if (!reason[0] && error && error[0])
    snprintf(reason, sizeof reason, "the flow failed: %s", error);
  if (!reason[0] && (outcome == NULL || strcmp(outcome, sc->outcome) != 0))
    snprintf(reason, sizeof reason, "the call ended '%s', expected '%s'", outcome ? outcome : "?", sc->outcome);
  char missing[64];
  if (!reason[0] && !played_in_order(d->played.data ? d->played.data : "", sc->must_play, missing, sizeof missing))
    snprintf(reason, sizeof reason, "the prompt '%s' was not played when expected (played: %s)", missing,
             d->played.data ? d->played.data : "none");
  if (!reason[0] && nrec != sc->recordings)
    snprintf(reason, sizeof reason, "%d recording(s) stored, expected %d", nrec, sc->recordings);
  if (!reason[0] && sc->transfer && (tres == NULL || strcmp(tres, sc->transfer) != 0))
    snprintf(reason, sizeof reason, "the transfer ended '%s', expected '%s'", tres ? tres : "(none)", sc->transfer);
  if (!reason[0] && !sc->transfer && tres)
    snprintf(reason, sizeof reason, "an unexpected transfer (%s)", tres);
  if (reason[0]) {
    d->failed_calls++;
    fprintf(d->out, "  %s=> NOT as scripted: %s%s\n\n", S(d, "bad"), reason, R(d));
  } else {
    d->ok_calls++;
    fprintf(d->out, "  %s=> as scripted%s (outcome: %s)\n\n", S(d, "ok"), R(d), outcome);
  }
  fflush(d->out);
}

static void demo_close(demo_t *d);

static void on_tick(uv_timer_t *t) {
  demo_t *d = t->data;
  if (d->phase == PH_IN_CALL && dt_now_ms() > d->deadline) {
    /* the call outlived its script: hang it up and record the failure */
    dt_emulator_hangup(dt_localrun_emulator(d->lr), d->call_id, NULL, 0);
    d->hung_up_by_us = true;
    d->phase = PH_WAIT_CDR;
    d->deadline = dt_now_ms() + 15000;
    return;
  }
  if (d->phase != PH_WAIT_CDR) return;
  cJSON *cdr = dt_demo_find_cdr(d->cdr_path, d->call_id);
  if (cdr == NULL && dt_now_ms() < d->deadline) return;
  dt_transcript_flush(d->tr);
  finish_call(d, cdr, d->hung_up_by_us ? "the call did not end as scripted (the demo hung it up)" : NULL);
  cJSON_Delete(cdr);
  d->cur++;
  d->phase = PH_IDLE;
  demo_next(d);
}

static void place_call(demo_t *d) {
  const scenario_t *sc = &scenarios[d->cur];
  fprintf(d->out, "%sCall %zu of %zu: %s%s\n", S(d, "title"), d->cur + 1, NSCEN, sc->title, R(d));
  wrap_text(d->tr, 2, sc->story, false, "dim");
  fputc('\n', d->out);
  fflush(d->out);
  dt_emulator_t *emu = dt_localrun_emulator(d->lr);
  if (sc->dispatch) {
    dt_emulator_party_t party = {DT_EMULATOR_ANSWER, -1, NULL};
    if (strcmp(sc->dispatch, "busy") == 0) party.behaviour = DT_EMULATOR_BUSY;
    else if (strcmp(sc->dispatch, "noanswer") == 0) party.behaviour = DT_EMULATOR_NOANSWER;
    else if (strcmp(sc->dispatch, "reject") == 0) party.behaviour = DT_EMULATOR_REJECT;
    dt_emulator_set_party(emu, DEMO_DISPATCH, &party, NULL, 0);
  } else {
    dt_emulator_remove_party(emu, DEMO_DISPATCH);
  }
  cJSON *from = cJSON_CreateObject();
  cJSON_AddStringToObject(from, "phone", sc->from);
  cJSON *script = cJSON_Parse(sc->script);
  dt_emulator_call_options_t co = {0};
  co.from = from;
  co.script = script;
  char why[300] = "";
  int rc = dt_emulator_place_call(emu, &co, d->call_id, why, sizeof why);
  cJSON_Delete(from);
  cJSON_Delete(script);
  if (rc != 0) {
    d->failed_calls++;
    fprintf(d->out, "  %s=> NOT as scripted: the emulator refused the call (%s)%s\n\n", S(d, "bad"), why, R(d));
    d->cur++;
    demo_next(d);
    return;
  }
  dt_buf_reset(&d->played);
  d->hung_up_by_us = false;
  d->phase = PH_IN_CALL;
  /* a call of the demo lasts about a minute of simulated time; the engine's own
     timeouts (no input) are real time */
  d->deadline = dt_now_ms() + 30000 + (uint64_t)(180000.0 * d->time_scale);
}

static void print_summary(demo_t *d) {
  const dt_transcript_stats_t *s = dt_transcript_stats(d->tr);
  fprintf(d->out, "%sSummary%s\n", S(d, "title"), R(d));
  fprintf(d->out, "  calls:       %zu placed, %u as scripted", NSCEN, d->ok_calls);
  if (d->failed_calls) fprintf(d->out, ", %s%u not%s", S(d, "bad"), d->failed_calls, R(d));
  fputc('\n', d->out);
  fprintf(d->out, "  prompts:     %u played\n", s->prompts);
  fprintf(d->out, "  keys:        %u pressed\n", s->keys);
  fprintf(d->out, "  recordings:  %u saved in %s\n", d->recordings_saved, d->recordings_dir);
  fprintf(d->out, "  transfers:   %u (%u completed, %u failed)\n", s->transfers, s->transfers_completed,
          s->transfers_failed);
  fflush(d->out);
}

static void demo_next(demo_t *d) {
  if (d->interrupted) {
    demo_close(d);
    return;
  }
  if (d->cur < NSCEN) {
    place_call(d);
    return;
  }
  print_summary(d);
  demo_close(d);
}

static void on_closed(void *ud) {
  demo_t *d = ud;
  d->lr = NULL;
  d->closed = true;
  uv_close((uv_handle_t *)&d->timer, NULL);
  uv_close((uv_handle_t *)&d->sigint, NULL);
}

static void demo_close(demo_t *d) {
  if (d->phase == PH_CLOSING) return;
  d->phase = PH_CLOSING;
  dt_localrun_close(d->lr, on_closed, d);
}

static void on_sigint(uv_signal_t *s, int signum) {
  demo_t *d = s->data;
  if (d->interrupted) return;
  d->interrupted = true;
  fprintf(d->err, "dialtone demo: interrupted\n");
  demo_close(d);
}

/* Removes the demo's work directory (the CDR file) — nothing else. */
static void remove_workdir(demo_t *d) {
  if (d->workdir == NULL) return;
  unlink(d->cdr_path);
  rmdir(d->workdir);
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: dialtone demo [--flows DIR] [--time-scale X] [--recordings DIR] [--beta] [--verbose]\n"
          "Runs the engine and the embedded Graph emulator in this process and places scripted calls\n"
          "through DIR/main.lua (default flows/main.lua), printing a transcript of each call.\n"
          "  --time-scale X   simulated time runs X times slower than real time: 0 = instant\n"
          "                   (default), 1 = real time\n"
          "  --recordings DIR where recordings are stored (default: a new directory under /tmp)\n"
          "  --beta           speak Graph's beta dialect (/app/calls) instead of v1.0\n"
          "  --verbose        show the engine's and the emulator's log\n"
          "Exit status: 0 when every call went as scripted, 1 otherwise, 2 on a usage error.\n");
}

int dt_demo_run(int argc, char **argv, FILE *out, FILE *err) {
  const char *flows = "flows";
  const char *recordings = NULL;
  double scale = 0;
  bool verbose = false, beta = false;
  const dt_arg_t opts[] = {
      DT_ARG_STR("--flows", &flows),
      DT_ARG_NUM("--time-scale", &scale, 0, 100,
                 "--time-scale must be a number from 0 (instant) to 100; 1 is real time"),
      DT_ARG_STR("--recordings", &recordings),
      DT_ARG_BOOL("--beta", NULL, &beta),
      DT_ARG_BOOL("--verbose", "-v", &verbose),
  };
  const dt_args_spec_t spec = {.prefix = "dialtone demo", .opts = opts, .nopts = DT_ARRAY_SIZE(opts),
                               .usage = usage, .unknown = "unknown option '%s'"};
  int code;
  if (!dt_args_parse(&spec, 1, argc, argv, out, err, &code)) return code;
  char *main_lua = dt_xasprintf("%s/main.lua", flows);
  struct stat st;
  if (stat(main_lua, &st) != 0) {
    fprintf(err, "dialtone demo: %s: %s (give the flows directory with --flows DIR)\n", main_lua, strerror(errno));
    free(main_lua);
    return 2;
  }
  free(main_lua);

  demo_t *d = dt_xcalloc(1, sizeof *d);
  d->out = out;
  d->err = err;
  d->time_scale = scale;
  d->prompts_dir = dt_xasprintf("%s/prompts", flows);
  const char *tmp = getenv("TMPDIR");
  if (tmp == NULL || tmp[0] == '\0') tmp = "/tmp";
  d->workdir = dt_xasprintf("%s/dialtone-demo-XXXXXX", tmp);
  if (mkdtemp(d->workdir) == NULL) {
    fprintf(err, "dialtone demo: cannot create a directory under %s: %s\n", tmp, strerror(errno));
    free(d->workdir);
    free(d->prompts_dir);
    free(d);
    return 1;
  }
  d->cdr_path = dt_xasprintf("%s/cdr.jsonl", d->workdir);
  if (recordings) {
    d->recordings_dir = dt_xstrdup(recordings);
  } else {
    d->recordings_dir = dt_xasprintf("%s/dialtone-demo-recordings-XXXXXX", tmp);
    if (mkdtemp(d->recordings_dir) == NULL) {
      fprintf(err, "dialtone demo: cannot create a directory under %s: %s\n", tmp, strerror(errno));
      remove_workdir(d);
      free(d->workdir);
      free(d->cdr_path);
      free(d->recordings_dir);
      free(d->prompts_dir);
      free(d);
      return 1;
    }
  }
  const char *nc = getenv("NO_COLOR");
  bool color = isatty(fileno(out)) && !(nc && nc[0]);
  d->tr = dt_transcript_new(out, d->prompts_dir, color, false);

  /* the log goes aside (shown if something fails) unless --verbose */
  char *logtext = NULL;
  size_t loglen = 0;
  FILE *logf = NULL;
  if (!verbose) {
    logf = open_memstream(&logtext, &loglen);
    if (logf) dt_log_set_output(logf);
  }

  signal(SIGPIPE, SIG_IGN);
  int rc = 0;
  uv_loop_init(&d->loop);
  dt_localrun_options_t o = {0};
  o.flows_dir = flows;
  o.recordings_dir = d->recordings_dir;
  o.cdr_path = d->cdr_path;
  o.time_scale = scale;
  o.settled_clock = 1; /* at time scale 0 the clock waits for the engine between instants */
  o.dialect = beta ? DT_GRAPH_BETA : DT_GRAPH_V1;
  o.quiet = verbose ? 0 : 1;
  char lerr[512] = "";
  if (dt_localrun_start(&d->loop, &o, &d->lr, lerr, sizeof lerr) != 0) {
    fprintf(err, "dialtone demo: cannot start: %s\n", lerr);
    rc = 1;
  } else {
    if (lerr[0]) fprintf(err, "dialtone demo: warning: %s\n", lerr);
    fprintf(out, "%sdialtone demo%s: flows from %s, Graph emulator at %s, engine at %s\n", S(d, "bold"), R(d), flows,
            dt_emulator_url(dt_localrun_emulator(d->lr)), dt_engine_callback_url(dt_localrun_engine(d->lr)));
    if (scale == 0)
      fprintf(out, "Simulated time runs instantly; times below are the calls' simulated times.\n\n");
    else if (scale == 1)
      fprintf(out, "Calls run in real time.\n\n");
    else
      fprintf(out, "Simulated time runs at %g x real time; times below are the calls' simulated times.\n\n",
              1.0 / scale);
    fflush(out);
    uv_timer_init(&d->loop, &d->timer);
    d->timer.data = d;
    uv_timer_start(&d->timer, on_tick, 10, 10);
    uv_signal_init(&d->loop, &d->sigint);
    d->sigint.data = d;
    uv_signal_start(&d->sigint, on_sigint, SIGINT);
    dt_localrun_on_event(d->lr, on_entry, d);
    demo_next(d);
    uv_run(&d->loop, UV_RUN_DEFAULT);
    if (d->interrupted) rc = 1;
    else if (d->failed_calls > 0 || d->ok_calls != NSCEN) rc = 1;
  }
  /* anything left (a failed start) closes here */
  while (uv_run(&d->loop, UV_RUN_NOWAIT) != 0) {
  }
  uv_loop_close(&d->loop);

  if (logf) {
    dt_log_set_output(NULL);
    fclose(logf);
    if (rc != 0 && logtext && loglen > 0) {
      /* the end of the log says why */
      size_t from = loglen > 6000 ? loglen - 6000 : 0;
      fprintf(err, "dialtone demo: the log of the run%s:\n%s", from ? " (its end)" : "", logtext + from);
    }
    free(logtext);
  }
  if (rc != 0 && !d->interrupted && d->lr == NULL && d->failed_calls > 0)
    fprintf(err, "dialtone demo: %u of %zu calls did not go as scripted (see above)\n", d->failed_calls, NSCEN);
  remove_workdir(d);
  if (recordings == NULL) rmdir(d->recordings_dir); /* ours, and nothing was recorded: gone */
  dt_transcript_free(d->tr);
  dt_buf_free(&d->played);
  free(d->workdir);
  free(d->cdr_path);
  free(d->recordings_dir);
  free(d->prompts_dir);
  free(d);
  return rc;
}

int dt_demo_main(int argc, char **argv) { return dt_demo_run(argc, argv, stdout, stderr); }
