/*
 * test_call_pstn.c — core/calls/call_pstn.c: a dial to a phone number gets the configured
 * application instance as source and the tenant; what the caller set is never overridden;
 * nothing configured leaves the request alone.
 */
#include "harness/call_fixture.h"
#include "call_internal.h"
#include "harness/dt_test.h"

static dt_invitation_t k_phone = {.identity = {.kind = "phone", .id = "+15550142"}};
static dt_invitation_t k_user = {.identity = {.kind = "user", .id = "alice"}};

DT_TEST(a_phone_dial_gets_the_configured_instance_and_tenant) {
  call_fx_t f;
  dt_calls_options_t o = {.application_instance_id = "inst-1", .application_instance_name = "Front desk",
                          .tenant_id = "tenant-1"};
  fx_open(&f, &o, false);
  dt_graph_create_params_t q = {.targets = &k_phone, .target_count = 1};
  dt_identity_t src;
  dt__calls_pstn_source(f.reg, &q, &src);
  DT_ASSERT(q.source == &src);
  DT_ASSERT_EQ_STR(q.source->kind, "applicationInstance");
  DT_ASSERT_EQ_STR(q.source->id, "inst-1");
  DT_ASSERT_EQ_STR(q.source->display_name, "Front desk");
  DT_ASSERT_EQ_STR(q.tenant_id, "tenant-1");
  /* a call to a user is left as it is */
  dt_graph_create_params_t u = {.targets = &k_user, .target_count = 1};
  dt__calls_pstn_source(f.reg, &u, &src);
  DT_ASSERT(u.source == NULL && u.tenant_id == NULL);
  /* a per-dial instance wins; it still gets the tenant; a tenant given stays */
  dt_identity_t mine = {.kind = "applicationInstance", .id = "inst-2"};
  dt_graph_create_params_t m = {.targets = &k_phone, .target_count = 1, .source = &mine};
  dt__calls_pstn_source(f.reg, &m, &src);
  DT_ASSERT(m.source == &mine);
  DT_ASSERT_EQ_STR(m.tenant_id, "tenant-1");
  dt_graph_create_params_t t = {.targets = &k_phone, .target_count = 1, .tenant_id = "other"};
  dt__calls_pstn_source(f.reg, &t, &src);
  DT_ASSERT_EQ_STR(t.tenant_id, "other");
  /* a guest join names no source */
  dt_graph_create_params_t g = {.targets = &k_phone, .target_count = 1, .guest_display_name = "Guest"};
  dt__calls_pstn_source(f.reg, &g, &src);
  DT_ASSERT(g.source == NULL);
  free(fx_close(&f));
}

DT_TEST(nothing_configured_leaves_the_request_alone) {
  call_fx_t f;
  dt_calls_options_t o = {.tenant_id = "tenant-1", .application_instance_name = "ignored without an id"};
  fx_open(&f, &o, false);
  dt_graph_create_params_t q = {.targets = &k_phone, .target_count = 1};
  dt_identity_t src;
  dt__calls_pstn_source(f.reg, &q, &src);
  DT_ASSERT(q.source == NULL);
  DT_ASSERT(q.tenant_id == NULL);
  free(fx_close(&f));
}

DT_TEST_MAIN()
