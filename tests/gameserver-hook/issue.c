/* The matchmaker's part of a connect, for the hook tests (issue.h). */
#include "issue.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

void hook_test_issue(sg_edgegap_client *api, sg_bucket *sessions, sg_bucket *tokens,
                     const char *deployment, const char *player_ip, uint64_t cid,
                     const sg_deployment_ref *dep, char *sid, size_t size)
{
    const char *ips[] = {player_ip};
    sg_edgegap_create_params p = {.app_name = "demo",
                                  .version_name = "v1",
                                  .ip_list = ips,
                                  .ip_count = 1,
                                  .deployment_request_id = deployment};
    sg_edgegap_request *req = NULL;
    assert_int_equal(sg_edgegap_request_create_session(&p, &req), SG_OK);
    sg_edgegap_result res;
    assert_int_equal(sg_edgegap_perform(api, req, &res), SG_OK);
    sg_edgegap_request_free(req);
    snprintf(sid, size, "%s", res.created->session_id);
    sg_edgegap_result_clear(&res);
    sg_session_record r;
    memset(&r, 0, sizeof r);
    snprintf(r.session_id, sizeof r.session_id, "%s", sid);
    r.state = SG_SESSION_UNCLAIMED;
    r.created_at = (long long)time(NULL) * 1000;
    r.claim_deadline = r.created_at + 60000;
    r.client_id = cid;
    snprintf(r.player_ip, sizeof r.player_ip, "%s", player_ip);
    if (dep) {
        r.has_deployment = true;
        r.deployment = *dep;
    }
    char *json = NULL;
    assert_int_equal(sg_session_to_json(&r, &json), SG_OK);
    assert_int_equal(sg_kv_put(sessions, sid, json, strlen(json), NULL), SG_OK);
    free(json);
    char key[24];
    sg_connect_token_key(cid, key, sizeof key);
    assert_int_equal(sg_kv_put(tokens, key, sid, strlen(sid), NULL), SG_OK);
}
