/* Fault injection (errors, latency, hangs, bursts, forced 429s) and the per-organisation
 * token bucket. Settings change at run time through /_sim/faults; a JSON update is checked
 * whole before any of it applies. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sim.h"

#define MAX_BUCKETS 64

typedef struct bucket {
    unsigned char key[32];
    double tokens;
    long long last_ms;
} bucket;

struct sim_faults {
    pthread_mutex_t mu;
    sim_fault_settings s;
    double rps, burst;
    bucket buckets[MAX_BUCKETS];
    size_t n_buckets;
    long long injected, forced_429, rate_limited, lost_answers, delayed_answers;
};

sim_faults *sim_faults_new(const sim_fault_settings *initial, double rate_rps, double rate_burst)
{
    sim_faults *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    pthread_mutex_init(&f->mu, NULL);
    if (initial) f->s = *initial;
    if (f->s.retry_after_s <= 0) f->s.retry_after_s = 1;
    if (f->s.burst_status == 0) f->s.burst_status = 503;
    f->rps = rate_rps;
    f->burst = rate_burst > 0 ? rate_burst : (rate_rps > 1 ? rate_rps : 1);
    return f;
}

void sim_faults_free(sim_faults *f)
{
    if (!f) return;
    pthread_mutex_destroy(&f->mu);
    free(f);
}

static bool num_in(const cJSON *v, double lo, double hi, bool integer)
{
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) return false;
    if (v->valuedouble < lo || v->valuedouble > hi) return false;
    return !integer || v->valuedouble == floor(v->valuedouble);
}

sg_status sim_faults_update(sim_faults *f, const cJSON *obj)
{
    if (!cJSON_IsObject(obj)) return sg_fail(SG_E_INVALID, "expected a JSON object");
    pthread_mutex_lock(&f->mu);
    sim_fault_settings s = f->s;
    double rps = f->rps, burst = f->burst;
    sg_status st = SG_OK;
    const cJSON *e;
    cJSON_ArrayForEach(e, obj)
    {
        const char *k = e->string ? e->string : "";
        if (!strcmp(k, "error_rate") && num_in(e, 0, 1, false))
            s.error_rate = e->valuedouble;
        else if (!strcmp(k, "error_status") && (num_in(e, 500, 599, true) || num_in(e, 0, 0, true)))
            s.error_status = e->valueint;
        else if (!strcmp(k, "latency_ms") && num_in(e, 0, 600000, true))
            s.latency_ms = (long long)e->valuedouble;
        else if (!strcmp(k, "hang") && cJSON_IsBool(e))
            s.hang = cJSON_IsTrue(e);
        else if (!strcmp(k, "burst") && num_in(e, 0, 1e9, true))
            s.burst = (long long)e->valuedouble;
        else if (!strcmp(k, "burst_status") && num_in(e, 500, 599, true))
            s.burst_status = e->valueint;
        else if (!strcmp(k, "force_429") && num_in(e, 0, 1e9, true))
            s.force_429 = (long long)e->valuedouble;
        else if (!strcmp(k, "retry_after_s") && num_in(e, 1, 3600, true))
            s.retry_after_s = e->valueint;
        else if (!strcmp(k, "lose_create_answers") && num_in(e, 0, 1e9, true))
            s.lose_create_answers = (long long)e->valuedouble;
        else if (!strcmp(k, "create_answer_delay_ms") && num_in(e, 0, 600000, true))
            s.create_answer_delay_ms = (long long)e->valuedouble;
        else if (!strcmp(k, "rate_limit_rps") && num_in(e, 0, 1e6, false))
            rps = e->valuedouble;
        else if (!strcmp(k, "rate_limit_burst") && num_in(e, 0, 1e6, false))
            burst = e->valuedouble;
        else {
            st = sg_fail(SG_E_INVALID, "bad or unknown fault setting \"%.40s\"", k);
            break;
        }
    }
    if (st == SG_OK) {
        f->s = s;
        if (rps != f->rps || burst != f->burst) {
            f->rps = rps;
            f->burst = burst > 0 ? burst : (rps > 1 ? rps : 1);
            f->n_buckets = 0; /* start every bucket full under the new limit */
        }
    }
    pthread_mutex_unlock(&f->mu);
    return st;
}

void sim_faults_clear(sim_faults *f)
{
    pthread_mutex_lock(&f->mu);
    int retry = f->s.retry_after_s, bstatus = f->s.burst_status;
    memset(&f->s, 0, sizeof f->s);
    f->s.retry_after_s = retry;
    f->s.burst_status = bstatus;
    pthread_mutex_unlock(&f->mu);
}

void sim_faults_get(sim_faults *f, sim_fault_settings *out)
{
    pthread_mutex_lock(&f->mu);
    *out = f->s;
    pthread_mutex_unlock(&f->mu);
}

cJSON *sim_faults_to_json(sim_faults *f)
{
    pthread_mutex_lock(&f->mu);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "error_rate", f->s.error_rate);
    cJSON_AddNumberToObject(o, "error_status", f->s.error_status);
    cJSON_AddNumberToObject(o, "latency_ms", (double)f->s.latency_ms);
    cJSON_AddBoolToObject(o, "hang", f->s.hang);
    cJSON_AddNumberToObject(o, "burst", (double)f->s.burst);
    cJSON_AddNumberToObject(o, "burst_status", f->s.burst_status);
    cJSON_AddNumberToObject(o, "force_429", (double)f->s.force_429);
    cJSON_AddNumberToObject(o, "retry_after_s", f->s.retry_after_s);
    cJSON_AddNumberToObject(o, "lose_create_answers", (double)f->s.lose_create_answers);
    cJSON_AddNumberToObject(o, "create_answer_delay_ms", (double)f->s.create_answer_delay_ms);
    cJSON_AddNumberToObject(o, "rate_limit_rps", f->rps);
    cJSON_AddNumberToObject(o, "rate_limit_burst", f->burst);
    cJSON_AddNumberToObject(o, "injected_errors", (double)f->injected);
    cJSON_AddNumberToObject(o, "forced_429s", (double)f->forced_429);
    cJSON_AddNumberToObject(o, "rate_limited", (double)f->rate_limited);
    cJSON_AddNumberToObject(o, "lost_create_answers", (double)f->lost_answers);
    cJSON_AddNumberToObject(o, "delayed_create_answers", (double)f->delayed_answers);
    pthread_mutex_unlock(&f->mu);
    return o;
}

sim_fault_action sim_faults_decide(sim_faults *f, int *status, int *retry_after_s)
{
    sim_fault_action a = SIM_FAULT_NONE;
    pthread_mutex_lock(&f->mu);
    if (f->s.force_429 > 0) {
        f->s.force_429--;
        f->forced_429++;
        *status = 429;
        *retry_after_s = f->s.retry_after_s;
        a = SIM_FAULT_429;
    } else if (f->s.burst > 0) {
        f->s.burst--;
        f->injected++;
        *status = f->s.burst_status;
        a = SIM_FAULT_STATUS;
    } else if (f->s.error_rate > 0 &&
               randombytes_uniform(1000000) < (uint32_t)(f->s.error_rate * 1000000.0)) {
        f->injected++;
        *status = f->s.error_status ? f->s.error_status : (randombytes_uniform(2) ? 503 : 500);
        a = SIM_FAULT_STATUS;
    }
    pthread_mutex_unlock(&f->mu);
    return a;
}

sim_after_action sim_faults_after_create(sim_faults *f, long long *delay_ms)
{
    sim_after_action a = SIM_AFTER_ANSWER;
    pthread_mutex_lock(&f->mu);
    if (f->s.lose_create_answers > 0) {
        f->s.lose_create_answers--;
        f->lost_answers++;
        a = SIM_AFTER_DROP;
    } else if (f->s.create_answer_delay_ms > 0) {
        f->delayed_answers++;
        *delay_ms = f->s.create_answer_delay_ms;
        a = SIM_AFTER_DELAY;
    }
    pthread_mutex_unlock(&f->mu);
    return a;
}

bool sim_rate_allow(sim_faults *f, const unsigned char key_digest[32], int *retry_after_s)
{
    pthread_mutex_lock(&f->mu);
    if (f->rps <= 0) {
        pthread_mutex_unlock(&f->mu);
        return true;
    }
    long long now = sim_now_ms();
    bucket *b = NULL;
    for (size_t i = 0; i < f->n_buckets; i++)
        if (memcmp(f->buckets[i].key, key_digest, 32) == 0) b = &f->buckets[i];
    if (!b) {
        b = &f->buckets[f->n_buckets < MAX_BUCKETS ? f->n_buckets++ : MAX_BUCKETS - 1];
        memcpy(b->key, key_digest, 32);
        b->tokens = f->burst;
        b->last_ms = now;
    }
    b->tokens += (double)(now - b->last_ms) * f->rps / 1000.0;
    if (b->tokens > f->burst) b->tokens = f->burst;
    b->last_ms = now;
    bool ok = b->tokens >= 1.0;
    if (ok) {
        b->tokens -= 1.0;
    } else {
        f->rate_limited++;
        int s = (int)ceil((1.0 - b->tokens) / f->rps);
        *retry_after_s = s < 1 ? 1 : s;
    }
    pthread_mutex_unlock(&f->mu);
    return ok;
}
