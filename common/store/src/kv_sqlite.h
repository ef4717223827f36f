/* SQLite backend internals shared by kv_sqlite.c (buckets, watch, sweep) and
 * kv_sqlite_queue.c (work queue, events). */
#ifndef SEATGATE_KV_SQLITE_H
#define SEATGATE_KV_SQLITE_H

#include <pthread.h>
#include <sqlite3.h>

#include "kv_backend.h"

/* Prepared statements, cached per connection. */
typedef enum sql_id {
    Q_BUCKET_GET,
    Q_BUCKET_ADD,
    Q_SEQ_NEXT,
    Q_SEQ_SET,
    Q_LATEST,
    Q_INSERT,
    Q_KEYS,
    Q_KEYS_PAGE,
    Q_KEYS_PAGE_META,
    Q_SINCE_PAGE,
    Q_CHANGES,
    Q_SEQ_GET,
    Q_JOB_ADD,
    Q_JOB_READY,
    Q_JOB_NEXT,
    Q_JOB_LEASE,
    Q_JOB_ACK,
    Q_JOB_RETRY,
    Q_JOB_TOUCH,
    Q_EVENT_ADD,
    Q_EVENT_MAX,
    Q_EVENT_NEXT,
    Q_EVENT_NEXT_KIND,
    Q_BEGIN,
    Q_BEGIN_WRITE,
    Q_COMMIT,
    Q_ROLLBACK,
    Q_SAVEPOINT,
    Q_RELEASE,
    Q_ROLLBACK_TO,
    Q_SWEEP_BUCKET,
    Q_SWEEP_ROWS,
    Q_SWEEP_LATER,
    Q_SWEEP_DELETE,
    Q_COUNT
} sql_id;

typedef struct sq_write sq_write;

/* Buckets whose revision counter one write transaction keeps in memory (more are counted
 * in sg_buckets directly). */
#define SQ_SEQS 8

typedef struct sqlite_store {
    sqlite3 *db;
    pthread_mutex_t mu; /* one connection, one caller at a time (recursive: a batch holds it
                         * while the calls inside it take it again) */
    /* A batch is open (sq_batch_begin, under mu): transactions inside it are savepoints, and
     * bucket writes skip the group commit (the batch's COMMIT is theirs). */
    bool in_batch;
    /* Each bucket's last revision, read once per write transaction and written back just
     * before its COMMIT (the transaction holds the file's write lock, so no other connection
     * moves it meanwhile): a write then costs no UPDATE of sg_buckets of its own. Emptied
     * whenever a transaction begins or is undone; a call undone inside a batch leaves a gap
     * in the revisions, never a repeat. */
    struct sq_seq {
        char bucket[SG_KV_APP_MAX + 128];
        sqlite3_int64 seq;
    } seqs[SQ_SEQS];
    int nseqs;
    sqlite3_stmt *stmt[Q_COUNT];
    long long last_sweep_ms;
    /* A sweep pass under way: the bucket it is in, the last revision it looked at. */
    bool sweeping, sweep_bucket_done;
    long long sweep_now, sweep_ttl_ms;
    char sweep_bucket[SG_KV_APP_MAX + 128];
    sqlite3_int64 sweep_rev;
    /* Group commit: bucket writes from concurrent threads queue here; one of them (the
     * leader) applies the whole queue in one transaction while the others wait. */
    pthread_mutex_t gmu;
    pthread_cond_t gcv;
    sq_write *gqueue, *gtail;
    bool gleader;
    /* Checkpoints run on their own thread and connection (started at the first full WAL),
     * so no commit waits for pages to be copied back into the database file. */
    pthread_mutex_t cmu;
    pthread_cond_t ccv;
    pthread_t checkpointer;
    bool checkpointer_started, checkpoint_wanted, checkpointer_stop, checkpointer_gone;
    bool checkpoint_running;    /* the checkpointer is in a pass */
    int wal_frames, backfilled; /* the WAL's frames at the last commit; copied back of them */
    char *path;                 /* the file, for the checkpointer's and reader's connections */
    /* Reads made outside a batch (gets, listings, watch polls: the reaper, the reconciler,
     * a game server's hook) run on a connection of their own, under rmu, not mu: in WAL mode
     * a reader never waits for the writer, so a walk of every record does not hold the flow
     * loop's commits up, nor they the walk. Each read sees the last commit (a batch's writes
     * once it is committed, as before). Opened at the first such read; if that fails
     * (logged once), reads share the main connection under mu, as writes do. */
    pthread_mutex_t rmu;
    sqlite3 *rdb;
    sqlite3_stmt *rstmt[Q_COUNT];
    bool reader_failed;
    /* Jobs enqueued through this store: takers in this process wait on jcv for the count to
     * change instead of sleeping a whole poll interval (other processes' jobs are still
     * found by polling). */
    pthread_mutex_t jmu;
    pthread_cond_t jcv;
    unsigned long long jobs_added;
} sqlite_store;

/* Returns the statement, reset and with bindings cleared, or NULL (error set). Caller holds mu. */
sqlite3_stmt *sq_stmt(sqlite_store *ss, sql_id id);

/* Maps an SQLite result code to an sg_status with a message; `what` names the operation. */
sg_status sq_fail(sqlite_store *ss, int rc, const char *what);

/* BEGIN IMMEDIATE (write) or BEGIN (read); COMMIT; ROLLBACK. Caller holds mu. */
sg_status sq_begin(sqlite_store *ss, bool write);
sg_status sq_commit(sqlite_store *ss);
void sq_rollback(sqlite_store *ss);

/* Runs a sweep when the interval has passed since the last one. Caller holds mu, outside a
 * transaction. */
void sq_maybe_sweep(sg_store *s);

/* Queue and event functions live in kv_sqlite_queue.c. */
sg_status sq_queue_open(sg_queue *q);
void sq_queue_close(sg_queue *q);
sg_status sq_enqueue(sg_queue *q, const char *payload, size_t len);
sg_status sq_take(sg_queue *q, long long wait_ms, sg_job *j);
sg_status sq_ack(sg_job *j);
sg_status sq_retry(sg_job *j, long long delay_ms);
sg_status sq_touch(sg_job *j);
void sq_job_free(sg_job *j);
sg_status sq_publish(sg_store *s, const char *kind, const char *json, size_t len);
sg_status sq_subscribe(sg_event_sub *sub);
sg_status sq_event_next(sg_event_sub *sub, long long timeout_ms, char **kind, char **json);
void sq_sub_free(sg_event_sub *sub);

/* Poll interval of waits (watch, events). */
#define SQ_POLL_MS 10
/* A waiting taker's look for jobs this process did not add (another process's, a retry or a
 * lease coming due): this process's own wake it at once, so the look can be rare, and idle
 * takers cost next to nothing (at 10 ms, the two delete workers took 9 to 16 ms of CPU a second
 * in a matchmaker with nothing to do). */
#define SQ_TAKE_POLL_MS 100
/* Keys read by one statement of sg_kv_each (the connection is let go between pages). */
#define SQ_EACH_PAGE 256

#endif
