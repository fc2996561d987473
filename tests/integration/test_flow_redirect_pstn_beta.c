/* test_flow_redirect_pstn_beta.c — the redirect and PSTN flow tests again, with the beta dialect. */
#define H_DIALECT DT_GRAPH_BETA
#include "integration/test_flow_redirect_pstn.c"
