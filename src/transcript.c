/*
 * transcript.c — the transcript printer (transcript.h) that `dialtone demo` and
 * `dialtone console` share.
 *
 * Owns: turning emulator timeline entries (docs/emulator.md "Timeline entries") into
 * readable lines stamped with the call's simulated time, the prompts' transcript text
 * (prompts/NAME.txt, cached, whitespace folded), word wrapping, colours, and the counts the
 * demo's summary prints. Promises: it only prints (never decides whether a call went as
 * scripted); a prompt heard before in the same call is not spelt out again; no colour
 * escapes unless asked for (dt_transcript_color_wanted).
 */
#include "transcript.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "dialtone/common.h"

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
    /* speech (call:say, say helpers, transcripts spoken): its text is beside it in _tts/ */
    bool speech = strncmp(name, "tts-", 4) == 0;
    char *path = dt_xasprintf("%s/%s%s.txt", t->prompts_dir, speech ? "_tts/" : "", name);
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

void dt_transcript_paragraph(dt_transcript_t *t, int indent, const char *text, const char *style) {
  wrap_text(t, indent, text, false, style);
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

bool dt_transcript_color_wanted(FILE *out) {
  const char *nc = getenv("NO_COLOR");
  return isatty(fileno(out)) && !(nc && nc[0]);
}
