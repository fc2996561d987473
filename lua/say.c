/*
 * say.c — speech for flows (see rt_internal.h for the modules): call:say (text to speech),
 * the say helpers (say_digits, say_number, say_date, say_time, say_money: a recorded prompt
 * set when there is one, else speech), call:set_language and the prompt lookup by language
 * ({prompts_dir}/LANG/NAME.wav, then NAME.wav, then NAME.txt spoken).
 *
 * Speech is rendered by core/util/tts.c into the cache {prompts_dir}/_tts/tts-HASH.wav (by
 * text, voice and rate), served at {prompts_base_url}/_tts/ like any prompt, and played. A
 * render runs in libuv's thread pool, one at a time (espeak-ng is not thread-safe) from a
 * queue of at most SAY_QUEUE_MAX; meanwhile the call waits on an external wait
 * (dt_call_external_begin, DT_WAIT_SPEECH) and its coroutine is parked. When the file is there the primitive
 * that needed it runs again from the start (its arguments are still on the stack).
 *
 * Promises: a call that ends while its speech is rendered is resumed by the hangup as from
 * any wait, never by the render; the render's job outlives the call (the file is cached) but
 * forgets it (dt__say_forget, from the scheduler's release); a job still queued for a call
 * that left is dropped. Nothing here blocks the loop but a stat() of the cache file.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <uv.h>
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/list.h"
#include "dialtone/say_words.h"
#include "dialtone/tts.h"
#include "call_handle.h"
#include "prompts.h"
#include "rt_state.h"
#include "say.h"

#define SAY_QUEUE_MAX 1024           /* renders queued or running in the process */
#define SAY_DEADLINE_MS 120000       /* a call waits this long for its speech, queue included */
#define SAY_MAX_PROMPTS 20           /* Graph plays at most 20 prompts in one request */
#define SAY_CACHE_DEFAULT ((uint64_t)64 << 20)
#define SAY_CACHE_MIN ((uint64_t)1 << 20)
#define SAY_CACHE_DIR "_tts"

struct dt_say_job_s {
  uv_work_t req;
  dt_list_node_t link;           /* in say_queue while it waits for its turn */
  uv_loop_t *loop;
  dt_call_t *call;               /* NULL once the call's wait ended another way (say_cancel) */
  int rate;
  uint64_t cache_bytes;
  char *text, *voice, *dir, *path;
  int err;
  char msg[256];
};

/* The process's one render at a time (loop thread only). */
static dt_list_t say_queue;
static bool say_running;
static size_t say_pending;

size_t dt_runtime_synth_pending(void) { return say_pending; }

void dt__say_options(dt_runtime_t *rt) {
  rt->tts_voice = dt_xstrdup(rt->o.tts_voice && rt->o.tts_voice[0] ? rt->o.tts_voice : "en-us");
  rt->language = dt_xstrdup(rt->o.language && rt->o.language[0] ? rt->o.language : "en");
  if (rt->o.tts_rate < DT_TTS_RATE_MIN || rt->o.tts_rate > DT_TTS_RATE_MAX) rt->o.tts_rate = DT_TTS_RATE_DEFAULT;
  if (!rt->o.tts_cache_bytes) rt->o.tts_cache_bytes = SAY_CACHE_DEFAULT;
  if (rt->o.tts_cache_bytes < SAY_CACHE_MIN) rt->o.tts_cache_bytes = SAY_CACHE_MIN;
}

static void job_free(struct dt_say_job_s *j) {
  DT_FREE_ALL(j->text, j->voice, j->dir, j->path);
  free(j);
}

/* ---------------------------------------------------------------- the pool */

static void work(uv_work_t *req) {
  struct dt_say_job_s *j = req->data;
  struct stat st;
  if (stat(j->path, &st) == 0 && S_ISREG(st.st_mode)) return; /* a job before it, for another call, made it */
  if (mkdir(j->dir, 0755) != 0 && errno != EEXIST) {
    j->err = dt_seterr(j->msg, sizeof j->msg, DT_EIO, "cannot create the speech cache %s: %s", j->dir, strerror(errno));
    return;
  }
  j->err = dt_tts_render(j->text, j->voice, j->rate, j->path, j->msg, sizeof j->msg);
  if (j->err != 0) return;
  /* the text beside it (tts-HASH.txt), for people and transcripts: what the file says */
  size_t n = strlen(j->path);
  char *txt = dt_xasprintf("%.*s.txt", (int)(n - 4), j->path);
  (void)dt_write_file_atomic(txt, j->text, strlen(j->text));
  free(txt);
  dt_tts_cache_trim(j->dir, j->cache_bytes);
}

static void start_next(void);

static void after_work(uv_work_t *req, int status) {
  struct dt_say_job_s *j = req->data;
  say_running = false;
  say_pending--;
  dt_call_t *c = j->call;
  if (c) {
    dt_lcall_t *lc = c->rt;
    if (lc && lc->say_job == j) lc->say_job = NULL;
    int err = status == UV_ECANCELED ? DT_ECANCELED : j->err;
    char msg[300];
    snprintf(msg, sizeof msg, "speech synthesis failed: %s", j->msg[0] ? j->msg : dt_strerror(err));
    job_free(j);
    start_next(); /* before the flow runs on: it may queue more */
    dt_call_external_done(c, err, NULL, err ? msg : NULL);
    return;
  }
  job_free(j);
  start_next();
}

static void start_next(void) {
  while (!say_running && say_queue.head) {
    struct dt_say_job_s *j = DT_LIST_ENTRY(dt_list_pop_front(&say_queue), struct dt_say_job_s, link);
    j->req.data = j;
    if (uv_queue_work(j->loop, &j->req, work, after_work) == 0) {
      say_running = true;
      return;
    }
    say_pending--;
    if (j->call) {
      dt_call_t *c = j->call;
      dt_lcall_t *lc = c->rt;
      if (lc && lc->say_job == j) lc->say_job = NULL;
      job_free(j);
      dt_call_external_done(c, DT_EIO, NULL, "speech synthesis could not be started");
    } else {
      job_free(j);
    }
  }
}

/* The job no longer has a call to resume: queued, it is dropped; running, after_work frees it. */
static void job_forget(dt_lcall_t *lc, struct dt_say_job_s *j) {
  if (lc && lc->say_job == j) lc->say_job = NULL;
  if (dt_list_linked(&say_queue, &j->link)) { /* not started: nobody needs it */
    dt_list_remove(&say_queue, &j->link);
    say_pending--;
    job_free(j);
    return;
  }
  j->call = NULL; /* running: after_work frees it */
}

void dt__say_forget(dt_lcall_t *lc) {
  if (lc->say_job) job_forget(lc, lc->say_job);
}

/* The call's wait ended before the speech was there (hangup, deadline, drain): call_external.c
   runs this exactly once, and dt_call_external_done is never called for it afterwards. */
static void say_cancel(void *ud) {
  struct dt_say_job_s *j = ud;
  dt_call_t *c = j->call;
  job_forget(c ? c->rt : NULL, j);
}

/* ---------------------------------------------------------------- waiting for speech */

/* After the render: the primitive runs again from the start (arguments 1..3 as given). */
static int k_again(lua_State *L, int status, lua_KContext ctx) {
  dt_call_t *c = dt__call_handle_self(L);
  if (c->result.err) return dt__call_handle_raise_result(L, c);
  dt_lcall_t *lc = c->rt;
  lua_CFunction f = lc->say_again;
  lc->say_retrying = true;
  lua_settop(L, 3);
  return f(L);
}

/* Renders text into the cache file path (named name under the cache dir) and yields; the
   running primitive `again` then runs again. */
static int render_then_again(lua_State *L, dt_call_t *c, const char *prim, const char *text, const char *voice,
                             int rate, const char *path, lua_CFunction again) {
  dt_runtime_t *rt = dt__rt_state_of(L);
  dt_lcall_t *lc = c->rt;
  if (lc->say_retrying) {
    lc->say_retrying = false;
    return luaL_error(L, "%s: the speech was synthesised but its file is gone (is the speech cache, tts.cache_mb, "
                         "too small?)", prim);
  }
  if (!again) return luaL_error(L, "%s: speech cannot be waited for here", prim);
  if (say_pending >= SAY_QUEUE_MAX)
    return luaL_error(L, "%s: too many speech syntheses waiting (%d); try again later", prim, SAY_QUEUE_MAX);
  struct dt_say_job_s *j = dt_xcalloc(1, sizeof *j);
  int rc = dt_call_external_begin(c, DT_WAIT_SPEECH, SAY_DEADLINE_MS, say_cancel, j);
  if (rc < 0) {
    free(j);
    return dt__call_handle_raise_rc(L, prim, rc);
  }
  j->loop = rt->o.loop;
  j->call = c;
  j->rate = rate;
  j->cache_bytes = rt->o.tts_cache_bytes;
  j->text = dt_xstrdup(text);
  j->voice = dt_xstrdup(voice);
  j->dir = dt_xasprintf("%s/%s", rt->prompts_dir, SAY_CACHE_DIR);
  j->path = dt_xstrdup(path);
  lc->say_job = j;
  lc->say_again = again;
  say_pending++;
  dt_list_push_back(&say_queue, &j->link);
  start_next();
  return lua_yieldk(L, 0, 0, k_again);
}

/* The C function running now (the primitive that called us), or NULL. */
static lua_CFunction running_primitive(lua_State *L) {
  lua_Debug ar;
  lua_CFunction f = NULL;
  if (lua_getstack(L, 0, &ar) && lua_getinfo(L, "f", &ar)) {
    f = lua_tocfunction(L, -1);
    lua_pop(L, 1);
  }
  return f;
}

/* The URL of text spoken by voice at rate, pushed; when it is not in the cache yet, renders
   it first and runs the running primitive again (does not return). */
static const char *speech_url(lua_State *L, dt_call_t *c, const char *prim, const char *text, const char *voice,
                              int rate) {
  dt_runtime_t *rt = dt__rt_state_of(L);
  if (!rt->prompts_dir) luaL_error(L, "%s: speech needs a prompts directory (prompts.dir) to cache it in", prim);
  char name[DT_TTS_NAME_LEN];
  dt_tts_cache_name(text, voice, rate, name);
  char path[1200];
  snprintf(path, sizeof path, "%s/%s/%s", rt->prompts_dir, SAY_CACHE_DIR, name);
  struct stat st;
  dt_lcall_t *lc = c->rt;
  if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
    render_then_again(L, c, prim, text, voice, rate, path, running_primitive(L));
    return NULL; /* not reached */
  }
  lc->say_retrying = false;
  struct timespec now[2] = {{0, UTIME_NOW}, {0, UTIME_NOW}}; /* used: the trim deletes the oldest first */
  (void)utimensat(AT_FDCWD, path, now, 0);
  lua_pushfstring(L, "%s/%s/%s", rt->prompts_base_url, SAY_CACHE_DIR, name);
  return lua_tostring(L, -1);
}

/* ---------------------------------------------------------------- prompts by language */

/* The call's language ("" when none was set). */
static const char *call_lang(dt_call_t *c) {
  dt_lcall_t *lc = c ? c->rt : NULL;
  return lc ? lc->lang : "";
}

/* Whether a prompt of that name is in the call's language folder (or, for the default
   language, the default folder); pushes its URL when it is. */
static bool push_lang_prompt(lua_State *L, dt_runtime_t *rt, const char *lang, const char *name, bool default_too) {
  char rel[300];
  if (lang[0]) {
    snprintf(rel, sizeof rel, "%s/%s", lang, name);
    if (dt__prompts_exists(rt, rel)) {
      lua_pushfstring(L, "%s/%s.wav", rt->prompts_base_url, rel);
      return true;
    }
  }
  if (default_too && dt__prompts_exists(rt, name)) {
    lua_pushfstring(L, "%s/%s.wav", rt->prompts_base_url, name);
    return true;
  }
  return false;
}

/* Reads {prompts_dir}/REL.txt (whitespace folded). */
static bool read_transcript(dt_runtime_t *rt, const char *rel, char *buf, size_t len) {
  char path[1200];
  snprintf(path, sizeof path, "%s/%s.txt", rt->prompts_dir, rel);
  return dt_tts_read_text(path, buf, len);
}

/* The voice for a language: the default voice when it speaks that language, "en-us" for
   "en", else the language's own name (espeak-ng names its voices by language). */
static const char *voice_for(dt_runtime_t *rt, const char *lang) {
  if (!lang || !lang[0]) return rt->tts_voice;
  size_t n = strcspn(lang, "-_");
  if (strncmp(rt->tts_voice, lang, n) == 0 && (rt->tts_voice[n] == '\0' || rt->tts_voice[n] == '-')) {
    if (lang[n] == '\0') return rt->tts_voice;
  }
  if (strcmp(lang, "en") == 0) return "en-us";
  return lang;
}

const char *dt__say_prompt_uri(lua_State *L, const char *name) {
  dt_runtime_t *rt = dt__rt_state_of(L);
  dt_call_t *c = dt__call_handle_self(L);
  if (strstr(name, "://") || !rt->prompts_dir || !dt__prompts_name_ok(name)) return dt__prompts_uri(L, rt, name);
  size_t nl = strlen(name);
  bool wav = nl > 4 && strcmp(name + nl - 4, ".wav") == 0;
  const char *lang = call_lang(c);
  if (!wav && !strchr(name, '/') && push_lang_prompt(L, rt, lang, name, false)) return lua_tostring(L, -1);
  if (dt__prompts_exists(rt, name) || wav || rt->o.tts_no_prompts || !c) return dt__prompts_uri(L, rt, name);
  /* no recording: its transcript, spoken */
  char text[DT_TTS_MAX_TEXT + 1], rel[300];
  bool found = false;
  if (lang[0] && !strchr(name, '/')) {
    snprintf(rel, sizeof rel, "%s/%s", lang, name);
    found = read_transcript(rt, rel, text, sizeof text);
  }
  if (!found && !read_transcript(rt, name, text, sizeof text)) return dt__prompts_uri(L, rt, name); /* raises */
  const char *voice = voice_for(rt, found ? lang : NULL);
  return speech_url(L, c, "prompt", text, voice, rt->o.tts_rate);
}

/* ---------------------------------------------------------------- call:say */

typedef struct {
  const char *voice;
  const char *lang;              /* the language to speak (option, else the call's, else the default) */
  int rate;
  bool barge_in;
} say_opts_t;

static const char *const SAY_OPTS[] = {"voice", "lang", "rate", "barge_in", NULL};

static bool lang_name_ok(const char *s) {
  size_t n = strlen(s);
  if (n < 2 || n > 15) return false;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    bool ok = (ch >= 'a' && ch <= 'z') || (i >= 2 && ((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-'));
    if (!ok) return false;
  }
  return s[0] != '-' && s[n - 1] != '-';
}

/* Reads the option table at idx (the strings live while it is on the stack). */
static say_opts_t check_say_opts(lua_State *L, int idx, const char *prim, dt_call_t *c) {
  dt_runtime_t *rt = dt__rt_state_of(L);
  dt__call_handle_check_options(L, idx, prim, SAY_OPTS);
  say_opts_t o = {NULL, NULL, rt->o.tts_rate, false};
  bool t = lua_istable(L, idx);
  if (t && lua_getfield(L, idx, "voice") != LUA_TNIL) {
    if (!lua_isstring(L, -1) || !dt_tts_voice_ok(lua_tostring(L, -1)))
      luaL_error(L, "%s: option 'voice' must be an espeak-ng voice name such as \"en-us\" or \"es\"", prim);
    o.voice = lua_tostring(L, -1);
  }
  if (t) lua_pop(L, 1);
  if (t && lua_getfield(L, idx, "lang") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TSTRING || !lang_name_ok(lua_tostring(L, -1)))
      luaL_error(L, "%s: option 'lang' must be a language such as \"en\" or \"es-mx\"", prim);
    o.lang = lua_tostring(L, -1);
  }
  if (t) lua_pop(L, 1);
  if (t && lua_getfield(L, idx, "rate") != LUA_TNIL) {
    lua_Number r = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || !(r >= DT_TTS_RATE_MIN && r <= DT_TTS_RATE_MAX))
      luaL_error(L, "%s: option 'rate' must be a number of words per minute from %d to %d", prim, DT_TTS_RATE_MIN,
                 DT_TTS_RATE_MAX);
    o.rate = (int)r;
  }
  if (t) lua_pop(L, 1);
  if (t && lua_getfield(L, idx, "barge_in") != LUA_TNIL) {
    if (lua_type(L, -1) != LUA_TBOOLEAN) luaL_error(L, "%s: option 'barge_in' must be a boolean", prim);
    o.barge_in = lua_toboolean(L, -1);
  }
  if (t) lua_pop(L, 1);
  if (!o.lang) o.lang = call_lang(c)[0] ? call_lang(c) : rt->language;
  if (!o.voice) o.voice = voice_for(rt, o.lang);
  return o;
}

static int k_played(lua_State *L, int status, lua_KContext ctx) {
  dt_call_t *c = dt__call_handle_self(L);
  if (c->result.err) return dt__call_handle_raise_result(L, c);
  lua_pushstring(L, c->result.reason ? c->result.reason : "completed");
  return 1;
}

/* Plays the URLs (strings at the top n stack slots) and waits. */
static int play_urls(lua_State *L, dt_call_t *c, const char *prim, int n, bool barge_in) {
  dt_media_t *m = lua_newuserdatauv(L, (size_t)n * sizeof *m, 0);
  memset(m, 0, (size_t)n * sizeof *m);
  for (int i = 0; i < n; i++) m[i].uri = lua_tostring(L, -1 - n + i);
  return dt__call_handle_wait(L, prim, dt_call_play(c, m, (size_t)n, barge_in), k_played);
}

static void check_text(lua_State *L, int idx, const char *prim, size_t *len) {
  const char *s = luaL_checklstring(L, idx, len);
  if (*len == 0 || *len > DT_TTS_MAX_TEXT)
    luaL_error(L, "%s: text must be 1 to %d bytes (got %d)", prim, DT_TTS_MAX_TEXT, (int)*len);
  if (strlen(s) != *len) luaL_error(L, "%s: text must not contain NUL bytes", prim);
  if (!dt_tts_text_ok(s, *len)) luaL_error(L, "%s: text must be valid UTF-8", prim);
}

static int l_say(lua_State *L) {
  dt_call_t *c = dt__call_handle_own(L, 1, "say");
  size_t len;
  check_text(L, 2, "call:say", &len);
  say_opts_t o = check_say_opts(L, 3, "call:say", c);
  speech_url(L, c, "call:say", lua_tostring(L, 2), o.voice, o.rate);
  return play_urls(L, c, "say", 1, o.barge_in);
}

/* ---------------------------------------------------------------- say helpers */

/* Speaks the words: the prompt set (every word's prompt in the language's folder, or the
   default folder for the default language, at most 20) when it is complete, else speech. */
static int say_words(lua_State *L, dt_call_t *c, const char *prim, const dt_say_list_t *l, const say_opts_t *o) {
  dt_runtime_t *rt = dt__rt_state_of(L);
  size_t dn = strcspn(rt->language, "-_"), ln = strcspn(o->lang, "-_");
  bool default_lang = dn == ln && strncmp(rt->language, o->lang, dn) == 0;
  const char *folder = o->lang;
  if (rt->prompts_dir && l->n <= SAY_MAX_PROMPTS) {
    int pushed = 0;
    bool all = true;
    for (size_t i = 0; i < l->n && all; i++) {
      char name[64];
      if (strncmp(l->w[i].key, "digit_", 6) == 0 || !strcmp(l->w[i].key, "star") || !strcmp(l->w[i].key, "pound"))
        snprintf(name, sizeof name, "%s", l->w[i].key);
      else snprintf(name, sizeof name, "say_%s", l->w[i].key);
      all = push_lang_prompt(L, rt, folder, name, default_lang);
      if (all) pushed++;
    }
    if (all && pushed > 0) return play_urls(L, c, prim, pushed, o->barge_in);
    lua_pop(L, pushed);
  }
  char text[2048];
  dt_say_text(l, text, sizeof text);
  speech_url(L, c, prim, text, o->voice, o->rate);
  return play_urls(L, c, prim, 1, o->barge_in);
}

/* The words' language: the option, the call's, the default; en and es only. */
static const char *words_lang(lua_State *L, const char *prim, const say_opts_t *o) {
  if (!dt_say_lang_ok(o->lang))
    luaL_error(L, "%s: the say helpers speak English and Spanish (lang \"en\" or \"es\"), not '%s'", prim, o->lang);
  return o->lang;
}

static int l_say_digits(lua_State *L) {
  dt_call_t *c = dt__call_handle_own(L, 1, "say_digits");
  const char *s = lua_type(L, 2) == LUA_TNUMBER ? NULL : luaL_checkstring(L, 2);
  if (!s) {
    lua_Integer v;
    if (!lua_isinteger(L, 2) || (v = lua_tointeger(L, 2)) < 0) luaL_error(L, "call:say_digits: give digits as a string such as \"0427\"");
    lua_pushvalue(L, 2);
    s = lua_tostring(L, -1);
    lua_replace(L, 2);
  }
  say_opts_t o = check_say_opts(L, 3, "call:say_digits", c);
  dt_say_list_t l;
  if (dt_say_digits(&l, words_lang(L, "call:say_digits", &o), s) != 0)
    luaL_error(L, "call:say_digits: '%s' is not 1 to %d keys 0-9 * #", s, DT_SAY_MAX_DIGITS);
  return say_words(L, c, "say_digits", &l, &o);
}

static int l_say_number(lua_State *L) {
  dt_call_t *c = dt__call_handle_own(L, 1, "say_number");
  lua_Number n = luaL_checknumber(L, 2);
  if (!(n == (lua_Number)(long long)n) || n < -(lua_Number)DT_SAY_NUMBER_MAX || n > (lua_Number)DT_SAY_NUMBER_MAX)
    luaL_error(L, "call:say_number: give a whole number from -999999999 to 999999999");
  say_opts_t o = check_say_opts(L, 3, "call:say_number", c);
  dt_say_list_t l;
  dt_say_number(&l, words_lang(L, "call:say_number", &o), (long long)n);
  return say_words(L, c, "say_number", &l, &o);
}

/* The date and time at idx: a Unix time (local time, as os.date gives it) or a table with
   year, month, day (and hour, min; wday optional) as os.date("*t") gives it. */
static struct tm check_when(lua_State *L, int idx, const char *prim, bool need_date) {
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  if (lua_type(L, idx) == LUA_TNUMBER) {
    lua_Number v = lua_tonumber(L, idx);
    if (!(v >= 0 && v < 253402300800.0)) luaL_error(L, "%s: the time must be a Unix time from 1970 to 9999", prim);
    time_t t = (time_t)v;
    localtime_r(&t, &tm);
    return tm;
  }
  if (!lua_istable(L, idx))
    luaL_error(L, "%s: give a Unix time (os.time()) or a table such as os.date(\"*t\")", prim);
  static const struct {
    const char *key;
    int lo, hi;
  } F[] = {{"year", 1, 9999}, {"month", 1, 12}, {"day", 1, 31}, {"hour", 0, 23}, {"min", 0, 59}, {"wday", 1, 7}};
  int v[6] = {0, 1, 1, 0, 0, 0};
  for (int i = 0; i < 6; i++) {
    int t = lua_getfield(L, idx, F[i].key);
    bool needed = need_date ? i < 3 : (i == 3);
    if (t == LUA_TNIL && needed) luaL_error(L, "%s: the table needs '%s'", prim, F[i].key);
    if (t != LUA_TNIL) {
      if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < F[i].lo || lua_tointeger(L, -1) > F[i].hi)
        luaL_error(L, "%s: '%s' must be a whole number from %d to %d", prim, F[i].key, F[i].lo, F[i].hi);
      v[i] = (int)lua_tointeger(L, -1);
    }
    lua_pop(L, 1);
  }
  tm.tm_year = v[0] - 1900;
  tm.tm_mon = v[1] - 1;
  tm.tm_mday = v[2];
  tm.tm_hour = v[3];
  tm.tm_min = v[4];
  tm.tm_wday = v[5] ? v[5] - 1 : -1;
  return tm;
}

static int l_say_date(lua_State *L) {
  dt_call_t *c = dt__call_handle_own(L, 1, "say_date");
  struct tm tm = check_when(L, 2, "call:say_date", true);
  say_opts_t o = check_say_opts(L, 3, "call:say_date", c);
  dt_say_list_t l;
  if (dt_say_date(&l, words_lang(L, "call:say_date", &o), tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_wday) != 0) {
    char msg[80];
    snprintf(msg, sizeof msg, "call:say_date: no such date %04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    luaL_error(L, "%s", msg);
  }
  return say_words(L, c, "say_date", &l, &o);
}

static int l_say_time(lua_State *L) {
  dt_call_t *c = dt__call_handle_own(L, 1, "say_time");
  struct tm tm = check_when(L, 2, "call:say_time", false);
  say_opts_t o = check_say_opts(L, 3, "call:say_time", c);
  dt_say_list_t l;
  dt_say_time(&l, words_lang(L, "call:say_time", &o), tm.tm_hour, tm.tm_min);
  return say_words(L, c, "say_time", &l, &o);
}

/* call:say_money(amount, currency[, opts]): the currency and options share a table on the
   stack at 3 so that the primitive can run again with arguments 1..3. */
static int l_say_money3(lua_State *L) {
  dt_call_t *c = dt__call_handle_own(L, 1, "say_money");
  lua_Number amount = luaL_checknumber(L, 2);
  if (!(amount >= 0 && amount < 1e9))
    luaL_error(L, "call:say_money: the amount must be from 0 to less than 1000000000");
  const char *cur;
  int opts;
  dt_lcall_t *lc = c->rt;
  lua_settop(L, 4);
  if (lc->say_retrying && lua_istable(L, 3)) { /* run again: {currency, opts} */
    lua_rawgeti(L, 3, 1);
    lua_rawgeti(L, 3, 2);
    cur = lua_tostring(L, -2);
    opts = lua_gettop(L);
  } else {
    cur = luaL_checkstring(L, 3);
    opts = 4;
    lua_createtable(L, 2, 0);
    lua_pushvalue(L, 3);
    lua_rawseti(L, -2, 1);
    lua_pushvalue(L, 4);
    lua_rawseti(L, -2, 2);
    lua_replace(L, 3);
  }
  say_opts_t o = check_say_opts(L, opts, "call:say_money", c);
  dt_say_list_t l;
  if (dt_say_money(&l, words_lang(L, "call:say_money", &o), amount, cur) != 0)
    luaL_error(L, "call:say_money: currency must be \"USD\", \"EUR\", \"MXN\" or (English only) \"GBP\", got '%s'", cur);
  return say_words(L, c, "say_money", &l, &o);
}

/* ---------------------------------------------------------------- language */

static int l_set_language(lua_State *L) {
  dt_call_t *c = dt__call_handle_check(L, 1);
  if (dt__call_handle_self(L) != c) return luaL_error(L, "call:set_language: this call handle belongs to another call's flow");
  dt_lcall_t *lc = c->rt;
  if (lua_isnil(L, 2)) {
    lc->lang[0] = '\0';
    return 0;
  }
  const char *lang = luaL_checkstring(L, 2);
  if (!lang_name_ok(lang) || strlen(lang) >= sizeof lc->lang)
    return luaL_error(L, "call:set_language: '%s' is not a language such as \"en\", \"es\" or \"es-mx\" (lowercase "
                         "letters, then -REGION)", lang);
  snprintf(lc->lang, sizeof lc->lang, "%s", lang);
  return 0;
}

void dt__say_open(lua_State *L) {
  static const luaL_Reg METHODS[] = {{"say", l_say},
                                     {"say_digits", l_say_digits},
                                     {"say_number", l_say_number},
                                     {"say_date", l_say_date},
                                     {"say_time", l_say_time},
                                     {"say_money", l_say_money3},
                                     {"set_language", l_set_language},
                                     {NULL, NULL}};
  luaL_setfuncs(L, METHODS, 0);
}
