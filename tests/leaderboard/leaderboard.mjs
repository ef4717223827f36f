// seatgate-leaderboard against real stores (a SQLite file, a nats-server), fed by lb_feed
// through the store's own publish path. What every player must show is computed here, in
// JavaScript, from the very lines lb_feed published (totals, sessions, ELO by the formula
// in docs/leaderboard.md), and compared with the HTTP API:
//   - each event counts once: after a restart, after a crash right after the journal and
//     right after the records (fault points), after repeated kill -9 mid-batch;
//   - two replicas on one store: one applies (the lease), both answer the same; the applier
//     killed, the other takes over and nothing is counted twice;
//   - malformed, unknown-kind, oversize and target-less events are counted and skipped;
//   - bad parameters get 400/404/405 with a code; bad settings stop the start with a message.
// Usage: node leaderboard.mjs --lb BIN --feed BIN --out DIR
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Procs, arg, eventually, freePort, sleep } from '../support/procs.mjs';

const out = arg('out');
const bins = { lb: arg('lb'), feed: arg('feed') };
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
const procs = new Procs(out);
const KINDS = ['kill', 'death', 'score', 'assist'];
const K = 32;
const INITIAL = 1500;
const MAX_EVENT = 4096;

const get = async (url, opts = {}) => {
  const r = await fetch(url, opts);
  const text = await r.text();
  let body = null;
  try { body = JSON.parse(text); } catch { body = text; }
  return { status: r.status, body, headers: r.headers };
};

// ---- the reference: what the published lines must add up to ----
function reference(lines) {
  const players = new Map();
  const state = { pos: 0, applied: 0, malformed: 0, unknown_kind: 0, oversize: 0, unrated: 0 };
  const who = (uid, sid) => (uid ? uid : sid ? `anon-${sid}` : '');
  const player = (id, anonymous) => {
    if (!players.has(id)) players.set(id, { id, anonymous, totals: {}, sessions: 0, rating: INITIAL, rated: 0 });
    return players.get(id);
  };
  for (const line of lines) {
    state.pos++;
    if (Buffer.byteLength(line) > MAX_EVENT) { state.oversize++; continue; }
    let e;
    try { e = JSON.parse(line); } catch { state.malformed++; continue; }
    // a score event needs its session, client, kind and an integer value
    if (e.kind === 'score' && !(typeof e.session_id === 'string' && typeof e.client_id === 'string' &&
        typeof e.score_kind === 'string' && Number.isInteger(e.value))) { state.malformed++; continue; }
    if (e.kind === 'player_connect') {
      player(who(e.user_id, e.session_id), !e.user_id).sessions++;
      state.applied++;
    } else if (e.kind === 'score') {
      if (!KINDS.includes(e.score_kind)) { state.unknown_kind++; continue; }
      const id = who(e.user_id, e.session_id);
      const p = player(id, !e.user_id);
      p.totals[e.score_kind] = (p.totals[e.score_kind] || 0) + e.value;
      if (e.score_kind === 'kill' && e.value > 0) {
        const tid = who(e.target_user_id, e.target_session_id);
        if (!tid || tid === id) {
          state.unrated++;
        } else {
          const t = player(tid, !e.target_user_id);
          const expected = 1 / (1 + 10 ** ((t.rating - p.rating) / 400));
          const delta = K * (1 - expected);
          p.rating += delta;
          t.rating -= delta;
          p.rated++;
          t.rated++;
        }
      }
      state.applied++;
    }
  }
  return { players, state };
}

const readLines = (file) => fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.length);

function feed(store, app, count, seed, name, bad = true) {
  const file = path.join(out, `${name}.jsonl`);
  const args = [store, app, String(count), String(seed), file];
  if (bad) args.push('bad');
  return new Promise((resolve, reject) => {
    const c = procs.start(name, bins.feed, args);
    c.on('exit', (code) => (code === 0 ? resolve(readLines(file)) : reject(new Error(`lb_feed exited ${code}`))));
  });
}

async function startLb(name, store, app, extra = [], env = {}, wait = true) {
  const port = await freePort();
  const ready = path.join(out, `${name}.url`);
  fs.rmSync(ready, { force: true });
  const child = procs.start(name, bins.lb, ['--listen-port', String(port), '--ready-file', ready,
    '--store-url', store, '--app', app, '--instance-id', name, '--cors-origins', 'https://game.example',
    '--apply-lease', '2s', ...extra], env);
  const url = wait ? await procs.readyFile(ready, child, name) : null;
  return { child, url, name };
}
const stopLb = async (lb, signal = 'SIGTERM') => {
  if (lb.child.exitCode !== null || lb.child.signalCode !== null) return;
  const done = new Promise((r) => lb.child.on('exit', r));
  lb.child.kill(signal);
  await done;
};

const metric = async (url, name) => {
  const r = await get(`${url}/metrics`);
  const m = String(r.body).match(new RegExp(`^${name} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : null;
};

// Every player as the reference says, through GET /players/{id}; the top 10 of kills and
// of ELO through GET /leaderboard.
async function check(url, ref, what) {
  await eventually(`${what}: every player in the index`, async () => {
    for (const [id, p] of ref.players) {
      const r = await get(`${url}/players/${encodeURIComponent(id)}`);
      if (r.status !== 200) return false;
      const b = r.body;
      for (const k of KINDS) if ((b.totals[k] || 0) !== (p.totals[k] || 0)) return false;
      if (b.sessions !== p.sessions || b.rated !== p.rated) return false;
      if (Math.abs(b.rating - p.rating) > 1e-6) return false;
    }
    return true;
  });
  for (const [id, p] of ref.players) { // the same, as assertions that say what differs
    const b = (await get(`${url}/players/${encodeURIComponent(id)}`)).body;
    assert.equal(b.anonymous, p.anonymous, `${what}: ${id} anonymous`);
    for (const k of KINDS) assert.equal(b.totals[k] || 0, p.totals[k] || 0, `${what}: ${id} ${k}`);
    assert.equal(b.sessions, p.sessions, `${what}: ${id} sessions`);
    assert.ok(Math.abs(b.rating - p.rating) < 1e-6, `${what}: ${id} rating ${b.rating} vs ${p.rating}`);
  }
  const all = [...ref.players.values()];
  const byKills = all.slice().sort((a, b) => (b.totals.kill || 0) - (a.totals.kill || 0) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const top = await get(`${url}/leaderboard?kind=kill&limit=10`);
  assert.equal(top.status, 200);
  assert.deepEqual(top.body.players.map((p) => [p.rank, p.id, p.value]),
    byKills.slice(0, 10).map((p, i) => [i + 1, p.id, p.totals.kill || 0]), `${what}: top 10 kills`);
  assert.equal(top.body.players_ranked, ref.players.size);
  const byElo = all.slice().sort((a, b) => b.rating - a.rating);
  const elo = await get(`${url}/leaderboard/elo?limit=5`);
  assert.equal(elo.status, 200);
  elo.body.players.forEach((p, i) => assert.ok(Math.abs(p.value - byElo[i].rating) < 1e-6, `${what}: ELO #${i + 1}`));
  // ranks agree with the lists
  const first = await get(`${url}/players/${encodeURIComponent(top.body.players[0].id)}`);
  assert.equal(first.body.ranks.kill, 1, `${what}: rank of the top killer`);
}

async function caughtUp(url, pos, what) {
  await eventually(`${what}: applied up to ${pos}`, async () => (await metric(url, 'seatgate_leaderboard_position')) === pos);
}

async function checkState(url, ref, what) {
  for (const [name, v] of [['malformed', ref.state.malformed], ['unknown_kind', ref.state.unknown_kind],
    ['oversize', ref.state.oversize], ['unrated', ref.state.unrated]]) {
    const r = await get(`${url}/metrics`);
    const m = String(r.body).match(new RegExp(`^seatgate_leaderboard_events_skipped\\{reason="${name}"\\} (\\d+)$`, 'm'));
    assert.ok(m, `${what}: skipped ${name} exported`);
    assert.equal(Number(m[1]), v, `${what}: skipped ${name}`);
    assert.ok(v > 0, `${what}: the feed holds ${name} events`);
  }
  assert.equal(await metric(url, 'seatgate_leaderboard_events_applied'), ref.state.applied, `${what}: applied`);
}

let failed = 0;
async function scenario(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}: ${e.stack || e.message}`);
  }
}

// A store per scenario: a SQLite file, or a fresh app name on one nats-server.
async function stores() {
  const natsPort = await freePort();
  const natsDir = path.join(out, 'nats');
  fs.mkdirSync(natsDir, { recursive: true });
  procs.start('nats-server', 'nats-server', ['-js', '-a', '127.0.0.1', '-p', String(natsPort), '-sd', natsDir]);
  await eventually('nats-server', () => new Promise((r) => {
    const s = net.connect(natsPort, '127.0.0.1', () => { s.end(); r(true); }).on('error', () => r(false));
  }), 10000);
  return {
    sqlite: (n) => `sqlite://${path.join(out, `${n}.db`)}`,
    nats: () => `nats://127.0.0.1:${natsPort}`,
  };
}

try {
  const s = await stores();
  for (const backend of ['sqlite', 'nats']) {
    const store = (n) => (backend === 'sqlite' ? s.sqlite(n) : s.nats());

    await scenario(`${backend}: the feed adds up, and a restart counts nothing twice`, async () => {
      const app = `${backend}a`;
      const lines = await feed(store('a'), app, 3000, 1, `${backend}-feed-a`);
      let lb = await startLb(`${backend}-lb-a`, store('a'), app);
      let ref = reference(lines);
      await caughtUp(lb.url, lines.length, 'first run');
      await check(lb.url, ref, 'first run');
      await checkState(lb.url, ref, 'first run');
      await stopLb(lb);
      lb = await startLb(`${backend}-lb-a2`, store('a'), app);
      const more = await feed(store('a'), app, 500, 2, `${backend}-feed-a2`);
      ref = reference(lines.concat(more));
      await caughtUp(lb.url, lines.length + more.length, 'after the restart');
      await check(lb.url, ref, 'after the restart');
      await checkState(lb.url, ref, 'after the restart');
      // the HTTP API's answers to bad requests
      const bad = [
        ['/leaderboard', 400, 'bad_field'], ['/leaderboard?kind=flag_capture', 400, 'unknown_kind'],
        ['/leaderboard?kind=kill&limit=0', 400, 'bad_field'], ['/leaderboard?kind=kill&limit=abc', 400, 'bad_field'],
        ['/leaderboard/elo?limit=101', 400, 'bad_field'], ['/players/nobody', 404, 'not_found'],
        ['/nothing', 404, 'not_found'],
      ];
      for (const [p, status, code] of bad) {
        const r = await get(`${lb.url}${p}`);
        assert.equal(r.status, status, p);
        assert.equal(r.body.error.code, code, p);
      }
      const post = await get(`${lb.url}/leaderboard?kind=kill`, { method: 'POST' });
      assert.equal(post.status, 405);
      assert.equal(post.body.error.code, 'method_not_allowed');
      const allowed = await get(`${lb.url}/leaderboard/elo`, { headers: { Origin: 'https://game.example' } });
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://game.example');
      const denied = await get(`${lb.url}/leaderboard/elo`, { headers: { Origin: 'https://evil.example' } });
      assert.equal(denied.headers.get('access-control-allow-origin'), null);
      assert.equal((await get(`${lb.url}/readyz`)).status, 200);
      await stopLb(lb);
    });

    for (const [point, at] of [['after_journal', 2], ['mid_records', 2], ['after_records', 3]]) {
      await scenario(`${backend}: a crash ${point.replace('_', ' ')} (commit ${at}) loses and repeats nothing`, async () => {
        const app = `${backend}${point.replace('_', '')}`;
        const lines = await feed(store(point), app, 1500, 3, `${backend}-feed-${point}`);
        const lb = await startLb(`${backend}-lb-${point}`, store(point), app, ['--apply-batch', '100'],
          { SEATGATE_LEADERBOARD_FAULT: point, SEATGATE_LEADERBOARD_FAULT_AT: String(at) }, false);
        const code = lb.child.exitCode ?? await new Promise((r) => lb.child.on('exit', (c) => r(c)));
        assert.equal(code, 97, 'the fault point was reached');
        const again = await startLb(`${backend}-lb-${point}-2`, store(point), app, ['--apply-batch', '100']);
        await caughtUp(again.url, lines.length, point);
        const ref = reference(lines);
        await check(again.url, ref, point);
        await checkState(again.url, ref, point);
        const log = fs.readFileSync(path.join(out, `${backend}-lb-${point}-2.log`), 'utf8');
        assert.match(log, point === 'after_records' ? /event=journal_dropped/ : /event=journal_redo/);
        await stopLb(again);
      });
    }

    await scenario(`${backend}: kill -9 mid-batch, again and again`, async () => {
      const app = `${backend}k`;
      const lines = await feed(store('k'), app, 4000, 4, `${backend}-feed-k`);
      for (let i = 0; i < 6; i++) {
        const lb = await startLb(`${backend}-lb-k${i}`, store('k'), app, ['--apply-batch', '20']);
        await sleep(150 + ((i * 73) % 250));
        await stopLb(lb, 'SIGKILL');
      }
      const lb = await startLb(`${backend}-lb-k-last`, store('k'), app, ['--apply-batch', '20']);
      await caughtUp(lb.url, lines.length, 'after the kills');
      const ref = reference(lines);
      await check(lb.url, ref, 'after the kills');
      await checkState(lb.url, ref, 'after the kills');
      await stopLb(lb);
    });

    await scenario(`${backend}: two replicas, the applier killed, the other takes over`, async () => {
      const app = `${backend}r`;
      const r1 = await startLb(`${backend}-lb-r1`, store('r'), app, ['--apply-batch', '20']);
      const r2 = await startLb(`${backend}-lb-r2`, store('r'), app, ['--apply-batch', '20']);
      // undefined until the replica is ready (its index loaded): /readyz answers 503 before
      const applying = async (lb) => {
        const r = await get(`${lb.url}/readyz`);
        return r.status === 200 ? r.body.applying : undefined;
      };
      await eventually('one replica applies', async () => {
        const a = await applying(r1), b = await applying(r2);
        return a !== undefined && b !== undefined && a !== b;
      });
      const [leader, other] = (await applying(r1)) ? [r1, r2] : [r2, r1];
      const lines = await feed(store('r'), app, 2000, 5, `${backend}-feed-r`);
      await sleep(200);
      await stopLb(leader, 'SIGKILL');
      await eventually('the other replica takes over', () => applying(other), 15000);
      const more = await feed(store('r'), app, 500, 6, `${backend}-feed-r2`);
      const ref = reference(lines.concat(more));
      await caughtUp(other.url, lines.length + more.length, 'the survivor');
      await check(other.url, ref, 'the survivor');
      await checkState(other.url, ref, 'the survivor');
      // a replica that only reads answers the same
      const reader = await startLb(`${backend}-lb-r3`, store('r'), app);
      await eventually('the reading replica is ready', async () => (await applying(reader)) !== undefined);
      assert.equal(await applying(reader), false);
      await check(reader.url, ref, 'a reading replica');
      await caughtUp(reader.url, lines.length + more.length, 'a reading replica'); // its metrics too
      await stopLb(other);
      await stopLb(reader);
    });
  }

  await scenario('bad settings stop the start with a message naming them', async () => {
    const cases = [[['--score-kinds', 'Kill'], /error: score-kinds: 'Kill' is not a snake_case/],
      [['--elo-kind', 'headshot'], /error: elo-kind: must be one of score-kinds/],
      [['--elo-k', '0'], /error: --elo-k .* must be between 1 and 400/],
      [['--store-url', 'mysql://x'], /error: --store-url: unknown scheme/]];
    for (const [i, [args, words]] of cases.entries()) {
      const c = procs.start(`bad-settings-${i}`, bins.lb, ['--listen-port', '0', '--store-url', s.sqlite('bad'), ...args]);
      const code = await new Promise((r) => c.on('exit', (x) => r(x)));
      assert.equal(code, 2, args.join(' '));
      assert.match(fs.readFileSync(path.join(out, `bad-settings-${i}.log`), 'utf8'), words);
    }
  });
} catch (e) {
  failed++;
  console.log(`FAIL setup: ${e.stack || e.message}`);
} finally {
  await procs.stop();
}
console.log(failed ? `${failed} scenario(s) failed; logs in ${out}` : 'all scenarios passed');
process.exit(failed ? 1 : 0);
