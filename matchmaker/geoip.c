/* GeoIP lookups over libmaxminddb, reopening the file when it changes (see geoip.h). */
#include "geoip.h"

#include <maxminddb.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "seatgate/clock.h"
#include "seatgate/log.h"

struct sg_geoip {
    char *path;
    pthread_rwlock_t lock; /* readers look up; a reload swaps db */
    MMDB_s *db;
    struct stat seen; /* the file db was opened from */
    long long check_ms;
    atomic_llong next_check_ms;
    atomic_uint reloads;
};

static sg_status open_db(const char *path, MMDB_s **out, struct stat *st)
{
    *out = NULL;
    if (stat(path, st) != 0) return sg_fail(SG_E_IO, "geoip-db %s: cannot read it", path);
    MMDB_s *db = calloc(1, sizeof *db);
    if (!db) return sg_fail(SG_E_NOMEM, "out of memory");
    int rc = MMDB_open(path, MMDB_MODE_MMAP, db);
    if (rc != MMDB_SUCCESS) {
        free(db);
        return sg_fail(SG_E_IO, "geoip-db %s: %s", path, MMDB_strerror(rc));
    }
    *out = db;
    return SG_OK;
}

static void close_db(MMDB_s *db)
{
    if (!db) return;
    MMDB_close(db);
    free(db);
}

sg_status sg_geoip_open(const char *path, long long check_ms, sg_geoip **out)
{
    *out = NULL;
    sg_geoip *g = calloc(1, sizeof *g);
    if (!g || !(g->path = strdup(path))) {
        free(g);
        return sg_fail(SG_E_NOMEM, "out of memory");
    }
    sg_status st = open_db(path, &g->db, &g->seen);
    if (st != SG_OK) {
        free(g->path);
        free(g);
        return st;
    }
    pthread_rwlock_init(&g->lock, NULL);
    g->check_ms = check_ms > 0 ? check_ms : 10000;
    atomic_store(&g->next_check_ms, sg_clock_mono_ms() + g->check_ms);
    SG_INFO("geoip", "opened", "path=%s type=%s built=%llu", path, g->db->metadata.database_type,
            (unsigned long long)g->db->metadata.build_epoch);
    *out = g;
    return SG_OK;
}

void sg_geoip_close(sg_geoip *g)
{
    if (!g) return;
    close_db(g->db);
    pthread_rwlock_destroy(&g->lock);
    free(g->path);
    free(g);
}

unsigned sg_geoip_reloads(const sg_geoip *g)
{
    return atomic_load(&g->reloads);
}

/* Every check_ms, one caller looks at the file and reopens it if it changed. */
static void maybe_reload(sg_geoip *g)
{
    long long now = sg_clock_mono_ms(), due = atomic_load(&g->next_check_ms);
    if (now < due ||
        !atomic_compare_exchange_strong(&g->next_check_ms, &due, now + g->check_ms))
        return;
    struct stat st;
    if (stat(g->path, &st) != 0) return; /* gone for a moment (being replaced): keep the old */
    if (st.st_ino == g->seen.st_ino && st.st_size == g->seen.st_size &&
        st.st_mtim.tv_sec == g->seen.st_mtim.tv_sec && st.st_mtim.tv_nsec == g->seen.st_mtim.tv_nsec)
        return;
    MMDB_s *db = NULL;
    struct stat opened;
    if (open_db(g->path, &db, &opened) != SG_OK) {
        char q[300];
        SG_WARN("geoip", "reload_failed", "error=%s hint=\"the previous database stays in use\"",
                sg_log_quote(sg_last_error(), q, sizeof q));
        g->seen = st; /* not again until it changes again */
        return;
    }
    pthread_rwlock_wrlock(&g->lock);
    MMDB_s *old = g->db;
    g->db = db;
    g->seen = opened;
    pthread_rwlock_unlock(&g->lock);
    close_db(old);
    atomic_fetch_add(&g->reloads, 1);
    SG_INFO("geoip", "reloaded", "path=%s built=%llu", g->path,
            (unsigned long long)db->metadata.build_epoch);
}

static bool number_at(MMDB_entry_s *e, const char *field, double *out)
{
    MMDB_entry_data_s d;
    if (MMDB_get_value(e, &d, "location", field, NULL) != MMDB_SUCCESS || !d.has_data)
        return false;
    if (d.type == MMDB_DATA_TYPE_DOUBLE)
        *out = d.double_value;
    else if (d.type == MMDB_DATA_TYPE_FLOAT)
        *out = d.float_value;
    else
        return false;
    return true;
}

bool sg_geoip_locate(sg_geoip *g, const sg_addr *ip, double *latitude, double *longitude)
{
    if (!g) return false;
    maybe_reload(g);
    sg_addr a = *ip;
    sg_addr_normalize(&a); /* an IPv4-mapped address is looked up as IPv4 */
    struct sockaddr_storage ss;
    if (sg_addr_to_sockaddr(&a, &ss) == 0) return false;
    pthread_rwlock_rdlock(&g->lock);
    int err = 0;
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(g->db, (const struct sockaddr *)&ss, &err);
    double lat = 0, lon = 0;
    bool ok = err == MMDB_SUCCESS && r.found_entry && number_at(&r.entry, "latitude", &lat) &&
              number_at(&r.entry, "longitude", &lon) && lat >= -90 && lat <= 90 &&
              lon >= -180 && lon <= 180;
    pthread_rwlock_unlock(&g->lock);
    if (ok) {
        *latitude = lat;
        *longitude = lon;
    }
    return ok;
}
