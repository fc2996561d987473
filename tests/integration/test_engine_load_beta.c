/* test_engine_load_beta.c — the 1,000-call demo run again with the beta dialect (/app/calls, record). */
#define H_DIALECT DT_GRAPH_BETA
#include "integration/test_engine_load.c"
