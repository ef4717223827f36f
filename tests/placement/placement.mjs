// Placement, end to end on the Edgegap simulator: two game servers in Montreal, one in
// Toronto and one in Frankfurt (each a real example server: its hook writes the gameserver
// record the matchmaker places by), autodeploy regions in Montreal, Frankfurt and Tokyo, and
// players from each region sending the round trips their client measured. With
// placement=fill the matchmaker joins the fullest server with room within the budget, starts
// a new one near the player only when none fits, never overfills, and skips a server whose
// heartbeat stopped. The simulator scores each placement (its own RTT model, /_sim/state).
// Usage: node placement.mjs --sim BIN --matchmaker BIN --token BIN --server BIN --out DIR
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Procs, arg, eventually, freePort, sleep } from '../support/procs.mjs';

const out = arg('out');
const bins = { sim: arg('sim'), mm: arg('matchmaker'), token: arg('token'), server: arg('server') };
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
const procs = new Procs(out);
const API_KEY = 'placement-api-key';

const sql = (db, q) => execFileSync('sqlite3', [db, q], { encoding: 'utf8' }).trim();

const where = {
  Montreal: { city: 'Montreal', country: 'Canada', continent: 'North America', latitude: 45.5, longitude: -73.6 },
  Toronto: { city: 'Toronto', country: 'Canada', continent: 'North America', latitude: 43.65, longitude: -79.38 },
  Frankfurt: { city: 'Frankfurt', country: 'Germany', continent: 'Europe', latitude: 50.11, longitude: 8.68 },
  Tokyo: { city: 'Tokyo', country: 'Japan', continent: 'Asia', latitude: 35.68, longitude: 139.69 },
};
const servers = [
  ['a0a0a0a0a001', 'Montreal', 41001], ['a0a0a0a0a002', 'Montreal', 41002],
  ['a0a0a0a0a003', 'Toronto', 41003], ['a0a0a0a0a004', 'Frankfurt', 41004],
];
// What each region's clients measure to each location (ms), as a page pinging beacons would.
const measured = {
  mtl: { Montreal: 8, Toronto: 15, Frankfurt: 95, Tokyo: 170 },
  fra: { Frankfurt: 9, Montreal: 95, Toronto: 100, Tokyo: 230 },
  tyo: { Tokyo: 6, Montreal: 170, Toronto: 165, Frankfurt: 230 },
};
const regionIp = { mtl: (i) => `198.51.100.${i}`, fra: (i) => `203.0.113.${i}`, tyo: (i) => `192.0.2.${i}`,
  syd: (i) => `198.18.0.${i}` };

let failed = 0;
try {
  const simPort = await freePort();
  const cfg = path.join(out, 'sim.json');
  fs.writeFileSync(cfg, JSON.stringify({
    ip_locations: [
      { cidr: '198.51.100.0/24', name: 'Montreal', latitude: 45.5, longitude: -73.6 },
      { cidr: '203.0.113.0/24', name: 'Frankfurt', latitude: 50.11, longitude: 8.68 },
      { cidr: '192.0.2.0/24', name: 'Tokyo', latitude: 35.68, longitude: 139.69 },
      { cidr: '198.18.0.0/15', name: 'Sydney', latitude: -33.87, longitude: 151.21 },
    ],
    apps: [{ name: 'demo', versions: [{
      name: 'v1', session_config: { kind: 'Seat', sockets: 2, autodeploy: true },
      deployment_start_delay_ms: 300, link_within_ms: 80,
      template: { public_ip: '127.0.0.1', ports: [{ name: 'game', internal: 7000, protocol: 'UDP' }], location: where.Montreal },
      regions: ['Montreal', 'Frankfurt', 'Tokyo'].map((c) => ({ location: where[c] })),
      deployments: servers.map(([rid, city, port]) => ({ request_id: rid, public_ip: '127.0.0.1',
        ports: [{ name: 'game', internal: port, external: port, protocol: 'UDP' }], location: where[city] })),
    }] }],
  }));
  const sim = procs.start('sim', bins.sim, ['--config', cfg, '--listen-address', '127.0.0.1', '--listen-port', String(simPort),
    '--ready-file', path.join(out, 'sim.url')], { SEATGATE_SIM_API_KEY: API_KEY });
  const simUrl = await procs.readyFile(path.join(out, 'sim.url'), sim, 'the simulator');
  const state = async () => (await fetch(`${simUrl}/_sim/state`)).json();

  const db = path.join(out, 'store.db');
  const key = path.join(out, 'netcode.key');
  const keyText = execFileSync(bins.token, ['keygen'], { encoding: 'utf8' });
  fs.writeFileSync(key, `${keyText.split('\n').find((l) => /hex/.test(l)).trim().split(/\s+/).pop()}\n`, { mode: 0o600 });
  const game = {};
  for (const [rid, city, port] of servers) {
    const env = Object.fromEntries(execFileSync(bins.sim, ['--config', cfg, '--listen-port', String(simPort), '--print-env', rid],
      { encoding: 'utf8', env: { ...process.env, SEATGATE_SIM_API_KEY: API_KEY } }).trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    game[rid] = procs.start(`server-${city}-${rid}`, bins.server, ['--listen', `127.0.0.1:${port}`],
      { ...env, SEATGATE_STORE_URL: `sqlite://${db}`, SEATGATE_NETCODE_KEY_FILE: key, SEATGATE_HEARTBEAT: '500ms' });
  }
  await eventually('every game server registered', () => Number(sql(db, "select count(distinct key) from sg_kv where bucket = 'seatgate_gameserver'")) >= 4);

  const mmReady = path.join(out, 'mm.url');
  const mm = procs.start('matchmaker', bins.mm, ['--listen-address', '127.0.0.1', '--listen-port', '0', '--ready-file', mmReady,
    '--store-url', `sqlite://${db}`, '--netcode-key-file', key, '--edgegap-url', simUrl, '--edgegap-app', 'demo',
    '--edgegap-version', 'v1', '--port-name', 'game', '--trusted-proxies', '127.0.0.1/32', '--ip-rate', '0',
    '--seats-per-player', '0', '--placement', 'fill', '--placement-budget', '80ms', '--placement-refresh', '200ms',
    '--placement-stale', '2s'], { SEATGATE_EDGEGAP_API_KEY: API_KEY });
  const mmUrl = await procs.readyFile(mmReady, mm, 'the matchmaker');
  const mmLog = () => fs.readFileSync(path.join(out, 'matchmaker.log'), 'utf8');
  await sleep(500); // a read of the gameserver bucket after every server registered

  const play = async (region, i, rtts = measured[region]) => {
    const r = await fetch(`${mmUrl}/connect-me`, { method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': regionIp[region](i) },
      body: JSON.stringify({ rtts }) });
    const body = await r.json();
    assert.equal(r.status, 200, JSON.stringify(body));
    return body;
  };
  const seatOf = (st, sid) => st.sessions.find((s) => s.session_id === sid);

  // Montreal: the first two share one Montreal server (fill), the next two the other; the
  // fifth finds both full and joins Toronto (within the budget).
  const m = [];
  for (let i = 1; i <= 5; i++) m.push(await play('mtl', i));
  for (const a of m) assert.equal(a.placement.decision, 'joined', JSON.stringify(a.placement));
  assert.equal(m[0].server_id, m[1].server_id, 'the second player joins the first one\'s server');
  assert.notEqual(m[2].server_id, m[0].server_id, 'a full server is skipped');
  assert.equal(m[2].server_id, m[3].server_id);
  assert.deepEqual([m[0], m[2]].map((a) => a.placement.location), ['Montreal', 'Montreal']);
  assert.equal(m[4].server_id, 'a0a0a0a0a003');
  assert.equal(m[4].placement.location, 'Toronto');
  assert.equal(m[4].placement.rtt_ms, 15);
  assert.equal(m[4].placement.source, 'measured');
  assert.deepEqual(Object.keys(m[4].placement).sort(), ['decision', 'location', 'rtt_ms', 'source']);
  // A stale server is never chosen: Toronto's game server dies (its heartbeat stops) while it
  // still has a seat free; the next Montreal player, who would join it, gets a new seat
  // near them instead (where the platform links it is the platform's choice: it does not
  // know the game server died).
  game.a0a0a0a0a003.kill('SIGKILL');
  await sleep(2600); // past placement-stale (2 s) and a read
  const m6 = await play('mtl', 6);
  assert.equal(m6.placement.decision, 'new_server');
  assert.match(mmLog(), /event=placement ip=198\.51\.100\.6 decision=new_server server=- .* stale=1 full=2 far=1/);

  // Frankfurt: two on the Frankfurt server, the third a new one near them (autodeployed in
  // the Frankfurt region).
  const f = [await play('fra', 1), await play('fra', 2), await play('fra', 3)];
  assert.deepEqual(f.map((a) => a.placement.decision), ['joined', 'joined', 'new_server']);
  assert.equal(f[0].server_id, 'a0a0a0a0a004');
  assert.equal(f[1].server_id, 'a0a0a0a0a004');
  // Tokyo: every server is far: a new one in Tokyo.
  const t = await play('tyo', 1);
  assert.equal(t.placement.decision, 'new_server');

  let st = await state();
  const dep = (rid) => st.deployments.find((d) => d.request_id === rid);
  assert.equal(dep(f[2].server_id).location.city, 'Frankfurt', 'the platform started it near the player');
  assert.equal(dep(t.server_id).location.city, 'Tokyo');
  assert.ok(['Montreal', 'Toronto'].includes(dep(m6.server_id).location.city), dep(m6.server_id).location.city);
  // Scored by the simulator: every player within the budget of their server.
  for (const a of [...m, m6, ...f, t]) {
    const s = seatOf(st, a.session_id);
    assert.ok(s.rtt_ms !== null && s.rtt_ms <= 80, `${a.session_id}: ${s.rtt_ms} ms`);
  }
  // Never past capacity: no session was refused by a full deployment, none holds more.
  assert.equal(st.counters.sessions_unprocessable, 0);
  for (const d of st.deployments) assert.ok(d.sockets_usage <= d.sockets, JSON.stringify(d));

  // The record says how its seat was chosen; the log line what was considered.
  const rec = JSON.parse(sql(db, `select value from sg_kv where bucket = 'seatgate_sessions' and key = '${m[4].session_id}' order by rev desc limit 1`));
  assert.deepEqual(rec.placement, { decision: 'joined', location: 'Toronto', rtt_ms: 15, source: 'measured' });
  assert.match(mmLog(), /event=placement ip=198\.51\.100\.5 decision=joined server=a0a0a0a0a003 location=Toronto rtt_ms=15\.0 source=measured servers=4 stale=0 full=2 far=1/);

  // Nothing known of the player (no rtts, no position the matchmaker can read): the
  // platform decides, and the answer says so.
  const plain = await fetch(`${mmUrl}/connect-me`, { method: 'POST', headers: { 'x-forwarded-for': '198.51.100.8' } });
  const pj = await plain.json();
  assert.equal(plain.status, 200, JSON.stringify(pj));
  assert.equal(pj.placement.decision, 'platform');
  // Bad measurements are refused before anything is reserved.
  const before = (await state()).counters.sessions_created;
  const bad = await fetch(`${mmUrl}/connect-me`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '198.51.100.9' },
    body: JSON.stringify({ rtts: { Montreal: -4 } }) });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.code, 'bad_field');
  st = await state();
  assert.equal(st.counters.sessions_created, before);

  // The wait, streamed: with Accept: text/event-stream the answer is Server-Sent Events,
  // placing (how), starting (while a server boots: a Sydney player, for whom the platform
  // starts one in the nearest region), then ready with the usual body.
  const sse = await fetch(`${mmUrl}/connect-me`, { method: 'POST', headers: { 'content-type': 'application/json',
    accept: 'text/event-stream', 'x-forwarded-for': regionIp.syd(2) },
    body: JSON.stringify({ rtts: { Tokyo: 120, Montreal: 210, Toronto: 215, Frankfurt: 290 } }) });
  assert.equal(sse.status, 200);
  assert.match(sse.headers.get('content-type'), /^text\/event-stream/);
  const events = (await sse.text()).trim().split('\n\n').map((block) => {
    const ev = {};
    for (const line of block.split('\n')) {
      const i = line.indexOf(': ');
      ev[line.slice(0, i)] = line.slice(i + 2);
    }
    return { event: ev.event, data: JSON.parse(ev.data) };
  });
  const names = events.map((e) => e.event);
  assert.equal(names[0], 'placing', names.join(' '));
  assert.equal(events[0].data.decision, 'new_server');
  assert.equal(names[names.length - 1], 'ready', names.join(' '));
  assert.ok(names.length >= 3 && names.slice(1, -1).every((n) => n === 'starting'), names.join(' '));
  assert.ok(events[1].data.elapsed_s >= 0 && events[1].data.elapsed_s < 10, JSON.stringify(events[1].data));
  console.log(`     streamed: ${names.join(' ')}`);
  const ready = events[names.length - 1].data;
  assert.match(ready.session_id, /-S$/);
  assert.equal(ready.placement.decision, 'new_server');
  assert.ok(seatOf(await state(), ready.session_id), 'a real seat');
  // A refusal before the wait is a plain answer; one during it is an error event.
  const early = await fetch(`${mmUrl}/connect-me`, { method: 'POST', headers: { 'content-type': 'application/json',
    accept: 'text/event-stream' }, body: '{"rtts": 7}' });
  assert.equal(early.status, 400);
  assert.equal((await early.json()).error.code, 'bad_field');

  // GeoIP: a second matchmaker on the same store reads players' positions from a MaxMind DB
  // written here by Debian's MaxMind::DB::Writer. It has not seen the first one's players:
  // it joins the Frankfurt server by distance (5 ms: the same place), the platform refuses
  // (that deployment is full), and it decides again without that server: a new seat near
  // the player, whose position goes to the platform.
  const mmdb = path.join(out, 'cities.mmdb');
  const writeDb = (...nets) => execFileSync('perl', [path.join(path.dirname(new URL(import.meta.url).pathname), 'make-mmdb.pl'), mmdb, ...nets]);
  writeDb('203.0.113.0/24=50.11,8.68,Frankfurt', '198.51.100.0/24=45.5,-73.6,Montreal', '192.0.2.0/24=35.68,139.69,Tokyo');
  const mm2Ready = path.join(out, 'mm2.url');
  const mm2 = procs.start('matchmaker-geoip', bins.mm, ['--listen-address', '127.0.0.1', '--listen-port', '0', '--ready-file', mm2Ready,
    '--store-url', `sqlite://${db}`, '--netcode-key-file', key, '--edgegap-url', simUrl, '--edgegap-app', 'demo',
    '--edgegap-version', 'v1', '--port-name', 'game', '--trusted-proxies', '127.0.0.1/32', '--ip-rate', '0',
    '--seats-per-player', '0', '--placement', 'fill', '--placement-refresh', '200ms', '--placement-stale', '2s',
    '--geoip-db', mmdb, '--geoip-check', '300ms'], { SEATGATE_EDGEGAP_API_KEY: API_KEY });
  const mm2Url = await procs.readyFile(mm2Ready, mm2, 'the second matchmaker');
  const mm2Log = () => fs.readFileSync(path.join(out, 'matchmaker-geoip.log'), 'utf8');
  assert.match(mm2Log(), /comp=geoip event=opened path=\S+cities\.mmdb type=seatgate-test-City/);
  await sleep(400);
  const unprocessable = (await state()).counters.sessions_unprocessable;
  const geo = async (ip) => {
    const r = await fetch(`${mm2Url}/connect-me`, { method: 'POST', headers: { 'x-forwarded-for': ip } });
    const body = await r.json();
    assert.equal(r.status, 200, JSON.stringify(body));
    return body;
  };
  const g1 = await geo('203.0.113.4');
  assert.equal(g1.placement.decision, 'new_server', JSON.stringify(g1.placement));
  const log2 = mm2Log();
  assert.match(log2, /event=placement ip=203\.0\.113\.4 decision=joined server=a0a0a0a0a004 location=Frankfurt rtt_ms=5\.0 source=geoip .* geoip=found/);
  assert.match(log2, /event=placement_refused ip=203\.0\.113\.4 session_id=\S+ server=a0a0a0a0a004 status=Unprocessable/);
  assert.match(log2, /event=placement ip=203\.0\.113\.4 decision=new_server server=- .* full=\d+ .* geoip=found/);
  st = await state();
  assert.equal(st.counters.sessions_unprocessable, unprocessable + 1, 'one refusal, then a seat');
  assert.equal(dep(g1.server_id) ? dep(g1.server_id).location.city : st.deployments.find((d) => d.request_id === g1.server_id).location.city, 'Frankfurt');
  assert.ok(seatOf(st, g1.session_id).rtt_ms <= 80);
  // An address the database does not know: no position, no estimate: the platform decides.
  const g2 = await geo('100.64.0.9');
  assert.equal(g2.placement.decision, 'platform');
  assert.match(mm2Log(), /event=placement ip=100\.64\.0\.9 decision=platform .* geoip=unknown/);
  // The database is replaced in place: it is reopened without a restart (203.0.113.0/24 is
  // now in Tokyo); a broken replacement is refused and the last good one stays in use.
  writeDb('203.0.113.0/24=35.68,139.69,Tokyo');
  await eventually('the new database opened', async () => {
    await geo('203.0.113.20');
    return /comp=geoip event=reloaded/.test(mm2Log());
  });
  await geo('203.0.113.21');
  assert.match(mm2Log(), /event=placement ip=203\.0\.113\.21 decision=new_server .* far=\d+ .* geoip=found/);
  fs.writeFileSync(`${mmdb}.tmp`, 'not a database');
  fs.renameSync(`${mmdb}.tmp`, mmdb);
  await eventually('the broken one refused', async () => {
    await geo('203.0.113.22');
    return /comp=geoip event=reload_failed/.test(mm2Log());
  });
  await geo('203.0.113.23');
  assert.match(mm2Log(), /event=placement ip=203\.0\.113\.23 \S+ .* geoip=found/, 'the last good database answers');
  // GeoIP without placement is a mistake named at start.
  const lone = procs.start('matchmaker-lone', bins.mm, ['--listen-port', '0', '--store-url', `sqlite://${path.join(out, 'lone.db')}`,
    '--netcode-key-file', key, '--edgegap-url', simUrl, '--edgegap-app', 'demo', '--edgegap-version', 'v1',
    '--geoip-db', mmdb], { SEATGATE_EDGEGAP_API_KEY: API_KEY });
  assert.equal(await new Promise((r) => lone.on('exit', r)), 2);
  assert.match(fs.readFileSync(path.join(out, 'matchmaker-lone.log'), 'utf8'), /--geoip-db: is read by placement=fill or nearest only/);

  // In line: a matchmaker whose Edgegap pace lets one call a second through. Three plain
  // requests take the next seconds of it; a streamed one is then told it is queued, with
  // its position and the wait that position stands for (1 s per call ahead), then ready.
  const pacedReady = path.join(out, 'paced.url');
  const paced = procs.start('matchmaker-paced', bins.mm, ['--listen-address', '127.0.0.1', '--listen-port', '0',
    '--ready-file', pacedReady, '--store-url', `sqlite://${path.join(out, 'paced.db')}`, '--netcode-key-file', key,
    '--edgegap-url', simUrl, '--edgegap-app', 'demo', '--edgegap-version', 'v1', '--port-name', 'game',
    '--trusted-proxies', '127.0.0.1/32', '--ip-rate', '0', '--seats-per-player', '0',
    '--edgegap-rate', '1', '--edgegap-burst', '1', '--edgegap-delete-share', '0'], { SEATGATE_EDGEGAP_API_KEY: API_KEY });
  const pacedUrl = await procs.readyFile(pacedReady, paced, 'the paced matchmaker');
  const ahead = [1, 2, 3].map((i) => fetch(`${pacedUrl}/connect-me`, { method: 'POST',
    headers: { 'x-forwarded-for': regionIp.mtl(60 + i) } }));
  await sleep(300); // their creates have taken their places in line
  const inLine = await fetch(`${pacedUrl}/connect-me`, { method: 'POST', headers: { accept: 'text/event-stream',
    'x-forwarded-for': regionIp.mtl(70) } });
  const lineEvents = (await inLine.text()).trim().split('\n\n').map((block) => {
    const ev = Object.fromEntries(block.split('\n').map((l) => [l.slice(0, l.indexOf(': ')), l.slice(l.indexOf(': ') + 2)]));
    return { event: ev.event, data: JSON.parse(ev.data) };
  });
  const lineNames = lineEvents.map((e) => e.event);
  assert.deepEqual(lineNames.slice(0, 2), ['placing', 'queued'], lineNames.join(' '));
  assert.equal(lineNames[lineNames.length - 1], 'ready', lineNames.join(' '));
  const q = lineEvents[1].data;
  assert.ok(Number.isInteger(q.position) && q.position >= 2, JSON.stringify(q));
  assert.ok(Math.abs(q.wait_ms - (q.position - 1) * 1000) <= 1000, JSON.stringify(q));
  for (const r of await Promise.all(ahead)) assert.equal(r.status, 200);
  console.log(`     in line: ${lineNames.join(' ')} (position ${q.position}, ${q.wait_ms} ms)`);
  console.log('ok   placement=fill on three locations');
} catch (e) {
  failed = 1;
  console.log(`FAIL placement=fill on three locations\n     ${e.stack.split('\n').slice(0, 8).join('\n     ')}`);
}
await procs.stop();
process.exit(failed);
