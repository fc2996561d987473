/*
 * test_flow_redirect_pstn.c — call:redirect's options and PSTN dials end to end (issue 12
 * points 5 and 6): the engine against the emulator over loopback HTTP. Built twice: as is
 * (v1.0) and included by test_flow_redirect_pstn_beta.c (beta), where the beta-only redirect
 * parameters go through instead of being refused by the flow.
 */
#include "harness/dt_test.h"
#include "harness/engine_harness.h"

#define FLOW_TEST(name) H_TEST(name, .time_scale = 0)

static const cJSON *tl_entry(const cJSON *tl, const char *kind) {
  const cJSON *e;
  cJSON_ArrayForEach(e, tl) if (strcmp(h_str(e, "kind"), kind) == 0) return e;
  return NULL;
}

FLOW_TEST(redirect_to_a_users_voicemail) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  call:redirect{voicemail = {user = 'bob-id'}}\n"
                          "  dialtone.log('info', 'NOTREACHED')\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "redirected"));
  cJSON_Delete(cdr);
  DT_ASSERT(!h_log_has(&H, "NOTREACHED"));
  cJSON *tl = h_timeline(&H, id);
  const cJSON *rd = tl_entry(tl, "redirect");
  DT_ASSERT(rd != NULL);
  DT_ASSERT_EQ_STR(h_str(rd, "connected"), "user:bob-id");
  const cJSON *t0 = cJSON_GetArrayItem(cJSON_GetObjectItem(rd, "targets"), 0);
  DT_ASSERT_EQ_STR(h_str(t0, "endpoint"), "voicemail"); /* the engine sent endpointType voicemail */
  DT_ASSERT_EQ_STR(h_str(t0, "outcome"), "voicemail");
  DT_ASSERT(h_count(tl, "state", "state", "redirecting") == 1);
  const cJSON *end = tl_entry(tl, "ended");
  DT_ASSERT_EQ_STR(h_str(end, "message"), "Call redirected to voicemail.");
  cJSON_Delete(tl);
}

/* simultaneous ring with masking: beta sends targetDisposition and maskCaller; v1.0 has no
   such parameters, so the flow gets a clear error and the call is still incoming. */
FLOW_TEST(redirect_simultaneous_ring_and_masking) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  local ok, err = pcall(call.redirect, call, {targets = {{user = 'a-id'}, {user = 'b-id'}},\n"
                          "                        disposition = 'simultaneous_ring', mask_caller = true, timeout = 30})\n"
                          "  dialtone.log('info', 'REDIRECT', ok, tostring(err))\n"
                          "  call:reject{}\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  cJSON *tl = h_timeline(&H, id);
  if (H_DIALECT == DT_GRAPH_BETA) {
    DT_ASSERT(h_outcome_is(cdr, "redirected"));
    const cJSON *rd = tl_entry(tl, "redirect");
    DT_ASSERT(rd != NULL);
    DT_ASSERT_EQ_STR(h_str(rd, "disposition"), "simultaneousRing");
    DT_ASSERT_EQ_STR(h_str(rd, "target_disposition"), "simultaneousRing");
    DT_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(rd, "mask_caller")));
    DT_ASSERT_EQ_INT(cJSON_GetObjectItem(rd, "timeout_ms")->valuedouble, 30000);
    DT_ASSERT_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItem(rd, "targets")), 2);
  } else {
    DT_ASSERT(h_outcome_is(cdr, "rejected"));
    DT_ASSERT(h_log_has(&H, "REDIRECT false"));
    DT_ASSERT(h_log_has(&H, "need the beta dialect"));
    DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "redirect"), 0); /* nothing was sent */
  }
  cJSON_Delete(cdr);
  cJSON_Delete(tl);
}

FLOW_TEST(redirect_refuses_bad_options) {
  DT_ASSERT_EQ_INT(h_flow(&H, "main",
                          "return function(call)\n"
                          "  local bad = {\n"
                          "    {targets = {{user = 'a'}, {user = 'b'}}, disposition = 'forward'},\n"
                          "    {targets = {user = 'a'}, voicemail = {user = 'a'}},\n"
                          "    {targets = {user = 'a'}, disposition = 'sideways'},\n"
                          "    {targets = {user = 'a'}, mask_callee = 'yes'},\n"
                          "    {timeout = 20},\n"
                          "  }\n"
                          "  for i, o in ipairs(bad) do\n"
                          "    local ok, err = pcall(call.redirect, call, o)\n"
                          "    dialtone.log('info', 'BAD' .. i, ok, tostring(err))\n"
                          "  end\n"
                          "  call:reject{}\n"
                          "end\n"),
                   0);
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  DT_ASSERT(cdr != NULL);
  DT_ASSERT(h_outcome_is(cdr, "rejected"));
  cJSON_Delete(cdr);
  DT_ASSERT(h_log_has(&H, "BAD1 false") && h_log_has(&H, "takes one target"));
  DT_ASSERT(h_log_has(&H, "BAD2 false") && h_log_has(&H, "not both"));
  DT_ASSERT(h_log_has(&H, "BAD3 false") && h_log_has(&H, "disposition must be"));
  DT_ASSERT(h_log_has(&H, "BAD4 false") && h_log_has(&H, "must be a boolean"));
  DT_ASSERT(h_log_has(&H, "BAD5 false") && h_log_has(&H, "targets is required"));
  cJSON *tl = h_timeline(&H, id);
  DT_ASSERT_EQ_INT(h_count(tl, "request", "action", "redirect"), 0);
  cJSON_Delete(tl);
}

static const char CALLEE[] = "return function(call) dialtone.log('info', 'CALLEE up', call.to) call:hangup() end\n";
static const char DIALER[] =
    "return function(call)\n"
    "  call:answer()\n"
    "  local ok, err = pcall(dialtone.dial, {targets = {{phone = '+15550142'}}, flow = 'callee'})\n"
    "  dialtone.log('info', 'DIAL', ok, ok and '' or tostring(err))\n"
    "  call:sleep(0.5)\n"
    "  call:hangup()\n"
    "end\n";

/* The outgoing call the emulator holds (its resource as Graph's GET shows it). */
static cJSON *outgoing_resource(void) {
  char url[512];
  snprintf(url, sizeof url, "%s/emulator/calls", H.emu_url);
  cJSON *all = h_http_json(&H, "GET", url, NULL, NULL);
  const cJSON *c;
  char id[128] = "";
  cJSON_ArrayForEach(c, cJSON_GetObjectItem(all, "calls"))
    if (strcmp(h_str(c, "direction"), "outgoing") == 0) snprintf(id, sizeof id, "%s", h_str(c, "id"));
  cJSON_Delete(all);
  if (!id[0]) return NULL;
  snprintf(url, sizeof url, "%s/emulator/calls/%.200s", H.emu_url, id);
  cJSON *one = h_http_json(&H, "GET", url, NULL, NULL);
  cJSON *res = cJSON_DetachItemFromObjectCaseSensitive(one, "resource");
  cJSON_Delete(one);
  return res;
}

/* Runs one incoming call whose flow (main) dials the callee flow. */
static bool run_dialer(const char *main) {
  if (h_flow(&H, "callee", CALLEE) != 0 || h_flow(&H, "main", main) != 0) return false;
  char id[128];
  cJSON *cdr = h_run_call(NULL, id);
  bool ok = cdr != NULL;
  cJSON_Delete(cdr);
  return ok;
}

/* The outgoing call's source.identity.applicationInstance (resource kept in *res). */
static const cJSON *instance_of(cJSON *res) {
  return cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(res, "source"), "identity"),
                             "applicationInstance");
}

/* graph.application_instance_id: a dial to a phone number carries it as source, with the
   tenant, and the emulator places the call. */
H_TEST(pstn_dial_carries_the_configured_instance, .time_scale = 0, .application_instance_id = "inst-cfg",
       .application_instance_name = "Front desk") {
  DT_ASSERT(run_dialer(DIALER));
  DT_ASSERT(h_log_has(&H, "DIAL true"));
  cJSON *res = outgoing_resource();
  DT_ASSERT(res != NULL);
  const cJSON *ai = instance_of(res);
  DT_ASSERT_EQ_STR(h_str(ai, "id"), "inst-cfg");
  DT_ASSERT_EQ_STR(h_str(ai, "displayName"), "Front desk");
  DT_ASSERT_EQ_STR(h_str(res, "tenantId"), DT_EMULATOR_DEFAULT_TENANT_ID);
  cJSON_Delete(res);
}

/* Nothing configured: the emulator refuses the call as Graph does, and the flow is told. */
FLOW_TEST(pstn_dial_without_an_instance_is_refused) {
  DT_ASSERT(run_dialer(DIALER));
  DT_ASSERT(h_log_has(&H, "DIAL false"));
  DT_ASSERT(!h_log_has(&H, "CALLEE up"));
  cJSON *res = outgoing_resource();
  DT_ASSERT(res == NULL);
}

/* The per-dial option overrides the configuration. */
H_TEST(pstn_dial_option_overrides_the_config, .time_scale = 0, .application_instance_id = "inst-cfg") {
  DT_ASSERT(run_dialer("return function(call)\n"
                          "  call:answer()\n"
                          "  local ok = pcall(dialtone.dial, {targets = {{phone = '+15550142'}}, flow = 'callee',\n"
                          "                   application_instance = {id = 'inst-2', name = 'Clinic'}})\n"
                          "  local bad, err = pcall(dialtone.dial, {targets = {{phone = '+1555'}}, flow = 'callee',\n"
                          "                   application_instance = {name = 'no id'}})\n"
                          "  dialtone.log('info', 'DIAL', ok, bad, tostring(err))\n"
                          "  call:sleep(0.5)\n"
                          "  call:hangup()\n"
                          "end\n"));
  DT_ASSERT(h_log_has(&H, "DIAL true false"));
  DT_ASSERT(h_log_has(&H, "application_instance needs an id"));
  cJSON *res = outgoing_resource();
  DT_ASSERT(res != NULL);
  const cJSON *ai = instance_of(res);
  DT_ASSERT_EQ_STR(h_str(ai, "id"), "inst-2");
  DT_ASSERT_EQ_STR(h_str(ai, "displayName"), "Clinic");
  cJSON_Delete(res);
}

DT_TEST_MAIN()
