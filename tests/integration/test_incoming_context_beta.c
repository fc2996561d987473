/* test_incoming_context_beta.c — the incoming context and recording status tests again, with the beta dialect (/app/calls). */
#define H_DIALECT DT_GRAPH_BETA
#include "integration/test_incoming_context.c"
