/*
 * The emulator's redirect outcomes, its PSTN rules and its strict mode (issue 12 points 5, 6
 * and 9), over real HTTP with a test bot in this process:
 *   - redirect: `updated` redirecting then `deleted` terminated; voicemail, forward and
 *     simultaneous ring as recorded in the timeline; masking; v1.0 refuses the beta-only
 *     parameters as OData refuses unknown ones;
 *   - a peer-to-peer call to a phone number needs source.identity.applicationInstance;
 *     a transfer to one needs a call of an application instance;
 *   - strict mode refuses an http:// callbackUri (Graph requires https), the default takes it.
 */
#include "harness/dt_test.h"
#include "harness/emu_harness.h"

#define INSTANCE "33333333-3333-3333-3333-333333333333"

static h_resp_t beta_action(harness_t *h, const char *id, const char *action, const char *body) {
  char path[256];
  snprintf(path, sizeof path, "/beta/communications/calls/%s/%s", id, action);
  return h_req(h, "POST", path, body, NULL, NULL);
}

/* The states the bot was told about call id, space-separated. */
static void states(harness_t *h, const char *id, char *out, size_t len) {
  out[0] = '\0';
  for (int i = 0; i < h->nnotes; i++) {
    if (!strstr(h_note_resource(&h->notes[i]), id) || strstr(h_note_resource(&h->notes[i]), "/operations/")) continue;
    const char *st = h_json_str(h_note_data(&h->notes[i]), "state");
    size_t n = strlen(out);
    snprintf(out + n, len - n, "%s%s:%s", n ? " " : "", h_note_change(&h->notes[i]), st ? st : "-");
  }
}

static const cJSON *target_entry(const cJSON *redirect, const char *desc) {
  const cJSON *t;
  cJSON_ArrayForEach(t, cJSON_GetObjectItem(redirect, "targets"))
    if (strcmp(h_json_str(t, "target"), desc) == 0) return t;
  return NULL;
}

DT_TEST(redirect_to_voicemail_ends_the_call_through_redirecting) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  char *id = h_place(&h, NULL);
  DT_ASSERT(id != NULL);
  DT_ASSERT(h_wait_note(&h, id, "created", NULL, NULL, 0) >= 0);
  /* the user's voicemail: the party's own behaviour (busy) does not matter */
  h_resp_t r = h_req(&h, "PUT", "/emulator/parties/bob", "{\"behaviour\":\"busy\"}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  h_resp_free(&r);
  r = h_action(&h, id, "redirect",
               "{\"targets\":[{\"@odata.type\":\"#microsoft.graph.invitationParticipantInfo\",\"endpointType\":"
               "\"voicemail\",\"identity\":{\"user\":{\"id\":\"bob\"}}}]}");
  DT_ASSERT_EQ_INT(r.status, 202);
  h_resp_free(&r);
  int d = h_wait_note(&h, id, "deleted", "terminated", NULL, 0);
  DT_ASSERT(d >= 0);
  const cJSON *ri = cJSON_GetObjectItem(h_note_data(&h.notes[d]), "resultInfo");
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(ri, "code")->valuedouble, 0);
  DT_ASSERT_EQ_STR(h_json_str(ri, "message"), "Call redirected to voicemail.");
  char seq[256];
  states(&h, id, seq, sizeof seq);
  DT_ASSERT_EQ_STR(seq, "created:incoming updated:redirecting deleted:terminated");
  cJSON *tl = h_timeline(&h, id);
  const cJSON *rd = h_tl_find(tl, "redirect", NULL, NULL);
  DT_ASSERT(rd != NULL);
  DT_ASSERT_EQ_STR(h_json_str(rd, "disposition"), "forward");
  DT_ASSERT_EQ_STR(h_json_str(rd, "connected"), "user:bob");
  const cJSON *t = target_entry(rd, "user:bob");
  DT_ASSERT(t != NULL);
  DT_ASSERT_EQ_STR(h_json_str(t, "endpoint"), "voicemail");
  DT_ASSERT_EQ_STR(h_json_str(t, "outcome"), "voicemail");
  DT_ASSERT_EQ_INT(cJSON_GetObjectItem(rd, "timeout_ms")->valuedouble, 55000); /* Graph's default, one target */
  DT_ASSERT(h_tl_find(tl, "state", "state", "redirecting") != NULL);
  cJSON_Delete(tl);
  free(id);
  h_stop(&h);
}

DT_TEST(simultaneous_ring_connects_the_first_to_pick_up_and_masks) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  h_resp_t r = h_req(&h, "PUT", "/emulator/parties/slow", "{\"behaviour\":\"answer\",\"answer_delay_ms\":9000}", "", NULL);
  h_resp_free(&r);
  r = h_req(&h, "PUT", "/emulator/parties/fast", "{\"behaviour\":\"answer\",\"answer_delay_ms\":1000}", "", NULL);
  h_resp_free(&r);
  r = h_req(&h, "PUT", "/emulator/parties/away", "{\"behaviour\":\"noanswer\"}", "", NULL);
  h_resp_free(&r);
  char *id = h_place(&h, "{\"from\":{\"phone\":\"+15550100\"}}");
  DT_ASSERT(id != NULL);
  r = beta_action(&h, id, "redirect",
                  "{\"targets\":[{\"identity\":{\"user\":{\"id\":\"slow\"}}},{\"identity\":{\"user\":{\"id\":\"fast\"}}},"
                  "{\"identity\":{\"user\":{\"id\":\"away\"}}}],\"targetDisposition\":\"simultaneousRing\","
                  "\"maskCaller\":true,\"maskCallee\":true,\"timeout\":20}");
  DT_ASSERT_EQ_INT(r.status, 202);
  h_resp_free(&r);
  int d = h_wait_note(&h, id, "deleted", "terminated", NULL, 0);
  DT_ASSERT(d >= 0);
  DT_ASSERT_EQ_STR(h_json_str(cJSON_GetObjectItem(h_note_data(&h.notes[d]), "resultInfo"), "message"),
                   "Call redirected.");
  cJSON *tl = h_timeline(&h, id);
  const cJSON *rd = h_tl_find(tl, "redirect", NULL, NULL);
  DT_ASSERT(rd != NULL);
  DT_ASSERT_EQ_STR(h_json_str(rd, "disposition"), "simultaneousRing");
  DT_ASSERT_EQ_STR(h_json_str(rd, "target_disposition"), "simultaneousRing");
  DT_ASSERT_EQ_STR(h_json_str(rd, "connected"), "user:fast");
  DT_ASSERT_EQ_STR(h_json_str(target_entry(rd, "user:slow"), "outcome"), "stopped_ringing");
  DT_ASSERT_EQ_STR(h_json_str(target_entry(rd, "user:away"), "outcome"), "no_answer");
  /* masked both ways: each side sees the bot */
  char bot[96];
  snprintf(bot, sizeof bot, "application:%s", DT_EMULATOR_DEFAULT_APP_ID);
  DT_ASSERT_EQ_STR(h_json_str(rd, "caller_shown_as"), bot);
  DT_ASSERT_EQ_STR(h_json_str(rd, "callee_shown_as"), bot);
  cJSON_Delete(tl);
  free(id);

  /* unmasked forward to a party slower than the timeout: nobody is connected */
  r = h_req(&h, "PUT", "/emulator/parties/slow", "{\"behaviour\":\"answer\",\"answer_delay_ms\":30000}", "", NULL);
  h_resp_free(&r);
  id = h_place(&h, "{\"from\":{\"phone\":\"+15550100\"}}");
  r = beta_action(&h, id, "redirect",
                  "{\"targets\":[{\"identity\":{\"user\":{\"id\":\"slow\"}}}],\"targetDisposition\":\"forward\",\"timeout\":15}");
  DT_ASSERT_EQ_INT(r.status, 202);
  h_resp_free(&r);
  DT_ASSERT(h_wait_note(&h, id, "deleted", "terminated", NULL, 0) >= 0);
  tl = h_timeline(&h, id);
  rd = h_tl_find(tl, "redirect", NULL, NULL);
  DT_ASSERT(cJSON_IsNull(cJSON_GetObjectItem(rd, "connected")));
  DT_ASSERT_EQ_STR(h_json_str(target_entry(rd, "user:slow"), "outcome"), "no_answer");
  DT_ASSERT_EQ_STR(h_json_str(rd, "caller_shown_as"), "phone:+15550100");
  cJSON_Delete(tl);
  free(id);
  h_stop(&h);
}

DT_TEST(v1_refuses_beta_only_redirect_parameters) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  char *id = h_place(&h, NULL);
  const char *bodies[] = {
      "{\"targets\":[{\"identity\":{\"user\":{\"id\":\"u\"}}}],\"maskCallee\":true}",
      "{\"targets\":[{\"identity\":{\"user\":{\"id\":\"u\"}}}],\"targetDisposition\":\"forward\"}",
  };
  for (size_t i = 0; i < 2; i++) {
    h_resp_t r = h_action(&h, id, "redirect", bodies[i]);
    DT_ASSERT_EQ_INT(r.status, 400);
    DT_ASSERT_EQ_STR(h_json_str(cJSON_GetObjectItem(r.json, "error"), "code"), "BadRequest");
    DT_ASSERT(strstr(h_json_str(cJSON_GetObjectItem(r.json, "error"), "message"), "not a valid parameter") != NULL);
    h_resp_free(&r);
  }
  /* beta: a bad disposition is refused, the call is still incoming */
  h_resp_t r = beta_action(&h, id, "redirect", "{\"targets\":[{\"identity\":{\"user\":{\"id\":\"u\"}}}],\"targetDisposition\":\"sideways\"}");
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  r = h_req(&h, "GET", "/emulator/calls", NULL, "", NULL);
  DT_ASSERT(r.body && strstr(r.body, "\"state\":\"incoming\"") != NULL);
  h_resp_free(&r);
  free(id);
  h_stop(&h);
}

static h_resp_t create_p2p(harness_t *h, const char *target, const char *source) {
  return h_reqf(h, "POST", "/v1.0/communications/calls",
                "{\"callbackUri\":\"%s\",\"targets\":[{\"identity\":%s}],\"requestedModalities\":[\"audio\"],"
                "\"mediaConfig\":{\"@odata.type\":\"#microsoft.graph.serviceHostedMediaConfig\"}%s%s%s}",
                h->bot_url, target, source ? ",\"source\":" : "", source ? source : "",
                source ? ",\"tenantId\":\"" DT_EMULATOR_DEFAULT_TENANT_ID "\"" : "");
}

DT_TEST(pstn_needs_an_application_instance) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  const char *phone = "{\"phone\":{\"id\":\"+12345678901\"}}";
  /* no source, or the application itself: refused with Graph's error shape */
  h_resp_t r = create_p2p(&h, phone, NULL);
  DT_ASSERT_EQ_INT(r.status, 400);
  const cJSON *err = cJSON_GetObjectItem(r.json, "error");
  DT_ASSERT_EQ_STR(h_json_str(err, "code"), "BadRequest");
  DT_ASSERT(strstr(h_json_str(err, "message"), "applicationInstance") != NULL);
  DT_ASSERT(cJSON_GetObjectItem(err, "innerError") != NULL);
  h_resp_free(&r);
  r = create_p2p(&h, phone, "{\"identity\":{\"application\":{\"id\":\"" DT_EMULATOR_DEFAULT_APP_ID "\"}}}");
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  r = h_req(&h, "GET", "/emulator/calls", NULL, "", NULL);
  DT_ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "calls")), 0); /* nothing was created */
  h_resp_free(&r);
  /* Example 7's shape: source applicationInstance {displayName, id} and tenantId: 201 */
  r = create_p2p(&h, phone, "{\"@odata.type\":\"#microsoft.graph.participantInfo\",\"identity\":{\"applicationInstance\":"
                            "{\"displayName\":\"Front desk\",\"id\":\"" INSTANCE "\"}}}");
  DT_ASSERT_EQ_INT(r.status, 201);
  char *out = dt_xstrdup(h_json_str(r.json, "id"));
  h_resp_free(&r);
  DT_ASSERT(h_wait_note(&h, out, "updated", "established", NULL, 0) >= 0);
  /* a call of the application instance may be transferred to a phone number */
  r = h_action(&h, out, "transfer", "{\"transferTarget\":{\"identity\":{\"phone\":{\"id\":\"+12345678902\"}}}}");
  DT_ASSERT_EQ_INT(r.status, 202);
  h_resp_free(&r);
  DT_ASSERT(h_wait_note(&h, out, "deleted", "terminated", NULL, 0) >= 0);
  /* a user target needs no instance */
  r = create_p2p(&h, "{\"user\":{\"id\":\"alice\"}}", NULL);
  DT_ASSERT_EQ_INT(r.status, 201);
  h_resp_free(&r);
  /* an incoming call to the bot's application: no transfer to a phone number (call-answer.md's
     PSTN matrix); to a user it goes */
  char *in = h_place(&h, NULL);
  DT_ASSERT(in && h_answer(&h, in));
  r = h_action(&h, in, "transfer", "{\"transferTarget\":{\"identity\":{\"phone\":{\"id\":\"+12345678902\"}}}}");
  DT_ASSERT_EQ_INT(r.status, 400);
  DT_ASSERT(strstr(h_json_str(cJSON_GetObjectItem(r.json, "error"), "message"), "application instance") != NULL);
  h_resp_free(&r);
  r = h_action(&h, in, "transfer", "{\"transferTarget\":{\"identity\":{\"user\":{\"id\":\"carol\"}}}}");
  DT_ASSERT_EQ_INT(r.status, 202);
  h_resp_free(&r);
  free(in);
  free(out);
  h_stop(&h);
}

DT_TEST(strict_mode_refuses_http_callbacks) {
  harness_t h;
  DT_ASSERT(h_start(&h, 0, NULL));
  DT_ASSERT(h_get_token(&h));
  /* default: an http callback works (loopback bots) */
  char *a = h_place(&h, NULL);
  DT_ASSERT(a && h_answer(&h, a));
  h_resp_t r = h_req(&h, "GET", "/emulator/config", NULL, "", NULL);
  DT_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "strict")));
  h_resp_free(&r);
  r = h_req(&h, "POST", "/emulator/config", "{\"strict\":\"yes\"}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  r = h_req(&h, "POST", "/emulator/config", "{\"strict\":true}", "", NULL);
  DT_ASSERT_EQ_INT(r.status, 200);
  DT_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "strict")));
  h_resp_free(&r);
  /* strict: answer, redirect and create with http:// are refused, https:// is taken */
  char *b = h_place(&h, NULL);
  DT_ASSERT(b != NULL);
  char body[512];
  snprintf(body, sizeof body,
           "{\"callbackUri\":\"%s\",\"acceptedModalities\":[\"audio\"],\"mediaConfig\":"
           "{\"@odata.type\":\"#microsoft.graph.serviceHostedMediaConfig\"}}", h.bot_url);
  r = h_action(&h, b, "answer", body);
  DT_ASSERT_EQ_INT(r.status, 400);
  DT_ASSERT(strstr(h_json_str(cJSON_GetObjectItem(r.json, "error"), "message"), "https") != NULL);
  h_resp_free(&r);
  r = h_action(&h, b, "redirect", "{\"targets\":[{\"identity\":{\"user\":{\"id\":\"u\"}}}],\"callbackUri\":\"http://bot.example/cb\"}");
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  r = create_p2p(&h, "{\"user\":{\"id\":\"alice\"}}", NULL);
  DT_ASSERT_EQ_INT(r.status, 400);
  h_resp_free(&r);
  r = h_action(&h, b, "reject", "{\"reason\":\"busy\",\"callbackUri\":\"https://bot.example/cb\"}");
  DT_ASSERT_EQ_INT(r.status, 202);
  h_resp_free(&r);
  free(a);
  free(b);
  h_stop(&h);
}

DT_TEST(strict_option_at_start) {
  harness_t h;
  dt_emulator_options_t o;
  dt_emulator_options_init(&o);
  o.strict = 1;
  DT_ASSERT(h_start(&h, 0, &o));
  DT_ASSERT(h_get_token(&h));
  h_resp_t r = h_req(&h, "GET", "/emulator/config", NULL, "", NULL);
  DT_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "strict")));
  h_resp_free(&r);
  h_stop(&h);
}

DT_TEST_MAIN()
