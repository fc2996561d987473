/* Unit tests of emu_util.c (its map is core/util/hashmap.c now: test_hashmap): ids, identities, JSON, WAV files, access tokens, tone
   names, validation, paths. */
#include "harness/dt_test.h"
#include "dialtone/error.h"
#include "dialtone/notify.h"
#include "emulator/emu_util.h"

DT_TEST(id_keys_match_graph_spellings) {
  char a[64], b[64], c[64], d[64];
  dt__emu_id_key("57dab8b1-894c-409a-b240-bd8beae78896", a, sizeof a);
  dt__emu_id_key("57DAB8B1894C409AB240BD8BEAE78896", b, sizeof b);
  dt__emu_id_key("/app/calls/57DAB8B1894C409AB240BD8BEAE78896", c, sizeof c);
  dt__emu_id_key("{57DAB8B1-894C-409A-B240-BD8BEAE78896}", d, sizeof d);
  DT_ASSERT_EQ_STR(a, "57dab8b1894c409ab240bd8beae78896");
  DT_ASSERT_EQ_STR(b, a);
  DT_ASSERT_EQ_STR(c, a);
  DT_ASSERT_EQ_STR(d, a);
  char up[64];
  dt__emu_id_upper("0fe0623f-d628-42ed-b4bd-8ac290072cc5", up, sizeof up);
  DT_ASSERT_EQ_STR(up, "0FE0623FD62842EDB4BD8AC290072CC5");
}

DT_TEST(identities_short_and_long) {
  cJSON *s = cJSON_CreateString("+15551234567");
  cJSON *set = dt__emu_identity_from_short(s);
  const char *kind = NULL;
  DT_ASSERT_EQ_STR(dt__emu_identity_id(set, &kind), "+15551234567");
  DT_ASSERT_EQ_STR(kind, "phone");
  cJSON_Delete(set);
  cJSON_Delete(s);
  cJSON *o = cJSON_Parse("{\"user\":\"alice\"}");
  set = dt__emu_identity_from_short(o);
  DT_ASSERT_EQ_STR(dt__emu_identity_id(set, &kind), "alice");
  DT_ASSERT_EQ_STR(kind, "user");
  cJSON_Delete(set);
  cJSON_Delete(o);
  o = cJSON_Parse("{\"identity\":{\"application\":{\"id\":\"app\",\"displayName\":\"Bot\"}}}");
  set = dt__emu_identity_from_short(o);
  DT_ASSERT_EQ_STR(dt__emu_identity_id(set, &kind), "app");
  DT_ASSERT_EQ_STR(kind, "application");
  char desc[64];
  dt__emu_identity_desc(set, desc, sizeof desc);
  DT_ASSERT_EQ_STR(desc, "application:app");
  cJSON_Delete(set);
  cJSON_Delete(o);
  o = cJSON_Parse("{\"guest\":{\"displayName\":\"Visitor\"}}");
  DT_ASSERT_EQ_STR(dt__emu_identity_id(o, &kind), "Visitor");
  cJSON_Delete(o);
  o = cJSON_Parse("{\"nobody\":1}");
  DT_ASSERT(dt__emu_identity_from_short(o) == NULL);
  cJSON_Delete(o);
  o = cJSON_CreateNumber(3);
  DT_ASSERT(dt__emu_identity_from_short(o) == NULL);
  cJSON_Delete(o);
}

static uint32_t rd32(const char *p) {
  const unsigned char *u = (const unsigned char *)p;
  return (uint32_t)u[0] | ((uint32_t)u[1] << 8) | ((uint32_t)u[2] << 16) | ((uint32_t)u[3] << 24);
}

DT_TEST(wav_written_and_measured) {
  emu_segment_t seg[] = {{100, 300}};
  char *w = NULL;
  size_t len = 0;
  dt__emu_wav_build(500, seg, 1, &w, &len);
  DT_ASSERT_EQ_INT(len, 44 + 500 * 16);
  DT_ASSERT(memcmp(w, "RIFF", 4) == 0);
  DT_ASSERT_EQ_INT(rd32(w + 40), 500 * 16);
  /* silence outside the segment, a tone inside */
  int16_t s0, s1;
  memcpy(&s0, w + 44 + 2 * 400, 2);   /* 50 ms */
  long energy = 0;
  for (int i = 800; i < 2400; i++) {
    memcpy(&s1, w + 44 + 2 * i, 2);
    energy += s1 < 0 ? -s1 : s1;
  }
  DT_ASSERT_EQ_INT(s0, 0);
  DT_ASSERT(energy > 1000000);
  int64_t ms = 0;
  DT_ASSERT_EQ_INT(dt__emu_wav_duration(w, len, 0, &ms), 0);
  DT_ASSERT_EQ_INT(ms, 500);
  /* only the first bytes arrived (a ranged GET), the header still tells */
  DT_ASSERT_EQ_INT(dt__emu_wav_duration(w, 100, 0, &ms), 0);
  DT_ASSERT_EQ_INT(ms, 500);
  /* a streamed header (size 0xFFFFFFFF) uses the file's size */
  memset(w + 40, 0xff, 4);
  DT_ASSERT_EQ_INT(dt__emu_wav_duration(w, 100, len, &ms), 0);
  DT_ASSERT_EQ_INT(ms, 500);
  /* a size beyond the whole file is clamped to it */
  memset(w + 40, 0, 4);
  w[41] = 0x7f;
  DT_ASSERT_EQ_INT(dt__emu_wav_duration(w, len, len, &ms), 0);
  DT_ASSERT_EQ_INT(ms, 500);
  DT_ASSERT_EQ_INT(dt__emu_wav_duration("not a wav file at all", 21, 0, &ms), DT_EPARSE);
  DT_ASSERT_EQ_INT(dt__emu_wav_duration(w, 10, 0, &ms), DT_EPARSE);
  free(w);
  /* a LIST chunk before data (as many editors write) and a 16 kHz rate */
  unsigned char f[44 + 12 + 32000];
  memset(f, 0, sizeof f);
  memcpy(f, "RIFF", 4);
  memcpy(f + 8, "WAVEfmt ", 8);
  f[16] = 16;
  f[20] = 1;
  f[22] = 1;
  uint32_t rate = 16000, br = 32000;
  memcpy(f + 24, &rate, 4);
  memcpy(f + 28, &br, 4);
  f[32] = 2;
  f[34] = 16;
  memcpy(f + 36, "LIST", 4);
  f[40] = 4;
  memcpy(f + 44, "INFO", 4);
  memcpy(f + 48, "data", 4);
  uint32_t dl = 32000;
  memcpy(f + 52, &dl, 4);
  DT_ASSERT_EQ_INT(dt__emu_wav_duration(f, sizeof f, 0, &ms), 0);
  DT_ASSERT_EQ_INT(ms, 1000);
}

DT_TEST(prompt_names_and_tones) {
  char n[64];
  dt__emu_prompt_name("https://x.example/prompts/main_menu.wav?v=2", n, sizeof n);
  DT_ASSERT_EQ_STR(n, "main_menu");
  dt__emu_prompt_name("http://h/a.b/c", n, sizeof n);
  DT_ASSERT_EQ_STR(n, "c");
  dt__emu_prompt_name("welcome", n, sizeof n);
  DT_ASSERT_EQ_STR(n, "welcome");
  DT_ASSERT_EQ_INT(dt__emu_tone_char("tone7"), '7');
  DT_ASSERT_EQ_INT(dt__emu_tone_char("Pound"), '#');
  DT_ASSERT_EQ_INT(dt__emu_tone_char("star"), '*');
  DT_ASSERT_EQ_INT(dt__emu_tone_char("#"), '#');
  DT_ASSERT_EQ_INT(dt__emu_tone_char("b"), 'B');
  DT_ASSERT_EQ_INT(dt__emu_tone_char("tone10"), 0);
  DT_ASSERT_EQ_STR(dt__emu_tone_name('0'), "tone0");
  DT_ASSERT_EQ_STR(dt__emu_tone_name('#'), "pound");
  DT_ASSERT(dt__emu_tone_name('x') == NULL);
  /* the names the emulator sends are the ones the engine's parser reads */
  const char all[] = "0123456789*#ABCDF";
  for (const char *p = all; *p; p++) {
    DT_ASSERT_EQ_INT(dt_tone_from_name(dt__emu_tone_name(*p)), *p);
    DT_ASSERT_EQ_STR(dt__emu_tone_name(*p), dt_tone_name(*p));
  }
}

/* Prompt WAVs are fetched only from this machine unless --fetch-remote-prompts: the
   documents' https://cdn.contoso.com/... examples must never cause a DNS lookup. */
DT_TEST(only_loopback_prompt_urls_are_fetched_by_default) {
  DT_ASSERT(dt__emu_url_is_loopback("http://127.0.0.1:8080/prompts/welcome.wav"));
  DT_ASSERT(dt__emu_url_is_loopback("http://127.1.2.3/x.wav"));
  DT_ASSERT(dt__emu_url_is_loopback("https://localhost/x.wav"));
  DT_ASSERT(dt__emu_url_is_loopback("http://LOCALHOST:9/x.wav"));
  DT_ASSERT(dt__emu_url_is_loopback("http://[::1]:8080/x.wav"));
  DT_ASSERT(dt__emu_url_is_loopback("http://user:pw@127.0.0.1/x.wav"));
  DT_ASSERT(!dt__emu_url_is_loopback("https://cdn.contoso.com/beep.wav"));
  DT_ASSERT(!dt__emu_url_is_loopback("http://127.0.0.1.example.com/x.wav"));
  DT_ASSERT(!dt__emu_url_is_loopback("http://localhost.example.com/x.wav"));
  DT_ASSERT(!dt__emu_url_is_loopback("http://10.0.0.1/x.wav"));
  DT_ASSERT(!dt__emu_url_is_loopback("http://[::1].evil/x.wav"));
  DT_ASSERT(!dt__emu_url_is_loopback("not a url"));
}

DT_TEST(json_merge_validation_and_paths) {
  cJSON *o = cJSON_Parse("{\"a\":1}");
  dt__emu_json_merge(o, cJSON_Parse("{\"b\":\"x\",\"c\":[1]}"));
  dt__emu_json_merge(o, NULL);
  char *t = cJSON_PrintUnformatted(o);
  DT_ASSERT_EQ_STR(t, "{\"a\":1,\"b\":\"x\",\"c\":[1]}");
  free(t);
  cJSON_Delete(o);
  DT_ASSERT(dt__emu_valid_url("https://bot.example/cb"));
  DT_ASSERT(dt__emu_valid_url("HTTP://127.0.0.1:9/x"));
  DT_ASSERT(!dt__emu_valid_url("ftp://x"));
  DT_ASSERT(!dt__emu_valid_url(NULL));
  DT_ASSERT(dt__emu_valid_tones("0123456789*#ABCD"));
  DT_ASSERT(dt__emu_valid_tones(""));
  DT_ASSERT(!dt__emu_valid_tones("F"));
  DT_ASSERT(!dt__emu_valid_tones("9z"));
  const char *rest = NULL;
  DT_ASSERT(dt__emu_path_under("/emulator/calls", "/emulator", &rest));
  DT_ASSERT_EQ_STR(rest, "/calls");
  DT_ASSERT(dt__emu_path_under("/EMULATOR", "/emulator", &rest));
  DT_ASSERT_EQ_STR(rest, "");
  DT_ASSERT(!dt__emu_path_under("/emulatorx", "/emulator", &rest));
}

DT_TEST(paths_split_into_bounded_segments) {
  char seg[3][8];
  DT_ASSERT_EQ_INT(dt__emu_path_split("", (char *)seg, sizeof seg[0], 3), 0);
  DT_ASSERT_EQ_INT(dt__emu_path_split("///", (char *)seg, sizeof seg[0], 3), 0);
  DT_ASSERT_EQ_INT(dt__emu_path_split("/calls//abc/", (char *)seg, sizeof seg[0], 3), 2);
  DT_ASSERT_EQ_STR(seg[0], "calls");
  DT_ASSERT_EQ_STR(seg[1], "abc");
  DT_ASSERT_EQ_INT(dt__emu_path_split("a/b/1234567", (char *)seg, sizeof seg[0], 3), 3);
  DT_ASSERT_EQ_STR(seg[2], "1234567");
  DT_ASSERT_EQ_INT(dt__emu_path_split("a/b/12345678", (char *)seg, sizeof seg[0], 3), -1); /* too long */
  DT_ASSERT_EQ_INT(dt__emu_path_split("a/b/c/d", (char *)seg, sizeof seg[0], 3), -1);      /* too many */
}

DT_TEST_MAIN()
