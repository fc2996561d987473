/*
 * call_identity.c — identities in Graph's JSON: the short text of an identity set
 * ("+1555…", "user:ID"), the ids it names (for routing), an invitation's text, and the
 * participants list a flow sees. Pure: no call, no registry.
 */
#include <stdlib.h>
#include <string.h>
#include "dialtone/call.h"
#include "dialtone/common.h"
#include "dialtone/error.h"
#include "dialtone/log.h"
#include "call_internal.h"

static const char *const ID_KINDS[] = {"phone", "user", "applicationInstance", "application",
                                       "guest", "device", "acsUser", "spoolUser", "encrypted",
                                       "onPremises"};

/* The flow API's name of each kind: Graph's camelCase as snake_case. */
static const char *const FLOW_KINDS[] = {"phone", "user", "application_instance", "application",
                                         "guest", "device", "acs_user", "spool_user", "encrypted",
                                         "on_premises"};

/* The first kind the set names (its index in ID_KINDS, or -1) and that kind's identity. */
static int first_kind(const cJSON *set, const cJSON **ident) {
  for (size_t i = 0; cJSON_IsObject(set) && i < DT_ARRAY_SIZE(ID_KINDS); i++) {
    *ident = cJSON_GetObjectItemCaseSensitive(set, ID_KINDS[i]);
    if (cJSON_IsObject(*ident)) return (int)i;
  }
  return -1;
}

static const char *str_of(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* "user:ID", "+1555…" for phones, NULL if the set names nobody. Caller frees. */
char *dt__call_identity_text(const cJSON *set) {
  const cJSON *o;
  int i = first_kind(set, &o);
  if (i < 0) return NULL;
  const char *id = str_of(o, "id"), *name = str_of(o, "displayName");
  const char *v = id ? id : name ? name : "";
  if (i == 0) return dt_xstrdup(v);
  return dt_xasprintf("%s:%s", ID_KINDS[i], v);
}

cJSON *dt__call_identity_flow(const cJSON *set) {
  const cJSON *o;
  int i = first_kind(set, &o);
  if (i < 0) return NULL;
  const char *id = str_of(o, "id"), *name = str_of(o, "displayName"), *tenant = str_of(o, "tenantId");
  cJSON *out = cJSON_CreateObject();
  /* a guest has no id, only a name: the flow API writes it {guest = "Name"} */
  const char *v = id && id[0] ? id : name;
  cJSON_AddStringToObject(out, FLOW_KINDS[i], v && strlen(v) <= 1024 ? v : "");
  if (name && name[0] && strlen(name) <= 1024) cJSON_AddStringToObject(out, "name", name);
  if (tenant && tenant[0] && strlen(tenant) <= 256) cJSON_AddStringToObject(out, "tenant", tenant);
  return out;
}

char *dt__call_invitation_text(const dt_identity_t *id) {
  if (!id || !id->kind) return NULL;
  if (strcmp(id->kind, "phone") == 0) return dt_xstrdup(id->id ? id->id : "");
  return dt_xasprintf("%s:%s", id->kind, id->id ? id->id : (id->display_name ? id->display_name : ""));
}

cJSON *dt__call_participants_json(const cJSON *body) {
  cJSON *out = cJSON_CreateArray();
  /* a GET's {"value": [...]}, or a roster notification's array itself */
  const cJSON *value = cJSON_IsArray(body) ? body : cJSON_IsObject(body) ? cJSON_GetObjectItemCaseSensitive(body, "value") : NULL;
  const cJSON *p;
  cJSON_ArrayForEach(p, value) {
    if (!cJSON_IsObject(p)) continue;
    cJSON *o = cJSON_CreateObject();
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "id");
    if (cJSON_IsString(id)) cJSON_AddStringToObject(o, "id", id->valuestring);
    const cJSON *info = cJSON_GetObjectItemCaseSensitive(p, "info");
    const cJSON *set = cJSON_IsObject(info) ? cJSON_GetObjectItemCaseSensitive(info, "identity") : NULL;
    for (size_t i = 0; cJSON_IsObject(set) && i < DT_ARRAY_SIZE(ID_KINDS); i++) {
      const cJSON *ident = cJSON_GetObjectItemCaseSensitive(set, ID_KINDS[i]);
      if (!cJSON_IsObject(ident)) continue;
      const cJSON *iid = cJSON_GetObjectItemCaseSensitive(ident, "id");
      const cJSON *name = cJSON_GetObjectItemCaseSensitive(ident, "displayName");
      cJSON_AddStringToObject(o, ID_KINDS[i], cJSON_IsString(iid) ? iid->valuestring : "");
      if (cJSON_IsString(name)) cJSON_AddStringToObject(o, "name", name->valuestring);
      break;
    }
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(p, "isMuted");
    cJSON_AddBoolToObject(o, "muted", cJSON_IsTrue(m));
    m = cJSON_GetObjectItemCaseSensitive(p, "isInLobby");
    cJSON_AddBoolToObject(o, "in_lobby", cJSON_IsTrue(m));
    cJSON_AddItemToArray(out, o);
  }
  return out;
}

size_t dt__call_identity_ids(const cJSON *set, const char **ids, size_t n, size_t max) {
  for (size_t i = 0; cJSON_IsObject(set) && i < DT_ARRAY_SIZE(ID_KINDS) && n < max; i++) {
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(set, ID_KINDS[i]);
    const cJSON *id = cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, "id") : NULL;
    if (cJSON_IsString(id)) ids[n++] = id->valuestring;
  }
  return n;
}
