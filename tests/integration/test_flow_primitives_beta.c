/* test_flow_primitives_beta.c — the primitive tests again, with the beta dialect (/app/calls, record). */
#define H_DIALECT DT_GRAPH_BETA
#include "integration/test_flow_primitives.c"
