/* test_flow_semantics_beta.c — the semantics tests again, with the beta dialect. */
#define H_DIALECT DT_GRAPH_BETA
#include "integration/test_flow_semantics.c"
