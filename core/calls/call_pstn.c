/*
 * call_pstn.c — PSTN calls: what a call to a phone number carries.
 *
 * Graph places a call to a phone number only from an application instance with a number
 * assigned: the create-call request names it as source
 * (participantInfo.identity.applicationInstance {id, displayName}) with the tenant as
 * tenantId (graph_api.md §1.2, Example 7). Owns the registry's copy of the configured
 * instance (graph.application_instance_id / _name) and tenant, and fills them into a dial
 * to a phone number that names no source. Promises: never overrides what the caller set
 * (a per-dial source, a tenant, a guest join); nothing configured leaves the request as it
 * is, so Graph's refusal reaches the flow.
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/common.h"
#include "call_internal.h"

void dt__calls_pstn_init(dt_calls_t *r, const dt_calls_options_t *o) {
  bool set = o->application_instance_id && o->application_instance_id[0];
  r->pstn_instance_id = set ? dt_xstrdup(o->application_instance_id) : NULL;
  r->pstn_instance_name = set && o->application_instance_name && o->application_instance_name[0]
                              ? dt_xstrdup(o->application_instance_name)
                              : NULL;
  r->pstn_tenant_id = o->tenant_id && o->tenant_id[0] ? dt_xstrdup(o->tenant_id) : NULL;
  r->o.application_instance_id = r->pstn_instance_id;
  r->o.application_instance_name = r->pstn_instance_name;
  r->o.tenant_id = r->pstn_tenant_id;
}

void dt__calls_pstn_free(dt_calls_t *r) {
  free(r->pstn_instance_id);
  free(r->pstn_instance_name);
  free(r->pstn_tenant_id);
  r->pstn_instance_id = r->pstn_instance_name = r->pstn_tenant_id = NULL;
}

static bool dials_phone(const dt_graph_create_params_t *q) {
  for (size_t i = 0; q->targets && i < q->target_count; i++)
    if (q->targets[i].identity.kind && strcmp(q->targets[i].identity.kind, "phone") == 0) return true;
  return false;
}

void dt__calls_pstn_source(const dt_calls_t *r, dt_graph_create_params_t *q, dt_identity_t *src) {
  bool instance_source = q->source && q->source->kind && strcmp(q->source->kind, "applicationInstance") == 0;
  if (!dials_phone(q)) return;
  if (!q->source && !q->guest_display_name && !q->guest_id && r->pstn_instance_id) {
    *src = (dt_identity_t){.kind = "applicationInstance", .id = r->pstn_instance_id,
                           .display_name = r->pstn_instance_name};
    q->source = src;
    instance_source = true;
  }
  if (instance_source && !q->tenant_id) q->tenant_id = r->pstn_tenant_id;
}
