/* Shared by the simulator test groups (sim_test_*.c): the running simulator of the group,
 * the paths given on the command line, and helpers that assert as they go (cmocka). */
#ifndef SEATGATE_SIM_TEST_H
#define SEATGATE_SIM_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sim_test_util.h"

extern const char *g_bin, *g_test_config, *g_example_config;
extern char *g_config_text;
extern sim_proc g_sim; /* the group's simulator, started with test-config.json */

char *read_file(const char *path);
int start_group(const char *const *extra);
int setup_plain(void **state);
int teardown(void **state); /* stops the simulator; fails unless it exits 0 */
void assert_error_body(const http_resp *r, long status);
/* POSTs a session for app "game" / version with one player IP (plus extra JSON members). */
void create(const char *version, const char *extra_json, char *id_out, size_t size);
void get_session(const char *id, http_resp *r);
long delete_session(const char *id);
double state_num(const char *path);       /* a number from /_sim/state */
cJSON *state_deployment(const char *rid); /* its /_sim/state entry (caller frees) */
void wait_status(const char *id, const char *status, http_resp *r);
bool matches(const char *re, const char *s);
cJSON *sink_entry(const char *id); /* waits for a /_sim/webhook-sink body about a session */

int sim_tests_api(void);
int sim_tests_lifecycle(void);
int sim_tests_faults(void);

#endif
