/* SQLite backend: buckets, watchers and the sweep.
 *
 * Every bucket change is a row in sg_kv (bucket, rev, key, op, value, created_ms) whose rev
 * comes from the bucket's counter in sg_buckets, so revisions increase per bucket as NATS
 * stream sequences do. A key's state is its latest row: a put, or a delete marker. Reads
 * treat rows older than the bucket TTL as absent; the sweep removes them later, together
 * with superseded rows and delete markers older than the watch window (watchers poll rows by
 * revision, so they see every change made within that window).
 *
 * One connection per store for writes (and for reads inside a batch), used under a mutex, and
 * one for other reads, beside it; WAL mode and a busy timeout let several processes share the
 * file. Writes run in BEGIN IMMEDIATE transactions. Bucket writes that
 * arrive while another is in progress are committed together (group commit): each still
 * sees the effect of those before it, as if run one by one, and each gets its own result.
 */
#include "kv_sqlite.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "seatgate/log.h"

#define WATCH_WINDOW_MS 60000
#define SCHEMA_VERSION 1
/* Few, hot pages change with every write: checkpointing every 8000 WAL frames instead of
 * 1000 writes each of them back eight times less often (the WAL grows to about 32 MB). A
 * checkpoint also stalls commits: while it syncs the WAL, the next appends to the WAL wait in
 * the kernel (1 to 4 ms seen on ext4), so fewer checkpoints mean fewer slow requests (one
 * player at a time: p99 3.1 ms at 4000 frames, 2.4 ms at 8000). */
#define CHECKPOINT_FRAMES 8000
/* The WAL starts over only once every frame is copied back, which a checkpointer running
 * beside busy writers may keep missing by a little: when no more than this many frames are
 * left (and the checkpointer is idle), the committing thread copies them itself (a short,
 * bounded pause), so the next commit starts the WAL over. */
#define CHECKPOINT_FINISH_FRAMES 512
/* A checkpointer that cannot keep up (or could not start) leaves the committing thread to
 * checkpoint, as SQLite's own auto-checkpoint does, so the WAL stays bounded. */
#define CHECKPOINT_INLINE_FRAMES (4 * CHECKPOINT_FRAMES)

static const char *const SQL[Q_COUNT] = {
    [Q_BUCKET_GET] = "SELECT ttl_ms, history, max_value FROM sg_buckets WHERE name = ?1",
    [Q_BUCKET_ADD] = "INSERT OR IGNORE INTO sg_buckets(name, ttl_ms, history, max_value, seq) "
                     "VALUES (?1, ?2, ?3, ?4, 0)",
    [Q_SEQ_NEXT] = "UPDATE sg_buckets SET seq = seq + 1 WHERE name = ?1 RETURNING seq",
    [Q_SEQ_SET] = "UPDATE sg_buckets SET seq = ?2 WHERE name = ?1",
    [Q_LATEST] = "SELECT rev, op, value, created_ms FROM sg_kv INDEXED BY sg_kv_by_key "
                 "WHERE bucket = ?1 AND key = ?2 "
                 "ORDER BY rev DESC LIMIT 1",
    [Q_INSERT] = "INSERT INTO sg_kv(bucket, rev, key, op, value, created_ms) "
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    /* SQLite takes the bare columns from the row holding MAX(rev). */
    [Q_KEYS] = "SELECT key, op, value, created_ms, MAX(rev) AS r FROM sg_kv WHERE bucket = ?1 "
               "AND (?2 IS NULL OR key = ?2) GROUP BY key ORDER BY r",
    /* Key order through sg_kv_by_key; the bare columns come from the row holding MAX(rev). */
    [Q_KEYS_PAGE] = "SELECT key, op, value, created_ms, MAX(rev) AS r FROM sg_kv "
                    "INDEXED BY sg_kv_by_key WHERE bucket = ?1 AND key > ?2 GROUP BY key "
                    "ORDER BY key LIMIT ?3",
    /* The same without values: read from the index alone (it holds op and created_ms). */
    [Q_KEYS_PAGE_META] = "SELECT key, op, NULL, created_ms, MAX(rev) AS r FROM sg_kv "
                         "INDEXED BY sg_kv_by_key WHERE bucket = ?1 AND key > ?2 GROUP BY key "
                         "ORDER BY key LIMIT ?3",
    /* The newest row of each key written after a revision, in revision order: a range of the
     * table's own order, each row checked against its key's later rows in sg_kv_by_key. */
    [Q_SINCE_PAGE] = "SELECT a.key, a.op, a.value, a.created_ms, a.rev FROM sg_kv AS a "
                     "WHERE a.bucket = ?1 AND a.rev > ?2 AND NOT EXISTS (SELECT 1 FROM sg_kv "
                     "AS n INDEXED BY sg_kv_by_key WHERE n.bucket = ?1 AND n.key = a.key AND "
                     "n.rev > a.rev) ORDER BY a.rev LIMIT ?3",
    [Q_CHANGES] = "SELECT rev, key, op, value, created_ms FROM sg_kv WHERE bucket = ?1 AND "
                  "rev > ?2 AND (?3 IS NULL OR key = ?3) ORDER BY rev LIMIT 64",
    [Q_SEQ_GET] = "SELECT seq FROM sg_buckets WHERE name = ?1",
    [Q_JOB_ADD] = "INSERT INTO sg_jobs(queue, payload, enqueued_ms, visible_ms) "
                  "VALUES (?1, ?2, ?3, ?3)",
    [Q_JOB_READY] = "SELECT 1 FROM sg_jobs WHERE queue = ?1 AND visible_ms <= ?2 LIMIT 1",
    [Q_JOB_NEXT] = "SELECT id, payload, attempts FROM sg_jobs WHERE queue = ?1 AND "
                   "visible_ms <= ?2 ORDER BY visible_ms, id LIMIT 1",
    [Q_JOB_LEASE] = "UPDATE sg_jobs SET visible_ms = ?2, attempts = attempts + 1, lease = ?3 "
                    "WHERE id = ?1",
    [Q_JOB_ACK] = "DELETE FROM sg_jobs WHERE id = ?1 AND lease = ?2",
    [Q_JOB_RETRY] = "UPDATE sg_jobs SET visible_ms = ?3, lease = 0 WHERE id = ?1 AND lease = ?2",
    [Q_JOB_TOUCH] = "UPDATE sg_jobs SET visible_ms = ?3 WHERE id = ?1 AND lease = ?2",
    [Q_EVENT_ADD] = "INSERT INTO sg_events(app, kind, ts_ms, payload) VALUES (?1, ?2, ?3, ?4)",
    [Q_EVENT_MAX] = "SELECT COALESCE(MAX(id), 0) FROM sg_events",
    [Q_EVENT_NEXT] = "SELECT id, kind, payload FROM sg_events WHERE id > ?1 AND app = ?2 "
                     "ORDER BY id LIMIT 1",
    [Q_EVENT_NEXT_KIND] = "SELECT id, kind, payload FROM sg_events WHERE id > ?1 AND app = ?2 "
                          "AND kind = ?3 ORDER BY id LIMIT 1",
    [Q_BEGIN] = "BEGIN",
    [Q_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SAVEPOINT] = "SAVEPOINT sg_call",
    [Q_RELEASE] = "RELEASE sg_call",
    [Q_ROLLBACK_TO] = "ROLLBACK TO sg_call",
    [Q_SWEEP_BUCKET] = "SELECT name, ttl_ms FROM sg_buckets WHERE name > ?1 ORDER BY name LIMIT 1",
    [Q_SWEEP_ROWS] = "SELECT rev, key, op, created_ms FROM sg_kv WHERE bucket = ?1 AND rev > ?2 "
                     "ORDER BY rev LIMIT ?3",
    [Q_SWEEP_LATER] = "SELECT 1 FROM sg_kv INDEXED BY sg_kv_by_key WHERE bucket = ?1 AND "
                      "key = ?3 AND rev > ?2 LIMIT 1",
    [Q_SWEEP_DELETE] = "DELETE FROM sg_kv WHERE bucket = ?1 AND rev = ?2",
};

/* op and created_ms ride in the key index so a listing of keys (sg_kv_keys) reads the index
 * alone, without a lookup of each row's value in the table. */
#define KEY_INDEX_COLUMNS "bucket, key, rev, op, created_ms"
#define KEY_INDEX_WIDTH 5

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS sg_buckets(name TEXT PRIMARY KEY, ttl_ms INTEGER NOT NULL, "
    "  history INTEGER NOT NULL, max_value INTEGER NOT NULL, seq INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS sg_kv(bucket TEXT NOT NULL, rev INTEGER NOT NULL, "
    "  key TEXT NOT NULL, op INTEGER NOT NULL, value BLOB, created_ms INTEGER NOT NULL, "
    "  PRIMARY KEY(bucket, rev)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS sg_kv_by_key ON sg_kv(" KEY_INDEX_COLUMNS ");"
    "CREATE TABLE IF NOT EXISTS sg_jobs(id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "  queue TEXT NOT NULL, payload TEXT NOT NULL, enqueued_ms INTEGER NOT NULL, "
    "  visible_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, "
    "  lease INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS sg_jobs_ready ON sg_jobs(queue, visible_ms, id);"
    "CREATE TABLE IF NOT EXISTS sg_events(id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "  app TEXT NOT NULL, kind TEXT NOT NULL, ts_ms INTEGER NOT NULL, payload TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS sg_events_ts ON sg_events(ts_ms);";

/* ---- plumbing ----------------------------------------------------------------------------- */

/* A connection and its cached statements: the main one (ss->db) or the reader (ss->rdb). */
typedef struct sq_conn {
    sqlite3 *db;
    sqlite3_stmt **stmt;
    pthread_mutex_t *mu; /* held while it is used */
} sq_conn;

static sq_conn main_conn(sqlite_store *ss)
{
    return (sq_conn){ss->db, ss->stmt, &ss->mu};
}

static sg_status conn_fail(sqlite3 *db, int rc, const char *what)
{
    int prim = rc & 0xff;
    if (prim == SQLITE_BUSY || prim == SQLITE_LOCKED)
        return sg_fail(SG_E_TIMEOUT,
                       "store: sqlite %s: database stayed locked by another "
                       "connection beyond the store timeout",
                       what);
    if (prim == SQLITE_TOOBIG) return sg_fail(SG_E_TOO_LARGE, "store: sqlite %s: too big", what);
    return sg_fail(SG_E_IO, "store: sqlite %s: %s", what, db ? sqlite3_errmsg(db) : "");
}

static sqlite3_stmt *conn_stmt(sq_conn c, sql_id id)
{
    sqlite3_stmt *st = c.stmt[id];
    if (!st) {
        int rc = sqlite3_prepare_v3(c.db, SQL[id], -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
        if (rc != SQLITE_OK) {
            conn_fail(c.db, rc, "prepare");
            return NULL;
        }
        c.stmt[id] = st;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

sqlite3_stmt *sq_stmt(sqlite_store *ss, sql_id id)
{
    return conn_stmt(main_conn(ss), id);
}

sg_status sq_fail(sqlite_store *ss, int rc, const char *what)
{
    return conn_fail(ss->db, rc, what);
}

/* The store whose batch this thread has open, if any: its reads must see the batch's own
 * uncommitted writes, so they stay on the main connection. */
static _Thread_local const sqlite_store *tl_batch;

/* Opens the reader's connection (caller holds rmu). Read-only by pragma, so it never
 * takes the write lock; it never commits, so it never checkpoints. */
static void reader_open(sqlite_store *ss, long long timeout_ms)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(ss->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, (int)timeout_ms);
        sqlite3_extended_result_codes(db, 1);
        rc = sqlite3_exec(db, "PRAGMA query_only=1", NULL, NULL, NULL);
    }
    if (rc != SQLITE_OK) {
        SG_WARN("store", "reader_open_failed", "error=\"%s\"",
                db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        ss->reader_failed = true;
        return;
    }
    ss->rdb = db;
}

/* Locks and returns the connection a read uses: the reader's, unless this thread has a batch
 * open (or the reader could not be opened); then the main one. Release with conn_done. */
static sq_conn read_conn(sqlite_store *ss, const sg_store *store)
{
    if (tl_batch != ss) {
        pthread_mutex_lock(&ss->rmu);
        if (!ss->rdb && !ss->reader_failed) reader_open(ss, store->opts.timeout_ms);
        if (ss->rdb) return (sq_conn){ss->rdb, ss->rstmt, &ss->rmu};
        pthread_mutex_unlock(&ss->rmu);
    }
    pthread_mutex_lock(&ss->mu);
    return main_conn(ss);
}

static void conn_done(sq_conn c)
{
    pthread_mutex_unlock(c.mu);
}

static sg_status exec1(sqlite_store *ss, sql_id id, const char *what)
{
    sqlite3_stmt *st = sq_stmt(ss, id);
    if (!st) return SG_E_IO;
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SG_OK : sq_fail(ss, rc, what);
}

/* Inside a batch, a transaction is a savepoint of the batch's own: its COMMIT makes it
 * durable, and undoing one call leaves the others' writes in place. */
sg_status sq_begin(sqlite_store *ss, bool write)
{
    if (ss->in_batch)
        return sqlite3_get_autocommit(ss->db)
                   ? sg_fail(SG_E_IO, "store: the batch's transaction was undone by SQLite")
                   : exec1(ss, Q_SAVEPOINT, "savepoint");
    ss->nseqs = 0;
    return exec1(ss, write ? Q_BEGIN_WRITE : Q_BEGIN, "begin");
}

/* Writes the revision counters kept in memory back to sg_buckets (before the COMMIT). */
static sg_status seqs_flush(sqlite_store *ss)
{
    for (int i = 0; i < ss->nseqs; i++) {
        sqlite3_stmt *st = sq_stmt(ss, Q_SEQ_SET);
        if (!st) return SG_E_IO;
        sqlite3_bind_text(st, 1, ss->seqs[i].bucket, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, ss->seqs[i].seq);
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE) return sq_fail(ss, rc, "revision counter");
    }
    return SG_OK;
}

sg_status sq_commit(sqlite_store *ss)
{
    sg_status st = ss->in_batch ? SG_OK : seqs_flush(ss);
    if (!st) st = exec1(ss, ss->in_batch ? Q_RELEASE : Q_COMMIT, "commit");
    if (st) sq_rollback(ss);
    if (!ss->in_batch) ss->nseqs = 0;
    return st;
}

void sq_rollback(sqlite_store *ss)
{
    if (!ss->in_batch) ss->nseqs = 0;
    if (sqlite3_get_autocommit(ss->db)) return; /* SQLite already undid the whole batch */
    if (!ss->in_batch) {
        exec1(ss, Q_ROLLBACK, "rollback");
    } else if (exec1(ss, Q_ROLLBACK_TO, "rollback") == SG_OK) {
        exec1(ss, Q_RELEASE, "rollback");
    }
}

/* ---- batches ------------------------------------------------------------------------------ */

/* Holds mu until sq_batch_commit, so no other thread's call lands inside the batch. */
static sg_status sq_batch_begin(sg_store *s)
{
    sqlite_store *ss = s->impl;
    pthread_mutex_lock(&ss->mu);
    sg_status st = ss->in_batch ? sg_fail(SG_E_INVALID, "store: a batch is already open")
                                : exec1(ss, Q_BEGIN_WRITE, "begin");
    if (st) {
        pthread_mutex_unlock(&ss->mu);
        return st;
    }
    ss->nseqs = 0;
    ss->in_batch = true;
    tl_batch = ss;
    return SG_OK;
}

/* Whether the batch survived the last call: an I/O error or a full disk makes SQLite undo the
 * whole transaction, and what follows would then run outside it. */
static sg_status sq_batch_step(sg_store *s, bool *still_open)
{
    sqlite_store *ss = s->impl;
    *still_open = ss->in_batch && !sqlite3_get_autocommit(ss->db);
    return *still_open ? SG_OK
                       : sg_fail(SG_E_IO, "store: the batch's transaction was undone by SQLite");
}

static sg_status sq_batch_commit(sg_store *s)
{
    sqlite_store *ss = s->impl;
    if (!ss->in_batch) return sg_fail(SG_E_INVALID, "store: no batch is open");
    ss->in_batch = false;
    tl_batch = NULL;
    sg_status st = sqlite3_get_autocommit(ss->db)
                       ? sg_fail(SG_E_IO, "store: the batch's transaction was undone by SQLite")
                       : sq_commit(ss);
    ss->nseqs = 0;
    if (!st) sq_maybe_sweep(s);
    pthread_mutex_unlock(&ss->mu);
    return st;
}

static sqlite_store *SS(sg_store *s)
{
    return s->impl;
}

/* ---- store -------------------------------------------------------------------------------- */

static sg_status sql_exec(sqlite_store *ss, const char *sql, const char *what)
{
    int rc = sqlite3_exec(ss->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? SG_OK : sq_fail(ss, rc, what);
}

static void *checkpointer_main(void *arg)
{
    sqlite_store *ss = arg;
    sqlite3 *db = NULL;
    pthread_setname_np(pthread_self(), "sg-checkpoint");
    pthread_mutex_lock(&ss->cmu);
    for (;;) {
        while (!ss->checkpoint_wanted && !ss->checkpointer_stop)
            pthread_cond_wait(&ss->ccv, &ss->cmu);
        if (ss->checkpointer_stop) break;
        ss->checkpoint_wanted = false;
        ss->checkpoint_running = true;
        int before = ss->backfilled;
        pthread_mutex_unlock(&ss->cmu);
        /* a first read makes the new connection see the file is in WAL mode */
        if (!db && (sqlite3_open_v2(ss->path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                    NULL) != SQLITE_OK ||
                    sqlite3_exec(db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) !=
                        SQLITE_OK)) {
            /* once: from now on the committing thread checkpoints, as SQLite's own would */
            SG_WARN("store", "checkpointer_open_failed", "error=\"%s\"",
                    db ? sqlite3_errmsg(db) : "out of memory");
            sqlite3_close(db);
            db = NULL;
            pthread_mutex_lock(&ss->cmu);
            ss->checkpointer_gone = true;
            ss->checkpoint_running = false;
            break;
        }
        /* PASSIVE: copies what no reader still needs and never blocks a writer; a busy
         * answer (another checkpoint running) is as good as done. */
        int logged = 0, copied = 0;
        bool ok = db && sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &logged,
                                                  &copied) == SQLITE_OK;
        /* SQLite syncs the database file only at the pass that copies the last frame, which
         * is the committing thread's: it would then write back every page copied since the
         * WAL began (15 to 18 ms seen). Written back here, it has only its own few left. */
        sqlite3_file *f = NULL;
        if (ok && copied > 0 && copied != before &&
            sqlite3_file_control(db, "main", SQLITE_FCNTL_FILE_POINTER, &f) == SQLITE_OK && f &&
            f->pMethods)
            f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
        pthread_mutex_lock(&ss->cmu);
        ss->checkpoint_running = false;
        if (ok && copied <= ss->wal_frames) ss->backfilled = copied;
    }
    pthread_mutex_unlock(&ss->cmu);
    sqlite3_close(db);
    return NULL;
}

/* Called by SQLite after each commit on this connection (the committer holds mu). Past the
 * threshold, the checkpointer is woken when it is idle and more than a few frames are left to
 * copy; a pass copies what was there when it began, and commits go on meanwhile, so the
 * committing thread copies the last few frames itself (only while the checkpointer is idle:
 * else its pass would find the checkpoint busy and the WAL would not start over). Each pass
 * syncs the WAL and the database file, and a sync slows the commits around it, so passes are
 * kept to two or three per fill of the WAL: waking the checkpointer at every commit instead
 * made it sync about 40 times a second, one player at a time. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
    sqlite_store *ss = arg;
    pthread_mutex_lock(&ss->cmu);
    if (frames < ss->wal_frames) ss->backfilled = 0; /* the WAL started over */
    ss->wal_frames = frames;
    if (frames < CHECKPOINT_FRAMES) {
        pthread_mutex_unlock(&ss->cmu);
        return SQLITE_OK;
    }
    if (!ss->checkpointer_started && !ss->checkpointer_stop)
        ss->checkpointer_started =
            pthread_create(&ss->checkpointer, NULL, checkpointer_main, ss) == 0;
    bool nearly_done = ss->backfilled > 0 && frames - ss->backfilled <= CHECKPOINT_FINISH_FRAMES;
    if (!ss->checkpoint_running && !nearly_done) {
        ss->checkpoint_wanted = true;
        pthread_cond_signal(&ss->ccv);
    }
    bool inline_needed = !ss->checkpointer_started || ss->checkpointer_gone ||
                         frames >= CHECKPOINT_INLINE_FRAMES ||
                         (nearly_done && !ss->checkpoint_running && !ss->checkpoint_wanted);
    pthread_mutex_unlock(&ss->cmu);
    if (inline_needed) sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    return SQLITE_OK;
}

static void sqlite_close(sg_store *s)
{
    sqlite_store *ss = SS(s);
    if (!ss) return;
    pthread_mutex_lock(&ss->cmu);
    ss->checkpointer_stop = true;
    pthread_cond_signal(&ss->ccv);
    bool joined = ss->checkpointer_started;
    pthread_mutex_unlock(&ss->cmu);
    if (joined) pthread_join(ss->checkpointer, NULL);
    for (int i = 0; i < Q_COUNT; i++) {
        sqlite3_finalize(ss->rstmt[i]);
        sqlite3_finalize(ss->stmt[i]);
    }
    sqlite3_close(ss->rdb); /* before the main one: the last to close cleans up the WAL */
    sqlite3_close(ss->db);
    pthread_mutex_destroy(&ss->mu);
    pthread_mutex_destroy(&ss->rmu);
    pthread_mutex_destroy(&ss->gmu);
    pthread_cond_destroy(&ss->gcv);
    pthread_mutex_destroy(&ss->cmu);
    pthread_cond_destroy(&ss->ccv);
    pthread_mutex_destroy(&ss->jmu);
    pthread_cond_destroy(&ss->jcv);
    free(ss->path);
    free(ss);
    s->impl = NULL;
}

/* A file made before the key index held op and created_ms gets the wider index, under the
 * same name (a program that knows only the narrower one uses it just the same). Runs inside
 * the open's write transaction: on failure nothing changes. */
static sg_status widen_key_index(sqlite_store *ss)
{
    sqlite3_stmt *v = NULL;
    int keys = 0;
    if (sqlite3_prepare_v2(ss->db, "PRAGMA index_info(sg_kv_by_key)", -1, &v, NULL) != SQLITE_OK)
        return sq_fail(ss, sqlite3_errcode(ss->db), "read the key index");
    while (sqlite3_step(v) == SQLITE_ROW)
        keys++;
    sqlite3_finalize(v);
    if (keys >= KEY_INDEX_WIDTH) return SG_OK;
    SG_INFO("store", "key_index_widened", "columns=%d", KEY_INDEX_WIDTH);
    return sql_exec(ss,
                    "DROP INDEX sg_kv_by_key;"
                    "CREATE INDEX sg_kv_by_key ON sg_kv(" KEY_INDEX_COLUMNS ");",
                    "widen the key index");
}

static sg_status sqlite_open(sg_store *s)
{
    sqlite_store *ss = calloc(1, sizeof *ss);
    if (!ss) return sg_fail(SG_E_NOMEM, "store: out of memory");
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&ss->mu, &ma);
    pthread_mutexattr_destroy(&ma);
    pthread_mutex_init(&ss->rmu, NULL);
    pthread_mutex_init(&ss->gmu, NULL);
    pthread_cond_init(&ss->gcv, NULL);
    pthread_mutex_init(&ss->cmu, NULL);
    pthread_cond_init(&ss->ccv, NULL);
    pthread_mutex_init(&ss->jmu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ss->jcv, &ca);
    pthread_condattr_destroy(&ca);
    s->impl = ss;
    ss->path = strdup(s->target);
    if (!ss->path) {
        sqlite_close(s);
        return sg_fail(SG_E_NOMEM, "store: out of memory");
    }
    int rc = sqlite3_open_v2(
        s->target, &ss->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    sg_status st = SG_OK;
    if (rc != SQLITE_OK) {
        char q[200];
        st = sg_fail(SG_E_IO, "store: cannot open sqlite file %s: %s",
                     sg_log_quote(s->target, q, sizeof q),
                     ss->db ? sqlite3_errmsg(ss->db) : sqlite3_errstr(rc));
    }
    if (!st) {
        sqlite3_busy_timeout(ss->db, (int)s->opts.timeout_ms);
        sqlite3_extended_result_codes(ss->db, 1);
        /* Switching to WAL needs a moment without other writers: retry briefly. */
        for (int i = 0; i < 50; i++) {
            st = sql_exec(ss, "PRAGMA journal_mode=WAL", "enable WAL");
            if (st != SG_E_TIMEOUT) break;
            sg_kv_sleep_ms(20);
        }
    }
    if (!st) st = sql_exec(ss, "PRAGMA synchronous=NORMAL", "set synchronous");
    /* A batch runs each call in a savepoint, whose journal (the pages as they were before the
     * call) SQLite keeps in a temporary file once it has outgrown 64 KiB, and from then on
     * writes every savepoint's pages to that file: about as many bytes as the WAL itself. In
     * memory it is emptied whenever a savepoint is released. */
    if (!st) st = sql_exec(ss, "PRAGMA temp_store=MEMORY", "keep temporary data in memory");
    if (!st) sqlite3_wal_hook(ss->db, on_wal_commit, ss); /* replaces the auto-checkpoint */
    if (!st) st = sq_begin(ss, true);
    if (!st) {
        sqlite3_stmt *v = NULL;
        long long version = 0;
        if (sqlite3_prepare_v2(ss->db, "PRAGMA user_version", -1, &v, NULL) == SQLITE_OK &&
            sqlite3_step(v) == SQLITE_ROW)
            version = sqlite3_column_int64(v, 0);
        sqlite3_finalize(v);
        if (version > SCHEMA_VERSION)
            st = sg_fail(SG_E_IO,
                         "store: sqlite file has schema version %lld, newer than this "
                         "program understands (%d)",
                         version, SCHEMA_VERSION);
        if (!st) st = sql_exec(ss, SCHEMA, "create schema");
        if (!st) st = widen_key_index(ss);
        if (!st && version < SCHEMA_VERSION)
            st = sql_exec(ss, "PRAGMA user_version=1", "set schema version");
        st = st ? (sq_rollback(ss), st) : sq_commit(ss);
    }
    if (st) {
        sqlite_close(s);
        return st;
    }
    ss->last_sweep_ms = sg_kv_now_ms();
    return SG_OK;
}

static sg_store_state sqlite_state(sg_store *s)
{
    (void)s;
    return SG_STORE_CONNECTED;
}

/* The sweep walks each bucket's rows in revision order, SWEEP_STEP_ROWS per transaction, so
 * no writer waits long for it: writes that arrive while a pass is under way each run one
 * step first (a few milliseconds at most) instead of one writer running all of it. A row
 * goes once it has expired (bucket TTL), or once it is older than the watch window and
 * superseded by a later row of its key or a delete marker. A bucket's walk stops at the first
 * row too young for either (rows are written in time order). */
#define SWEEP_STEP_ROWS 256

typedef struct sweep_row {
    sqlite3_int64 rev;
    int op;
    long long created;
    char key[SG_KV_KEY_MAX + 1];
} sweep_row;

/* Moves the walk to the bucket after the current one; false when none is left. */
static sg_status sweep_next_bucket(sqlite_store *ss, bool *found)
{
    sqlite3_stmt *st = sq_stmt(ss, Q_SWEEP_BUCKET);
    if (!st) return SG_E_IO;
    sqlite3_bind_text(st, 1, ss->sweep_bucket, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    *found = rc == SQLITE_ROW;
    if (*found) {
        snprintf(ss->sweep_bucket, sizeof ss->sweep_bucket, "%s",
                 (const char *)sqlite3_column_text(st, 0));
        ss->sweep_ttl_ms = sqlite3_column_int64(st, 1);
        ss->sweep_rev = 0;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SG_OK : sq_fail(ss, rc, "sweep");
}

static sg_status sweep_rows(sqlite_store *ss, sweep_row *rows, size_t *n)
{
    sqlite3_stmt *st = sq_stmt(ss, Q_SWEEP_ROWS);
    if (!st) return SG_E_IO;
    sqlite3_bind_text(st, 1, ss->sweep_bucket, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, ss->sweep_rev);
    sqlite3_bind_int(st, 3, SWEEP_STEP_ROWS);
    int rc;
    *n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < SWEEP_STEP_ROWS) {
        sweep_row *r = &rows[(*n)++];
        r->rev = sqlite3_column_int64(st, 0);
        snprintf(r->key, sizeof r->key, "%s", (const char *)sqlite3_column_text(st, 1));
        r->op = sqlite3_column_int(st, 2);
        r->created = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SG_OK : sq_fail(ss, rc, "sweep");
}

static sg_status sweep_row_exec(sqlite_store *ss, sql_id id, const sweep_row *r, bool *hit)
{
    sqlite3_stmt *st = sq_stmt(ss, id);
    if (!st) return SG_E_IO;
    sqlite3_bind_text(st, 1, ss->sweep_bucket, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, r->rev);
    if (id == Q_SWEEP_LATER) sqlite3_bind_text(st, 3, r->key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (hit) *hit = rc == SQLITE_ROW;
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? SG_OK : sq_fail(ss, rc, "sweep");
}

/* Old events, by age and by count (a flood of events never grows the file without bound). */
static sg_status sweep_events(sg_store *s, long long now)
{
    sqlite_store *ss = SS(s);
    char sql[400];
    int n = snprintf(sql, sizeof sql, "DELETE FROM sg_events WHERE ts_ms < %lld;",
                     now - s->opts.event_retention_ms);
    if (s->opts.event_max_rows > 0 && n > 0 && (size_t)n < sizeof sql)
        snprintf(sql + n, sizeof sql - (size_t)n,
                 "DELETE FROM sg_events WHERE id <= (SELECT MAX(id) FROM sg_events) - %lld;",
                 s->opts.event_max_rows);
    return sql_exec(ss, sql, "sweep events");
}

/* One step of the pass (starting one when none is under way); *done once the pass is over.
 * Caller holds mu, outside a transaction. */
static sg_status sweep_step(sg_store *s, bool *done)
{
    sqlite_store *ss = SS(s);
    *done = false;
    if (!ss->sweeping) {
        ss->sweeping = true;
        ss->sweep_now = sg_kv_now_ms();
        ss->sweep_bucket[0] = '\0';
        ss->sweep_bucket_done = true;
    }
    long long now = ss->sweep_now;
    sg_status st = sq_begin(ss, true);
    bool found = true;
    if (!st && ss->sweep_bucket_done) {
        st = sweep_next_bucket(ss, &found);
        ss->sweep_bucket_done = false;
    }
    if (!st && !found) {
        st = sweep_events(s, now);
        *done = true;
    } else if (!st) {
        sweep_row *rows = malloc(SWEEP_STEP_ROWS * sizeof *rows);
        size_t n = 0;
        st = rows ? sweep_rows(ss, rows, &n) : sg_fail(SG_E_NOMEM, "store: out of memory");
        long long ttl = ss->sweep_ttl_ms, old = now - WATCH_WINDOW_MS;
        for (size_t i = 0; !st && i < n; i++) {
            const sweep_row *r = &rows[i];
            bool expired_row = ttl > 0 && r->created + ttl <= now;
            if (!expired_row && r->created >= old) { /* too young for anything: done here */
                ss->sweep_bucket_done = true;
                break;
            }
            bool gone = expired_row || r->op == SG_KV_DELETE;
            if (!gone) st = sweep_row_exec(ss, Q_SWEEP_LATER, r, &gone);
            if (!st && gone) st = sweep_row_exec(ss, Q_SWEEP_DELETE, r, NULL);
            ss->sweep_rev = r->rev;
        }
        if (n < SWEEP_STEP_ROWS) ss->sweep_bucket_done = true;
        free(rows);
    }
    st = st ? (sq_rollback(ss), st) : sq_commit(ss);
    if (st || *done) {
        ss->sweeping = false;
        ss->last_sweep_ms = sg_kv_now_ms();
        *done = true;
    }
    return st;
}

static sg_status sweep_locked(sg_store *s)
{
    bool done = false;
    sg_status st = SG_OK;
    while (!st && !done)
        st = sweep_step(s, &done);
    return st;
}

void sq_maybe_sweep(sg_store *s)
{
    sqlite_store *ss = SS(s);
    if (!ss->sweeping && sg_kv_now_ms() - ss->last_sweep_ms < s->opts.sweep_interval_ms) return;
    bool done = false;
    if (sweep_step(s, &done) != SG_OK)
        SG_WARN("store", "sweep_failed", "backend=sqlite error=\"%s\"", sg_last_error());
}

static sg_status sqlite_sweep(sg_store *s)
{
    pthread_mutex_lock(&SS(s)->mu);
    sg_status st = sweep_locked(s);
    pthread_mutex_unlock(&SS(s)->mu);
    return st;
}

/* ---- buckets ------------------------------------------------------------------------------ */

static sg_status read_bucket(sqlite_store *ss, sg_bucket *b, bool *found)
{
    *found = false;
    sqlite3_stmt *st = sq_stmt(ss, Q_BUCKET_GET);
    if (!st) return SG_E_IO;
    sqlite3_bind_text(st, 1, b->full, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *found = true;
        b->opts.ttl_ms = sqlite3_column_int64(st, 0);
        b->opts.history = sqlite3_column_int(st, 1);
        b->opts.max_value_size = (size_t)sqlite3_column_int64(st, 2);
        rc = SQLITE_DONE;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? SG_OK : sq_fail(ss, rc, "read bucket");
}

static sg_status sqlite_bucket_open(sg_bucket *b, const sg_bucket_options *want)
{
    sqlite_store *ss = SS(b->store);
    bool found = false;
    pthread_mutex_lock(&ss->mu);
    sg_status st = sq_begin(ss, want->create);
    if (!st) st = read_bucket(ss, b, &found);
    if (!st && !found && want->create) {
        sqlite3_stmt *ins = sq_stmt(ss, Q_BUCKET_ADD);
        if (!ins) {
            st = SG_E_IO;
        } else {
            sqlite3_bind_text(ins, 1, b->full, -1, SQLITE_STATIC);
            sqlite3_bind_int64(ins, 2, want->ttl_ms);
            sqlite3_bind_int(ins, 3, want->history);
            sqlite3_bind_int64(ins, 4, (sqlite3_int64)want->max_value_size);
            int rc = sqlite3_step(ins);
            sqlite3_reset(ins);
            if (rc != SQLITE_DONE) st = sq_fail(ss, rc, "create bucket");
        }
        if (!st) st = read_bucket(ss, b, &found);
    }
    st = st ? (sq_rollback(ss), st) : sq_commit(ss);
    pthread_mutex_unlock(&ss->mu);
    if (!st && !found)
        st = sg_fail(SG_E_NOT_FOUND, "store: bucket %s does not exist (open it with create)",
                     b->full);
    return st;
}

static void sqlite_bucket_close(sg_bucket *b)
{
    (void)b;
}

static bool expired(const sg_bucket *b, long long created_ms, long long now)
{
    return b->opts.ttl_ms > 0 && created_ms + b->opts.ttl_ms <= now;
}

/* The key's latest row, read on c (held). *rev 0 when there is none or it has expired. */
static sg_status latest(sq_conn c, sg_bucket *b, const char *key, uint64_t *rev, int *op,
                        sg_kv_entry **entry)
{
    *rev = 0;
    *op = 0;
    sqlite3_stmt *st = conn_stmt(c, Q_LATEST);
    if (!st) return SG_E_IO;
    sqlite3_bind_text(st, 1, b->full, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sg_status res = SG_OK;
    if (rc == SQLITE_ROW) {
        long long created = sqlite3_column_int64(st, 3);
        if (!expired(b, created, sg_kv_now_ms())) {
            *rev = (uint64_t)sqlite3_column_int64(st, 0);
            *op = sqlite3_column_int(st, 1);
            if (entry && *op == SG_KV_PUT) {
                *entry =
                    sg_kv_entry_make(key, sqlite3_column_blob(st, 2),
                                     (size_t)sqlite3_column_bytes(st, 2), *rev, SG_KV_PUT, created);
                if (!*entry) res = sg_fail(SG_E_NOMEM, "store: out of memory");
            }
        }
    } else if (rc != SQLITE_DONE) {
        res = conn_fail(c.db, rc, "read key");
    }
    sqlite3_reset(st);
    return res;
}

/* Runs Q_SEQ_GET or Q_SEQ_NEXT for bucket `full` and reads the counter it returns. */
static sg_status seq_row(sqlite_store *ss, sql_id q, const char *full, sqlite3_int64 *out)
{
    sqlite3_stmt *st = sq_stmt(ss, q);
    if (!st) return SG_E_IO;
    sqlite3_bind_text(st, 1, full, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *out = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    if (rc == SQLITE_DONE) return sg_fail(SG_E_NOT_FOUND, "store: bucket %s no longer exists", full);
    if (rc != SQLITE_ROW) return sq_fail(ss, rc, "revision counter");
    return SG_OK;
}

/* The bucket's last revision in this transaction: its counter kept in memory (NULL when
 * there is no room for another) and its value. Caller holds mu, inside a transaction. */
static sg_status bucket_seq(sqlite_store *ss, const char *full, struct sq_seq **slot,
                            sqlite3_int64 *seq)
{
    *slot = NULL;
    for (int i = 0; i < ss->nseqs; i++)
        if (strcmp(ss->seqs[i].bucket, full) == 0) {
            *slot = &ss->seqs[i];
            *seq = ss->seqs[i].seq;
            return SG_OK;
        }
    return seq_row(ss, Q_SEQ_GET, full, seq);
}

/* Takes the bucket's next revision. Caller holds mu, inside a write transaction. */
static sg_status next_rev(sqlite_store *ss, const char *full, sqlite3_int64 *next)
{
    struct sq_seq *slot = NULL;
    sqlite3_int64 seq = 0;
    sg_status res = bucket_seq(ss, full, &slot, &seq);
    if (res) return res;
    if (!slot && ss->nseqs < SQ_SEQS && strlen(full) < sizeof slot->bucket) {
        slot = &ss->seqs[ss->nseqs++];
        snprintf(slot->bucket, sizeof slot->bucket, "%s", full);
    }
    if (slot) {
        slot->seq = *next = seq + 1;
        return SG_OK;
    }
    /* no room: this bucket is counted in sg_buckets itself for the rest of the transaction */
    return seq_row(ss, Q_SEQ_NEXT, full, next);
}

/* Appends a row with the bucket's next revision. Caller holds mu, inside a write txn. */
static sg_status append(sg_bucket *b, const char *key, int op, const void *v, size_t n,
                        uint64_t *rev)
{
    sqlite_store *ss = SS(b->store);
    sqlite3_int64 next = 0;
    sg_status res = next_rev(ss, b->full, &next);
    if (res) return res;

    sqlite3_stmt *st = sq_stmt(ss, Q_INSERT);
    if (!st) return SG_E_IO;
    sqlite3_bind_text(st, 1, b->full, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, next);
    sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, 4, op);
    sqlite3_bind_blob64(st, 5, v ? v : "", (sqlite3_uint64)n, SQLITE_STATIC);
    sqlite3_bind_int64(st, 6, sg_kv_now_ms());
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return sq_fail(ss, rc, "write key");
    if (rev) *rev = (uint64_t)next;
    return SG_OK;
}

enum write_mode { W_PUT, W_CREATE, W_UPDATE, W_DELETE };

struct sq_write {
    sg_bucket *b;
    enum write_mode mode;
    const char *key;
    const void *v;
    size_t n;
    uint64_t last, rev;
    sg_status st;
    char err[256]; /* the failure's message, handed back to the writer's thread */
    bool done;
    sq_write *next;
};

/* One write inside the open transaction. Caller holds mu. A refused create or update
 * writes nothing; an append failure may have spoilt the transaction (*fatal). */
static sg_status apply_write(sq_write *w, bool *fatal)
{
    sg_status st = SG_OK;
    *fatal = false;
    if (w->mode == W_CREATE || w->mode == W_UPDATE) {
        uint64_t cur = 0;
        int op = 0;
        st = latest(main_conn(SS(w->b->store)), w->b, w->key, &cur, &op, NULL);
        if (st) {
            *fatal = true;
            return st;
        }
        if (w->mode == W_CREATE && cur && op == SG_KV_PUT)
            return sg_fail(SG_E_EXISTS, "store: key %s already exists in %s", w->key, w->b->name);
        if (w->mode == W_UPDATE && cur != w->last)
            return sg_fail(SG_E_CONFLICT, "store: key %s in %s is at revision %llu, not %llu",
                           w->key, w->b->name, (unsigned long long)cur,
                           (unsigned long long)w->last);
    }
    st = append(w->b, w->key, w->mode == W_DELETE ? SG_KV_DELETE : SG_KV_PUT, w->v, w->n, &w->rev);
    if (st) *fatal = true;
    return st;
}

static void keep_error(sq_write *w, sg_status st)
{
    w->st = st;
    if (st) snprintf(w->err, sizeof w->err, "%s", sg_last_error());
}

/* Runs writes in one transaction; when one breaks the transaction, each runs alone. */
static void run_batch(sqlite_store *ss, sg_store *store, sq_write *batch)
{
    pthread_mutex_lock(&ss->mu);
    sg_status st = sq_begin(ss, true);
    bool fatal = false;
    for (sq_write *w = batch; !st && w && !fatal; w = w->next)
        keep_error(w, apply_write(w, &fatal));
    if (!st && !fatal) {
        st = sq_commit(ss);
    } else if (!st) {
        sq_rollback(ss);
        /* Alone, the others' results do not depend on the one that failed. */
        for (sq_write *w = batch; w; w = w->next) {
            sg_status one = sq_begin(ss, true);
            if (!one) one = apply_write(w, &fatal);
            one = one ? (sq_rollback(ss), one) : sq_commit(ss);
            keep_error(w, one);
        }
    }
    if (st) {
        char err[256];
        snprintf(err, sizeof err, "%s", sg_last_error());
        for (sq_write *w = batch; w; w = w->next) {
            w->st = st;
            memcpy(w->err, err, sizeof err);
        }
    }
    if (!ss->in_batch) sq_maybe_sweep(store); /* a batch sweeps once it is committed */
    pthread_mutex_unlock(&ss->mu);
}

/* Queues writes w[0..n) (contiguous, so one leader takes them all) and returns once they
 * are done: the first failure, with its message, or SG_OK. */
static sg_status commit_writes(sqlite_store *ss, sg_store *store, sq_write *w, size_t n)
{
    if (pthread_mutex_trylock(&ss->mu) == 0) {
        /* Inside this thread's batch (a batch holds mu, so only its owner gets here with
         * in_batch set): these writes alone, in a savepoint; nobody else's. */
        bool in = ss->in_batch;
        if (in) {
            for (size_t i = 0; i + 1 < n; i++)
                w[i].next = &w[i + 1];
            w[n - 1].next = NULL;
            run_batch(ss, store, w);
        }
        pthread_mutex_unlock(&ss->mu);
        if (in) {
            for (size_t i = 0; i < n; i++)
                if (w[i].st) return sg_fail(w[i].st, "%s", w[i].err);
            return SG_OK;
        }
    }
    pthread_mutex_lock(&ss->gmu);
    for (size_t i = 0; i < n; i++) {
        if (ss->gtail)
            ss->gtail->next = &w[i];
        else
            ss->gqueue = &w[i];
        ss->gtail = &w[i];
    }
    sq_write *last = &w[n - 1];
    while (!last->done) {
        if (ss->gleader) {
            pthread_cond_wait(&ss->gcv, &ss->gmu);
            continue;
        }
        /* Lead: take everything queued so far (these writes included) and commit it. */
        ss->gleader = true;
        sq_write *batch = ss->gqueue;
        ss->gqueue = ss->gtail = NULL;
        pthread_mutex_unlock(&ss->gmu);
        run_batch(ss, store, batch);
        pthread_mutex_lock(&ss->gmu);
        for (sq_write *x = batch, *next; x; x = next) {
            next = x->next; /* x lives on its writer's stack: read before marking it done */
            x->done = true;
        }
        ss->gleader = false;
        pthread_cond_broadcast(&ss->gcv);
    }
    pthread_mutex_unlock(&ss->gmu);
    for (size_t i = 0; i < n; i++)
        if (w[i].st) return sg_fail(w[i].st, "%s", w[i].err);
    return SG_OK;
}

static sg_status write_key(sg_bucket *b, enum write_mode mode, const char *key, const void *v,
                           size_t n, uint64_t last, uint64_t *rev)
{
    sq_write w = {.b = b, .mode = mode, .key = key, .v = v, .n = n, .last = last};
    sg_status st = commit_writes(SS(b->store), b->store, &w, 1);
    if (!st && rev) *rev = w.rev;
    return st;
}

static sg_status sqlite_write_many(sg_kv_write *in, size_t n)
{
    sq_write stack[8];
    sq_write *w = n <= 8 ? stack : calloc(n, sizeof *w);
    if (!w) return sg_fail(SG_E_NOMEM, "store: out of memory");
    memset(w, 0, n * sizeof *w);
    for (size_t i = 0; i < n; i++) {
        static const enum write_mode modes[] = {[SG_KV_WRITE_PUT] = W_PUT,
                                                [SG_KV_WRITE_CREATE] = W_CREATE,
                                                [SG_KV_WRITE_UPDATE] = W_UPDATE};
        w[i].b = in[i].bucket;
        w[i].mode = in[i].value ? modes[in[i].mode] : W_DELETE;
        w[i].key = in[i].key;
        w[i].v = in[i].value;
        w[i].n = in[i].len;
        w[i].last = in[i].last;
    }
    sg_store *store = in[0].bucket->store;
    sg_status st = commit_writes(SS(store), store, w, n);
    for (size_t i = 0; i < n; i++) {
        in[i].result = w[i].st;
        in[i].rev = w[i].st == SG_OK && in[i].value ? w[i].rev : 0;
    }
    if (w != stack) free(w);
    return st;
}

static sg_status sqlite_get(sg_bucket *b, const char *key, sg_kv_entry **out)
{
    sqlite_store *ss = SS(b->store);
    uint64_t rev = 0;
    int op = 0;
    sq_conn c = read_conn(ss, b->store);
    sg_status st = latest(c, b, key, &rev, &op, out);
    conn_done(c);
    if (st) return st;
    if (!*out) return sg_fail(SG_E_NOT_FOUND, "store: no key %s in %s", key, b->name);
    return SG_OK;
}

static sg_status sqlite_put(sg_bucket *b, const char *key, const void *v, size_t n, uint64_t *rev)
{
    return write_key(b, W_PUT, key, v, n, 0, rev);
}

static sg_status sqlite_create(sg_bucket *b, const char *key, const void *v, size_t n,
                               uint64_t *rev)
{
    return write_key(b, W_CREATE, key, v, n, 0, rev);
}

static sg_status sqlite_update(sg_bucket *b, const char *key, const void *v, size_t n,
                               uint64_t last, uint64_t *rev)
{
    return write_key(b, W_UPDATE, key, v, n, last, rev);
}

static sg_status sqlite_del(sg_bucket *b, const char *key)
{
    return write_key(b, W_DELETE, key, NULL, 0, 0, NULL);
}

/* Live (put, unexpired) latest rows of the bucket, optionally of one key, in revision order.
 * Caller holds mu. Calls fn for each; stops on error. */
typedef sg_status (*row_fn)(void *ctx, const char *key, const void *v, size_t n, uint64_t rev,
                            long long created);

static sg_status live_rows(sg_bucket *b, const char *key, row_fn fn, void *ctx)
{
    sqlite_store *ss = SS(b->store);
    sqlite3_stmt *st = sq_stmt(ss, Q_KEYS);
    if (!st) return SG_E_IO;
    sqlite3_bind_text(st, 1, b->full, -1, SQLITE_STATIC);
    if (key) sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    long long now = sg_kv_now_ms();
    sg_status res = SG_OK;
    int rc;
    while (res == SG_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        long long created = sqlite3_column_int64(st, 3);
        if (sqlite3_column_int(st, 1) != SG_KV_PUT || expired(b, created, now)) continue;
        res =
            fn(ctx, (const char *)sqlite3_column_text(st, 0), sqlite3_column_blob(st, 2),
               (size_t)sqlite3_column_bytes(st, 2), (uint64_t)sqlite3_column_int64(st, 4), created);
    }
    if (res == SG_OK && rc != SQLITE_DONE) res = sq_fail(ss, rc, "list keys");
    sqlite3_reset(st);
    return res;
}

/* One page of the bucket's live keys, in one statement: after the key `after` in key order
 * (Q_KEYS_PAGE, Q_KEYS_PAGE_META), or written after the revision `since` in revision order
 * (Q_SINCE_PAGE). */
typedef struct each_page {
    sg_kv_entry *e[SQ_EACH_PAGE];
    size_t n;
    char last[SG_KV_KEY_MAX + 1]; /* the last key read, live or not */
    uint64_t last_rev;            /* and its revision */
    bool more;
} each_page;

static sg_status read_page(sg_bucket *b, int q, const char *after, uint64_t since, each_page *pg)
{
    sqlite_store *ss = SS(b->store);
    bool meta_only = q == Q_KEYS_PAGE_META;
    pg->n = 0;
    pg->more = false;
    sq_conn c = read_conn(ss, b->store);
    sqlite3_stmt *st = conn_stmt(c, q);
    sg_status res = st ? SG_OK : SG_E_IO;
    if (st) {
        sqlite3_bind_text(st, 1, b->full, -1, SQLITE_STATIC);
        if (q == Q_SINCE_PAGE)
            sqlite3_bind_int64(st, 2, (sqlite3_int64)since);
        else
            sqlite3_bind_text(st, 2, after, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int(st, 3, SQ_EACH_PAGE);
        long long now = sg_kv_now_ms();
        int rc, rows = 0;
        while (res == SG_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            rows++;
            const char *key = (const char *)sqlite3_column_text(st, 0);
            snprintf(pg->last, sizeof pg->last, "%s", key ? key : "");
            pg->last_rev = (uint64_t)sqlite3_column_int64(st, 4);
            long long created = sqlite3_column_int64(st, 3);
            if (sqlite3_column_int(st, 1) != SG_KV_PUT || expired(b, created, now)) continue;
            sg_kv_entry *e =
                sg_kv_entry_make(pg->last, meta_only ? NULL : sqlite3_column_blob(st, 2),
                                 meta_only ? 0 : (size_t)sqlite3_column_bytes(st, 2), pg->last_rev,
                                 SG_KV_PUT, created);
            if (!e)
                res = sg_fail(SG_E_NOMEM, "store: out of memory");
            else
                pg->e[pg->n++] = e;
        }
        if (res == SG_OK && rc != SQLITE_DONE) res = conn_fail(c.db, rc, "list keys");
        pg->more = res == SG_OK && rows == SQ_EACH_PAGE;
        sqlite3_reset(st);
    }
    conn_done(c);
    return res;
}

/* Page by page, so fn runs between statements, with no connection held. */
static sg_status walk_pages(sg_bucket *b, int q, uint64_t since, sg_kv_each_fn fn, void *arg)
{
    each_page *pg = calloc(1, sizeof *pg);
    if (!pg) return sg_fail(SG_E_NOMEM, "store: out of memory");
    pg->last_rev = since;
    sg_status st = SG_OK;
    do {
        char after[SG_KV_KEY_MAX + 1];
        memcpy(after, pg->last, sizeof after);
        st = read_page(b, q, after, pg->last_rev, pg);
        for (size_t i = 0; i < pg->n; i++) {
            if (!st) st = fn(arg, pg->e[i]);
            sg_kv_entry_free(pg->e[i]);
        }
    } while (!st && pg->more);
    free(pg);
    return st;
}

static sg_status sqlite_each(sg_bucket *b, bool meta_only, sg_kv_each_fn fn, void *arg)
{
    return walk_pages(b, meta_only ? Q_KEYS_PAGE_META : Q_KEYS_PAGE, 0, fn, arg);
}

static sg_status sqlite_each_since(sg_bucket *b, uint64_t since, sg_kv_each_fn fn, void *arg)
{
    return walk_pages(b, Q_SINCE_PAGE, since, fn, arg);
}

/* ---- watch -------------------------------------------------------------------------------- */

typedef struct sq_watch {
    sg_kv_entry **initial; /* snapshot of live values, delivered first */
    size_t count, pos, cap;
    bool caught_up; /* the "caught up" signal was delivered */
    uint64_t last_rev;
} sq_watch;

static sg_status collect_entry(void *ctx, const char *key, const void *v, size_t n, uint64_t rev,
                               long long created)
{
    sq_watch *w = ctx;
    if (w->count == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 16;
        sg_kv_entry **e = realloc(w->initial, cap * sizeof *e);
        if (!e) return sg_fail(SG_E_NOMEM, "store: out of memory");
        w->initial = e;
        w->cap = cap;
    }
    sg_kv_entry *e = sg_kv_entry_make(key, v, n, rev, SG_KV_PUT, created);
    if (!e) return sg_fail(SG_E_NOMEM, "store: out of memory");
    w->initial[w->count++] = e;
    return SG_OK;
}

static void sqlite_watch_free(sg_watch *w)
{
    sq_watch *sw = w->impl;
    if (!sw) return;
    for (size_t i = sw->pos; i < sw->count; i++)
        sg_kv_entry_free(sw->initial[i]);
    free(sw->initial);
    free(sw);
    w->impl = NULL;
}

static sg_status sqlite_watch(sg_watch *w)
{
    sqlite_store *ss = SS(w->bucket->store);
    sq_watch *sw = calloc(1, sizeof *sw);
    if (!sw) return sg_fail(SG_E_NOMEM, "store: out of memory");
    w->impl = sw;
    pthread_mutex_lock(&ss->mu);
    /* One read transaction: the snapshot and the revision it stops at agree. */
    sg_status st = sq_begin(ss, false);
    if (!st) {
        struct sq_seq *slot;
        sqlite3_int64 seq = 0;
        st = bucket_seq(ss, w->bucket->full, &slot, &seq);
        if (!st) sw->last_rev = (uint64_t)seq;
    }
    if (!st) st = live_rows(w->bucket, w->key, collect_entry, sw);
    st = st ? (sq_rollback(ss), st) : sq_commit(ss);
    pthread_mutex_unlock(&ss->mu);
    if (st) sqlite_watch_free(w);
    return st;
}

static sg_status poll_change(sg_watch *w, sg_kv_entry **out)
{
    sqlite_store *ss = SS(w->bucket->store);
    sq_watch *sw = w->impl;
    sq_conn c = read_conn(ss, w->bucket->store);
    sqlite3_stmt *st = conn_stmt(c, Q_CHANGES);
    sg_status res = SG_OK;
    if (!st) {
        res = SG_E_IO;
    } else {
        sqlite3_bind_text(st, 1, w->bucket->full, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)sw->last_rev);
        if (w->key) sqlite3_bind_text(st, 3, w->key, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            uint64_t rev = (uint64_t)sqlite3_column_int64(st, 0);
            *out = sg_kv_entry_make((const char *)sqlite3_column_text(st, 1),
                                    sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3),
                                    rev, (sg_kv_op)sqlite3_column_int(st, 2),
                                    sqlite3_column_int64(st, 4));
            if (!*out)
                res = sg_fail(SG_E_NOMEM, "store: out of memory");
            else
                sw->last_rev = rev;
        } else if (rc != SQLITE_DONE) {
            res = conn_fail(c.db, rc, "watch");
        }
        sqlite3_reset(st);
    }
    conn_done(c);
    return res;
}

static sg_status sqlite_watch_next(sg_watch *w, long long timeout_ms, sg_kv_entry **out)
{
    sq_watch *sw = w->impl;
    if (sw->pos < sw->count) {
        *out = sw->initial[sw->pos];
        sw->initial[sw->pos++] = NULL;
        return SG_OK;
    }
    if (!sw->caught_up) {
        sw->caught_up = true;
        return SG_OK; /* *out stays NULL: the initial values are all delivered */
    }
    long long deadline = sg_kv_now_ms() + timeout_ms;
    for (;;) {
        sg_status st = poll_change(w, out);
        if (st || *out) return st;
        long long left = deadline - sg_kv_now_ms();
        if (left <= 0) return sg_fail(SG_E_TIMEOUT, "store: no change within %lld ms", timeout_ms);
        sg_kv_sleep_ms(left < SQ_POLL_MS ? left : SQ_POLL_MS);
    }
}

const sg_kv_backend sg_kv_sqlite_backend = {
    .version = SG_KV_BACKEND_VERSION,
    .name = "sqlite",
    .open = sqlite_open,
    .close = sqlite_close,
    .state = sqlite_state,
    .sweep = sqlite_sweep,
    .bucket_open = sqlite_bucket_open,
    .bucket_close = sqlite_bucket_close,
    .get = sqlite_get,
    .put = sqlite_put,
    .create = sqlite_create,
    .update = sqlite_update,
    .del = sqlite_del,
    .write_many = sqlite_write_many,
    .batch_begin = sq_batch_begin,
    .batch_step = sq_batch_step,
    .batch_commit = sq_batch_commit,
    .each = sqlite_each,
    .each_since = sqlite_each_since,
    .watch = sqlite_watch,
    .watch_next = sqlite_watch_next,
    .watch_free = sqlite_watch_free,
    .queue_open = sq_queue_open,
    .queue_close = sq_queue_close,
    .enqueue = sq_enqueue,
    .take = sq_take,
    .ack = sq_ack,
    .retry = sq_retry,
    .touch = sq_touch,
    .job_free = sq_job_free,
    .publish = sq_publish,
    .subscribe = sq_subscribe,
    .event_next = sq_event_next,
    .sub_free = sq_sub_free,
};
