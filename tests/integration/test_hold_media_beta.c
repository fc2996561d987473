/* test_hold_media_beta.c — the hold and media tests again, with the beta dialect. */
#define H_DIALECT DT_GRAPH_BETA
#include "integration/test_hold_media.c"
