// The Agones platform against seatgate-agones-sim: the simulator's own API shapes and state
// machine (group "sim"), and the matchmaker allocating seats through it (group "matchmaker").
// Certificates come from the openssl command line; requests go through node's own HTTP and
// TLS stacks, so nothing here is checked by the code under test.
// Group "gameserver" runs the example game server (the hook on the Agones platform) against
// the simulator's sidecars, with the matchmaker handing out seats and the example client
// playing.
// Group "auth" has players sign in (Nakama session tokens, another issuer's) on /connect-me.
// Usage: node agones.mjs --group sim|matchmaker|gameserver|auth --sim BIN --matchmaker BIN
//          --token BIN --server BIN --client BIN --out DIR
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import https from 'node:https';
import path from 'node:path';
import { Procs, arg, eventually, sleep } from '../support/procs.mjs';

const group = arg('group');
const out = arg('out');
const bins = { sim: arg('sim'), mm: arg('matchmaker'), token: arg('token'), server: arg('server'),
  client: arg('client') };
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });
const procs = new Procs(out);

// ---- helpers ---------------------------------------------------------------------------

function request(url, { method = 'GET', body, headers = {}, tls } = {}) {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const mod = u.protocol === 'https:' ? https : http;
    const data = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    const req = mod.request(u, {
      method, headers: { ...(data !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      agent: false, ...(tls || {}),
    }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { text += c; });
      res.on('end', () => {
        let json = null;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error(`${method} ${url}: no answer in 10 s`)));
    if (data !== undefined) req.write(data);
    req.end();
  });
}


let seq = 0;
async function startSim(config, extra = []) {
  const n = ++seq;
  const cfg = path.join(out, `fleet-${n}.json`);
  fs.writeFileSync(cfg, JSON.stringify(config));
  const ready = path.join(out, `sim-${n}.ready`);
  const child = procs.start(`sim-${n}`, bins.sim, ['--config', cfg, '--ready-file', ready, ...extra]);
  const [alloc, admin] = (await procs.readyFile(ready, child, 'seatgate-agones-sim')).split(' ');
  const state = async () => (await request(`${admin}/_sim/state`)).json;
  return { alloc, admin, child, state };
}

const node = (ext = '127.0.0.1') => ({
  name: 'node-a',
  addresses: [{ type: 'Hostname', address: 'node-a' }, { type: 'ExternalIP', address: ext },
    { type: 'InternalIP', address: '10.0.0.11' }],
});
const fleet = (over = {}) => ({
  namespace: 'default', fleet: 'game', replicas: 2, autoReady: true, nodes: [node()],
  ports: [{ name: 'game', portPolicy: 'Passthrough', protocol: 'UDP' }],
  lists: { players: { capacity: 2 } }, ...over,
});
const selectors = [
  { matchLabels: { 'agones.dev/fleet': 'game' }, gameServerState: 'ALLOCATED', lists: { players: { minAvailable: '1' } } },
  { matchLabels: { 'agones.dev/fleet': 'game' }, gameServerState: 'READY' },
];
const allocBody = (seat) => ({ namespace: 'default', gameServerSelectors: selectors,
  lists: { players: { addValues: [seat] } } });

function certs() {
  const dir = path.join(out, 'certs');
  fs.mkdirSync(dir, { recursive: true });
  const ossl = (...a) => execFileSync('openssl', a, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const key = (name) => ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`];
  ossl('req', '-x509', ...key('ca'), '-out', 'ca.crt', '-days', '2', '-subj', '/CN=allocator-ca');
  fs.writeFileSync(path.join(dir, 'server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  fs.writeFileSync(path.join(dir, 'client.ext'), 'extendedKeyUsage=clientAuth\n');
  for (const [name, ext] of [['server', 'server.ext'], ['client', 'client.ext']]) {
    ossl('req', ...key(name), '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    ossl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
      '-out', `${name}.crt`, '-days', '2', '-extfile', ext);
  }
  ossl('req', '-x509', ...key('stranger'), '-out', 'stranger.crt', '-days', '2', '-subj', '/CN=stranger');
  const f = (n) => path.join(dir, n);
  return { dir, f, read: (n) => fs.readFileSync(f(n)) };
}

const keys = (o) => Object.keys(o).sort();

// ---- the simulator ---------------------------------------------------------------------

const simCases = {
  async 'allocation answers carry every field, int64 values as strings'() {
    const sim = await startSim(fleet());
    await eventually('servers Ready', async () => (await sim.state()).gameservers.every((g) => g.state === 'Ready'));
    const r = await request(`${sim.alloc}/gameserverallocation`, { method: 'POST', body: allocBody('seat-a') });
    assert.equal(r.status, 200, r.text);
    // AllocationResponse in allocation.swagger.json, every field emitted.
    assert.deepEqual(keys(r.json), ['address', 'addresses', 'counters', 'gameServerName', 'lists',
      'metadata', 'nodeName', 'ports', 'source']);
    assert.equal(r.json.source, 'local');
    assert.equal(r.json.address, '127.0.0.1');
    assert.equal(r.json.nodeName, 'node-a');
    assert.equal(typeof r.json.ports[0].port, 'number');
    assert.ok(r.json.ports[0].port >= 7000 && r.json.ports[0].port <= 8000);
    assert.deepEqual(r.json.lists, { players: { capacity: '2', values: ['seat-a'] } });
    assert.ok(r.json.addresses.some((a) => a.type === 'PodIP'), 'the pod address is listed');
    assert.deepEqual(keys(r.json.metadata), ['annotations', 'labels']);
    assert.equal(r.json.metadata.labels['agones.dev/fleet'], 'game');
  },

  async 'no capacity, contention, bad bodies and unknown routes answer like grpc-gateway'() {
    const sim = await startSim(fleet({ replicas: 1, lists: { players: { capacity: 1 } } }));
    await eventually('Ready', async () => (await sim.state()).gameservers[0].state === 'Ready');
    assert.equal((await request(`${sim.alloc}/gameserverallocation`, { method: 'POST', body: allocBody('a') })).status, 200);
    const full = await request(`${sim.alloc}/gameserverallocation`, { method: 'POST', body: allocBody('b') });
    assert.equal(full.status, 429);
    assert.deepEqual(full.json, { code: 8, message: 'there is no available GameServer to allocate', details: [] });
    await request(`${sim.admin}/_sim/faults`, { method: 'POST', body: { allocate: { status: 409, count: 1 } } });
    const busy = await request(`${sim.alloc}/gameserverallocation`, { method: 'POST', body: allocBody('c') });
    assert.equal(busy.status, 409);
    assert.equal(busy.json.code, 10);
    const bad = await request(`${sim.alloc}/gameserverallocation`, { method: 'POST', body: '{"namespace":' });
    assert.equal(bad.status, 400);
    assert.equal(bad.json.code, 3);
    const badEnum = await request(`${sim.alloc}/gameserverallocation`, { method: 'POST',
      body: { namespace: 'default', gameServerSelectors: [{ gameServerState: 'Sleeping' }] } });
    assert.equal(badEnum.status, 400);
    assert.equal((await request(`${sim.alloc}/gameserverallocation`)).status, 405);
    assert.equal((await request(`${sim.alloc}/nothing`)).status, 404);
    const st = (await sim.state()).allocations;
    assert.equal(st.contention, 1);
    assert.equal(st.unallocated, 1);
  },

  async 'Packed fills the server that has players before a Ready one'() {
    const sim = await startSim(fleet({ replicas: 3 }));
    await eventually('Ready', async () => (await sim.state()).gameservers.every((g) => g.state === 'Ready'));
    const names = [];
    for (const seat of ['p1', 'p2', 'p3', 'p4']) {
      const r = await request(`${sim.alloc}/gameserverallocation`, { method: 'POST', body: allocBody(seat) });
      assert.equal(r.status, 200, r.text);
      names.push(r.json.gameServerName);
    }
    assert.equal(names[0], names[1], 'the second player joins the first');
    assert.notEqual(names[1], names[2], 'a full server is passed over');
    assert.equal(names[2], names[3]);
    const states = (await sim.state()).gameservers.map((g) => g.state).sort();
    assert.deepEqual(states, ['Allocated', 'Allocated', 'Ready']);
  },

  async 'the SDK sidecar serves the GameServer with every field, and Lists'() {
    const sim = await startSim(fleet({ replicas: 1, autoReady: false }));
    const gs = (await sim.state()).gameservers[0];
    const sdk = `http://127.0.0.1:${gs.sdkPort}`;
    let g = (await request(`${sdk}/gameserver`)).json;
    assert.equal(g.status.state, 'Scheduled');
    assert.deepEqual(keys(g), ['object_meta', 'spec', 'status']);
    assert.deepEqual(keys(g.object_meta), ['annotations', 'creation_timestamp', 'deletion_timestamp',
      'generation', 'labels', 'name', 'namespace', 'resource_version', 'uid']);
    assert.equal(typeof g.object_meta.creation_timestamp, 'string');
    assert.equal(typeof g.object_meta.generation, 'string');
    assert.deepEqual(keys(g.spec.health), ['disabled', 'failure_threshold', 'initial_delay_seconds', 'period_seconds']);
    assert.deepEqual(keys(g.status), ['address', 'addresses', 'counters', 'lists', 'players', 'ports', 'state']);
    assert.equal((await request(`${sdk}/ready`, { method: 'POST', body: {} })).status, 200);
    g = await eventually('Ready', async () => {
      const x = (await request(`${sdk}/gameserver`)).json;
      return x.status.state === 'Ready' && x;
    });
    assert.equal(g.object_meta.name, gs.name);
    const add = (v) => request(`${sdk}/v1beta1/lists/players:addValue`, { method: 'POST', body: { value: v } });
    const del = (v) => request(`${sdk}/v1beta1/lists/players:removeValue`, { method: 'POST', body: { value: v } });
    assert.deepEqual((await add('x')).json, { name: 'players', capacity: '2', values: ['x'] });
    assert.equal((await add('x')).status, 409, 'AlreadyExists');
    assert.equal((await add('y')).status, 200);
    assert.equal((await add('z')).status, 400, 'OutOfRange at capacity');
    assert.equal((await del('x')).status, 200);
    assert.equal((await del('x')).status, 404, 'NotFound');
    assert.equal((await request(`${sdk}/v1beta1/lists/nope`)).status, 404);
    assert.equal((await request(`${sdk}/alpha/player/connect`, { method: 'POST', body: { playerID: 'a' } })).status, 500,
      'player tracking is off');
    const lab = await request(`${sdk}/metadata/label`, { method: 'PUT', body: { key: 'mode', value: 'ffa' } });
    assert.equal(lab.status, 200);
    assert.equal((await sim.state()).gameservers[0].labels['agones.dev/sdk-mode'], 'ffa');
  },

  async 'health: an empty body is no ping; each object is one; a silent server goes Unhealthy and is replaced'() {
    const sim = await startSim(fleet({ replicas: 2, autoReady: false,
      health: { periodSeconds: 1, failureThreshold: 2, initialDelaySeconds: 0 } }));
    const [a, b] = (await sim.state()).gameservers;
    const sdkA = `http://127.0.0.1:${a.sdkPort}`;
    assert.equal((await request(`${sdkA}/health`, { method: 'POST' })).status, 400);
    assert.equal((await request(`${sdkA}/health`, { method: 'POST', body: '{}{}{}' })).status, 200);
    assert.equal((await sim.state()).gameservers.find((g) => g.name === a.name).healthPings, 3);
    const ping = setInterval(() => { request(`${sdkA}/health`, { method: 'POST', body: {} }).catch(() => {}); }, 300);
    try {
      await eventually('the silent one Unhealthy', async () =>
        (await sim.state()).gameservers.find((g) => g.name === b.name)?.state === 'Unhealthy', 6000);
      await eventually('replaced', async () => {
        const names = (await sim.state()).gameservers.map((g) => g.name);
        return !names.includes(b.name) && names.length === 2;
      }, 4000);
      const aNow = (await sim.state()).gameservers.find((g) => g.name === a.name);
      assert.equal(aNow.state, 'Scheduled', 'the one that pings stays');
    } finally { clearInterval(ping); }
  },

  async 'a dead sidecar refuses connections, the server goes Unhealthy and its seats go with it'() {
    const sim = await startSim(fleet({ replicas: 1, health: { periodSeconds: 1, failureThreshold: 2, initialDelaySeconds: 0 } }));
    await eventually('Ready', async () => (await sim.state()).gameservers[0].state === 'Ready');
    const r = await request(`${sim.alloc}/gameserverallocation`, { method: 'POST', body: allocBody('seat-x') });
    assert.equal(r.status, 200);
    const gs = (await sim.state()).gameservers[0];
    await request(`${sim.admin}/_sim/gameservers/${gs.name}/sidecar`, { method: 'POST', body: { dead: true } });
    await assert.rejects(eventually('refused', () => request(`http://127.0.0.1:${gs.sdkPort}/gameserver`)
      .then(() => { throw new Error('answered'); }), 2000), /refused|ECONNREFUSED|not within/);
    await eventually('Unhealthy', async () => (await sim.state()).gameservers.find((g) => g.name === gs.name)?.state === 'Unhealthy', 6000);
    const after = await eventually('replaced', async () => {
      const s = await sim.state();
      return s.gameservers.length === 1 && s.gameservers[0].name !== gs.name && s.gameservers[0];
    }, 5000);
    assert.deepEqual(after.lists.players.values, [], 'the new server holds no seat');
  },

  async 'shutdown: the server is removed and the fleet makes a new one'() {
    const sim = await startSim(fleet({ replicas: 1 }));
    const gs = (await sim.state()).gameservers[0];
    assert.equal((await request(`http://127.0.0.1:${gs.sdkPort}/shutdown`, { method: 'POST', body: {} })).status, 200);
    assert.equal((await sim.state()).gameservers[0].state, 'Shutdown');
    await eventually('replaced', async () => {
      const s = await sim.state();
      return s.gameservers.length === 1 && s.gameservers[0].name !== gs.name;
    }, 4000);
  },

  async 'mTLS: a client certificate from the CA is required, in the handshake'() {
    const c = certs();
    const sim = await startSim(fleet({ replicas: 1 }), ['--tls-cert', c.f('server.crt'), '--tls-key', c.f('server.key'),
      '--client-ca', c.f('ca.crt')]);
    assert.match(sim.alloc, /^https:/);
    const url = `${sim.alloc.replace('127.0.0.1', 'localhost')}/gameserverallocation`;
    const body = { namespace: 'elsewhere' };
    const good = await request(url, { method: 'POST', body, tls: { ca: c.read('ca.crt'), cert: c.read('client.crt'), key: c.read('client.key') } });
    assert.equal(good.status, 429, 'an HTTP answer: the handshake passed');
    await assert.rejects(request(url, { method: 'POST', body, tls: { ca: c.read('ca.crt') } }));
    await assert.rejects(request(url, { method: 'POST', body, tls: { ca: c.read('ca.crt'), cert: c.read('stranger.crt'), key: c.read('stranger.key') } }));
    await eventually('counted', async () => (await sim.state()).allocations.refusedClientCertificates === 2);
    assert.equal((await sim.state()).allocations.total, 1, 'refused connections reach no route');
  },
};

// ---- the matchmaker on Agones ----------------------------------------------------------

async function startMatchmaker(name, args, { expectExit = false, db = null } = {}) {
  const keyFile = path.join(out, 'netcode.key');
  if (!fs.existsSync(keyFile)) {
    const text = execFileSync(bins.token, ['keygen'], { encoding: 'utf8' });
    fs.writeFileSync(keyFile, `${text.split('\n').find((l) => /hex/.test(l)).trim().split(/\s+/).pop()}\n`, { mode: 0o600 });
  }
  const ready = path.join(out, `${name}.url`);
  const all = ['--platform', 'agones', '--listen-port', '0', '--ready-file', ready,
    '--store-url', `sqlite://${db || path.join(out, `${name}.db`)}`, '--netcode-key-file', keyFile,
    '--ip-rate', '0', '--trusted-proxies', '127.0.0.1/32', '--agones-fleet', 'game', ...args];
  const child = procs.start(name, bins.mm, all);
  if (expectExit) {
    const code = await new Promise((r) => child.on('exit', r));
    return { code, log: fs.readFileSync(path.join(out, `${name}.log`), 'utf8') };
  }
  const url = await procs.readyFile(ready, child, 'seatgate-matchmaker');
  return { url, child, log: () => fs.readFileSync(path.join(out, `${name}.log`), 'utf8') };
}

const connect = (mm, ip) => request(`${mm.url}/connect-me`, { method: 'POST', headers: { 'x-forwarded-for': ip } });
const ready = (sim) => eventually('servers Ready', async () => (await sim.state()).gameservers.every((g) => g.state === 'Ready'));

const mmCases = {
  async 'players join a server with players on; a full fleet answers 503 no_capacity with Retry-After'() {
    const sim = await startSim(fleet({ replicas: 2 }));
    await ready(sim);
    const mm = await startMatchmaker('mm-fill', ['--agones-allocator-url', sim.alloc, '--agones-no-capacity-retry', '7s']);
    const answers = [];
    for (let i = 1; i <= 4; i++) {
      const r = await connect(mm, `203.0.113.${i}`);
      assert.equal(r.status, 200, r.text);
      answers.push(r.json);
    }
    const st = await sim.state();
    const byPort = Object.fromEntries(st.gameservers.map((g) => [g.ports[0].port, g]));
    assert.equal(answers[0].port, answers[1].port, 'the second player joins the first');
    assert.notEqual(answers[1].port, answers[2].port);
    for (const a of answers) {
      const g = byPort[a.port];
      assert.ok(g, `port ${a.port} is a GameServer's`);
      assert.equal(a.host, g.address);
      assert.ok(g.lists.players.values.includes(a.session_id), 'the seat is in that server\'s list');
      assert.equal(a.token.length, 2732);
    }
    const full = await connect(mm, '203.0.113.9');
    assert.equal(full.status, 503);
    assert.equal(full.json.error.code, 'no_capacity');
    assert.equal(full.headers['retry-after'], '7');
  },

  async 'contention is retried; contention that lasts is 503 platform_busy'() {
    const sim = await startSim(fleet({ replicas: 1, lists: { players: { capacity: 10 } } }));
    await ready(sim);
    const mm = await startMatchmaker('mm-busy', ['--agones-allocator-url', sim.alloc, '--agones-contention-retries', '3']);
    await request(`${sim.admin}/_sim/faults`, { method: 'POST', body: { allocate: { status: 409, count: 2 } } });
    const ok = await connect(mm, '203.0.113.1');
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await sim.state()).allocations.contention, 2);
    await request(`${sim.admin}/_sim/faults`, { method: 'POST', body: { allocate: { status: 409, count: -1 } } });
    const busy = await connect(mm, '203.0.113.2');
    assert.equal(busy.status, 503, busy.text);
    assert.equal(busy.json.error.code, 'platform_busy');
    assert.ok(Number(busy.headers['retry-after']) >= 1);
    assert.equal((await sim.state()).allocations.contention, 2 + 4, 'one attempt and three retries');
  },

  async 'a seat nobody claims is removed from the list by the reaper'() {
    const sim = await startSim(fleet({ replicas: 1 }));
    await ready(sim);
    const mm = await startMatchmaker('mm-reap', ['--agones-allocator-url', sim.alloc, '--token-expire', '1',
      '--claim-grace', '0', '--reap-interval', '300ms']);
    const r = await connect(mm, '203.0.113.1');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual((await sim.state()).gameservers[0].lists.players.values, [r.json.session_id]);
    await eventually('the seat removed', async () => (await sim.state()).gameservers[0].lists.players.values.length === 0, 10000);
  },

  async 'mTLS: with the client certificate the matchmaker is ready; without one /readyz names the settings'() {
    const c = certs();
    const sim = await startSim(fleet({ replicas: 1 }), ['--tls-cert', c.f('server.crt'), '--tls-key', c.f('server.key'),
      '--client-ca', c.f('ca.crt')]);
    await ready(sim);
    const url = sim.alloc.replace('127.0.0.1', 'localhost');
    const good = await startMatchmaker('mm-mtls', ['--agones-allocator-url', url, '--agones-ca-cert', c.f('ca.crt'),
      '--agones-client-cert', c.f('client.crt'), '--agones-client-key', c.f('client.key')]);
    await eventually('ready', async () => (await request(`${good.url}/readyz`)).status === 200);
    const r = await connect(good, '203.0.113.1');
    assert.equal(r.status, 200, r.text);
    for (const [name, extra] of [['mm-nocert', []],
      ['mm-stranger', ['--agones-client-cert', c.f('stranger.crt'), '--agones-client-key', c.f('stranger.key')]]]) {
      const bad = await startMatchmaker(name, ['--agones-allocator-url', url, '--agones-ca-cert', c.f('ca.crt'), ...extra]);
      const rz = await eventually('not ready, with a reason', async () => {
        const x = await request(`${bad.url}/readyz`);
        return x.status === 503 && /agones-client-cert/.test(x.text) && x;
      });
      assert.match(rz.text, /Agones allocator/);
      assert.match(bad.log(), /TLS/);
    }
  },

  async 'exposure modes: the address and port each one hands out'() {
    const sim = await startSim(fleet({ replicas: 1, lists: { players: { capacity: 10 } } }));
    await ready(sim);
    const gs = (await sim.state()).gameservers[0];
    const host = await startMatchmaker('mm-host', ['--agones-allocator-url', sim.alloc]);
    const h = (await connect(host, '203.0.113.1')).json;
    assert.deepEqual([h.host, h.port], ['127.0.0.1', gs.ports[0].port]);
    const internal = await startMatchmaker('mm-internal', ['--agones-allocator-url', sim.alloc, '--agones-address-type', 'InternalIP']);
    assert.equal((await connect(internal, '203.0.113.2')).json.host, '10.0.0.11');
    const np = await startMatchmaker('mm-nodeport', ['--agones-allocator-url', sim.alloc, '--agones-exposure', 'nodeport',
      '--agones-node-port', '30123']);
    const n = (await connect(np, '203.0.113.3')).json;
    assert.deepEqual([n.host, n.port], ['127.0.0.1', 30123]);
    const refused = await startMatchmaker('mm-cp-refused', ['--agones-allocator-url', sim.alloc, '--agones-exposure',
      'containerport', '--agones-container-port', '7654'], { expectExit: true });
    assert.equal(refused.code, 2);
    assert.match(refused.log, /agones-allow-containerport/);
    const cp = await startMatchmaker('mm-cp', ['--agones-allocator-url', sim.alloc, '--agones-exposure', 'containerport',
      '--agones-container-port', '7654', '--agones-allow-containerport']);
    const c2 = (await connect(cp, '203.0.113.4')).json;
    assert.match(c2.host, /^10\.244\./);
    assert.equal(c2.port, 7654);
    const gw = await startMatchmaker('mm-gateway', ['--agones-allocator-url', sim.alloc, '--agones-exposure', 'gateway',
      '--agones-gateway-url', 'wss://play.example.com/game/{server}/{port}']);
    const g = (await connect(gw, '203.0.113.5')).json;
    assert.equal(g.gateway_url, `wss://play.example.com/game/${gs.name}/${gs.ports[0].port}`);
    assert.equal(g.route, gs.name);
    assert.equal(g.server_id, gs.name);
    assert.deepEqual([g.host, g.port, g.protocol], ['127.0.0.1', gs.ports[0].port, 'WSS'], 'the token names the server itself');
    assert.equal(h.gateway_url, undefined, 'no gateway fields without a gateway');
    const metrics = (await request(`${gw.url}/metrics`)).text;
    assert.match(metrics, /seatgate_seats_handed_out_total\{exposure="gateway"\} 1/);
    assert.match((await request(`${np.url}/metrics`)).text, /seatgate_seats_handed_out_total\{exposure="nodeport"\} 1/);
    const noUrl = await startMatchmaker('mm-gw-nourl', ['--agones-allocator-url', sim.alloc, '--agones-exposure', 'gateway'],
      { expectExit: true });
    assert.equal(noUrl.code, 2);
    assert.match(noUrl.log, /agones-gateway-url/);
  },

  async 'seat tokens (token-kind both, jwt): signed, and verified here with node crypto'() {
    const sim = await startSim(fleet({ replicas: 1, lists: { players: { capacity: 10 } } }));
    await ready(sim);
    const keys = path.join(out, 'seat-keys.json');
    fs.writeFileSync(keys, execFileSync(bins.token, ['jwt-keygen', '--alg', 'EdDSA', '--kid', 'seat-1'], { encoding: 'utf8' }));
    const jwk = JSON.parse(fs.readFileSync(keys, 'utf8')).keys[0];
    const pub = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
    const both = await startMatchmaker('mm-both', ['--agones-allocator-url', sim.alloc, '--token-kind', 'both',
      '--seat-token-keys', keys, '--seat-token-audience', 'seatgate-example']);
    const a = (await connect(both, '203.0.113.44')).json;
    assert.equal(a.token.length, 2732, 'the netcode token too');
    const [h, p, s] = a.seat_token.split('.');
    assert.ok(crypto.verify(null, Buffer.from(`${h}.${p}`), pub, Buffer.from(s, 'base64url')), 'node verifies the signature');
    assert.deepEqual(JSON.parse(Buffer.from(h, 'base64url')), { alg: 'EdDSA', typ: 'JWT', kid: 'seat-1' });
    const c = JSON.parse(Buffer.from(p, 'base64url'));
    assert.equal(c.instanceId, a.server_id);
    assert.equal(c.sid, a.session_id);
    assert.equal(c.ip, '203.0.113.44');
    assert.equal(c.aud, 'seatgate-example');
    assert.equal(c.exp, a.expires_at);
    assert.equal(c.jti, a.client_id, 'single use through the seat claim of this client id');
    assert.equal(c.userId, `anon-${a.session_id}`);
    assert.ok(Math.abs(c.iat - Date.now() / 1000) < 5);
    // A map the player asks for lands in the token; one the operator does not list is refused.
    const maps = await startMatchmaker('mm-maps', ['--agones-allocator-url', sim.alloc, '--token-kind', 'both',
      '--seat-token-keys', keys, '--map-keys', 'arena,dust_2']);
    const withMap = await request(`${maps.url}/connect-me`, { method: 'POST', headers: { 'x-forwarded-for': '203.0.113.46' },
      body: { mapKey: 'dust_2' } });
    assert.equal(withMap.status, 200, withMap.text);
    const mc = JSON.parse(Buffer.from(withMap.json.seat_token.split('.')[1], 'base64url'));
    assert.equal(mc.mapKey, 'dust_2');
    assert.equal(c.mapKey, undefined, 'no mapKey claim when none was asked for');
    const badMap = await request(`${maps.url}/connect-me`, { method: 'POST', headers: { 'x-forwarded-for': '203.0.113.47' },
      body: { mapKey: 'lobby' } });
    assert.equal(badMap.status, 400);
    assert.equal(badMap.json.error.code, 'map_not_allowed');
    const jwtOnly = await startMatchmaker('mm-jwt', ['--agones-allocator-url', sim.alloc, '--token-kind', 'jwt',
      '--seat-token-keys', keys]);
    const b = (await connect(jwtOnly, '203.0.113.45')).json;
    assert.equal(b.token, undefined, 'token-kind jwt: no netcode token');
    assert.ok(b.seat_token);
    const noKeys = await startMatchmaker('mm-nokeys', ['--agones-allocator-url', sim.alloc, '--token-kind', 'jwt'], { expectExit: true });
    assert.equal(noKeys.code, 2);
    assert.match(noKeys.log, /seat-token-keys/);
    const badKid = await startMatchmaker('mm-badkid', ['--agones-allocator-url', sim.alloc, '--token-kind', 'both',
      '--seat-token-keys', keys, '--seat-token-kid', 'nope'], { expectExit: true });
    assert.equal(badKid.code, 2);
    assert.match(badKid.log, /seat-token-kid/);
  },

  async 'settings: what is missing or wrong is named at start'() {
    const noUrl = await startMatchmaker('mm-nourl', [], { expectExit: true });
    assert.equal(noUrl.code, 2);
    assert.match(noUrl.log, /agones-allocator-url/);
    const hook = await startMatchmaker('mm-hook', ['--agones-allocator-url', 'http://127.0.0.1:1',
      '--webhook-public-url', 'http://127.0.0.1:9', '--webhook-secret', 'a'.repeat(20)], { expectExit: true });
    assert.equal(hook.code, 2);
    assert.match(hook.log, /webhook is Edgegap/);
    const badFile = await startMatchmaker('mm-badfile', ['--agones-allocator-url', 'https://127.0.0.1:1',
      '--agones-ca-cert', path.join(out, 'missing.pem')], { expectExit: true });
    assert.equal(badFile.code, 2);
    assert.match(badFile.log, /agones-ca-cert/);
  },
};

// ---- the game server's hook on Agones ---------------------------------------------------

const keyFile = () => path.join(out, 'netcode.key');

// One example game server per GameServer: the sidecar's port from the simulator, the game
// port the GameServer was given (Passthrough), a store shared with the matchmaker.
function startServer(name, gs, db, env = {}) {
  const child = procs.start(name, bins.server, ['--listen', `127.0.0.1:${gs.ports[0].port}`], {
    AGONES_SDK_HTTP_PORT: String(gs.sdkPort), SEATGATE_STORE_URL: `sqlite://${db}`,
    SEATGATE_NETCODE_KEY_FILE: keyFile(), SEATGATE_AGONES_SEAT_SWEEP: '300ms', ...env,
  });
  const log = () => fs.readFileSync(path.join(out, `${name}.log`), 'utf8');
  return { child, log };
}

function play(mm, extra = [], name = 'client') {
  const r = execFileSyncSafe(bins.client, ['--matchmaker-url', mm.url, ...extra]);
  fs.appendFileSync(path.join(out, `${name}.log`), r.stdout + r.stderr);
  return r;
}

function execFileSyncSafeInput(bin, args, input, env) {
  try {
    const stdout = execFileSync(bin, args, { encoding: 'utf8', input, env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'], timeout: 20000 });
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    return { code: e.status, stdout: e.stdout || '', stderr: e.stderr || '' };
  }
}

function execFileSyncSafe(bin, args) {
  try {
    const stdout = execFileSync(bin, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 20000 });
    return { code: 0, stdout, stderr: '' };
  } catch (e) {
    return { code: e.status, stdout: e.stdout || '', stderr: e.stderr || '' };
  }
}

const gsOf = async (sim, name) => (await sim.state()).gameservers.find((g) => g.name === name);

async function stack(over = {}, mmArgs = [], serverEnv = {}) {
  const sim = await startSim(fleet({ autoReady: false, replicas: 1, lists: { players: { capacity: 4 } }, ...over }));
  const db = path.join(out, `stack-${seq}.db`);
  const mm = await startMatchmaker(`mm-${seq}`, ['--agones-allocator-url', sim.alloc, ...mmArgs], { db });
  const servers = [];
  for (const gs of (await sim.state()).gameservers)
    servers.push({ gs, ...startServer(`server-${seq}-${servers.length}`, gs, db, serverEnv) });
  for (const s of servers)
    await eventually(`${s.gs.name} Ready through its hook`, async () => (await gsOf(sim, s.gs.name))?.state === 'Ready');
  return { sim, mm, servers, db };
}

// A fleet of one GameServer played by seatgate-example-tcp-server (players admitted with
// seat tokens), a matchmaker handing out seat tokens signed with a fresh Ed25519 key set.
async function tcpStack(name, mmArgs = [], serverEnv = {}) {
  const sim = await startSim(fleet({ autoReady: false, replicas: 1, lists: { players: { capacity: 8 } } }));
  const gs = (await sim.state()).gameservers[0];
  const db = path.join(out, `${name}.db`);
  const keys = path.join(out, `${name}-keys.json`), pubKeys = path.join(out, `${name}-keys.pub.json`);
  fs.writeFileSync(keys, execFileSync(bins.token, ['jwt-keygen', '--kid', 'seat-1'], { encoding: 'utf8' }));
  fs.writeFileSync(pubKeys, execFileSync(bins.token, ['jwt-public', '--keys', keys], { encoding: 'utf8' }));
  const jwk = JSON.parse(fs.readFileSync(keys, 'utf8')).keys[0];
  const mm = await startMatchmaker(`mm-${name}`, ['--agones-allocator-url', sim.alloc, '--seat-token-keys', keys, ...mmArgs], { db });
  const port = gs.ports[0].port;
  // (another process may play the same GameServer: serve(name, port) starts one)
  const serve = (who, p) => procs.start(who, path.join(path.dirname(bins.server), 'seatgate-example-tcp-server'),
    ['--listen', `127.0.0.1:${p}`], { AGONES_SDK_HTTP_PORT: String(gs.sdkPort), SEATGATE_STORE_URL: `sqlite://${db}`,
      SEATGATE_SEAT_TOKEN_KEYS: pubKeys, SEATGATE_AGONES_SEAT_SWEEP: '300ms', ...serverEnv });
  serve(`${name}-server`, port);
  await eventually('Ready', async () => (await gsOf(sim, gs.name))?.state === 'Ready');
  return { sim, gs, db, jwk, mm, port, serve };
}

const gsCases = {
  async 'placement: the allocation names the GameServer placement chose; a refused one is decided again'() {
    // Two GameServers, one per location (node annotations stand for a Fleet per location).
    // Two Montreal players first: the allocator alone would now prefer the Montreal server
    // (Allocated, least room), so a Frankfurt player on the Frankfurt one shows the name.
    const loc = (city, lat, lon) => ({ 'seatgate.dev/city': city, 'seatgate.dev/latitude': String(lat),
      'seatgate.dev/longitude': String(lon) });
    const nodes = [
      { name: 'node-mtl', addresses: [{ type: 'ExternalIP', address: '127.0.0.1' }], annotations: loc('Montreal', 45.5, -73.6) },
      { name: 'node-fra', addresses: [{ type: 'ExternalIP', address: '127.0.0.1' }], annotations: loc('Frankfurt', 50.11, 8.68) },
    ];
    const { sim, mm, servers } = await stack({ replicas: 2, nodes },
      ['--placement', 'fill', '--placement-refresh', '200ms', '--placement-stale', '5s', '--seats-per-player', '0'],
      { SEATGATE_AGONES_ORPHAN_GRACE: '120s' });
    const byCity = {};
    for (const g of (await sim.state()).gameservers) {
      byCity[g.annotations['seatgate.dev/city']] = g.name;
      assert.equal(g.labels['agones.dev/sdk-seatgate-gameserver'], g.name, 'the hook labels its GameServer');
    }
    await sleep(600); // the matchmaker has read both servers' records
    const rtts = { mtl: { Montreal: 8, Frankfurt: 95 }, fra: { Frankfurt: 9, Montreal: 95 } };
    const ask = (ip, r) => request(`${mm.url}/connect-me`, { method: 'POST', headers: { 'x-forwarded-for': ip },
      body: { rtts: r } });
    const seatOn = async (sid) => (await sim.state()).gameservers.find((g) => g.lists.players.values.includes(sid))?.name;
    for (const ip of ['198.51.100.1', '198.51.100.2']) {
      const r = await ask(ip, rtts.mtl);
      assert.equal(r.status, 200, r.text);
      assert.equal(await seatOn(r.json.session_id), byCity.Montreal);
    }
    const fra = await ask('203.0.113.1', rtts.fra);
    assert.equal(fra.status, 200, fra.text);
    assert.equal(fra.json.placement.decision, 'joined');
    assert.equal(fra.json.placement.location, 'Frankfurt');
    assert.equal(await seatOn(fra.json.session_id), byCity.Frankfurt, 'on the GameServer placement named');
    // Frankfurt filled behind the matchmaker's back (seats it has no record of): the name
    // finds no GameServer with room, the matchmaker decides again without it, and with
    // Montreal beyond the budget the allocator chooses (a new_server decision).
    const sdk = `http://127.0.0.1:${servers.find((x) => x.gs.name === byCity.Frankfurt).gs.sdkPort}`;
    for (const v of ['s-other-1', 's-other-2', 's-other-3'])
      assert.equal((await request(`${sdk}/v1beta1/lists/players:addValue`, { method: 'POST', body: { value: v } })).status, 200);
    const again = await ask('203.0.113.2', rtts.fra);
    assert.equal(again.status, 200, again.text);
    assert.match(mm.log(), /event=placement_refused ip=203\.0\.113\.2 server=\S+ status=/);
    assert.equal(again.json.placement.decision, 'new_server');
    assert.equal(await seatOn(again.json.session_id), byCity.Montreal, 'the only GameServer with room');
  },

  async 'the hook readies its GameServer, pings Health, admits a seated player and frees the seat on leave'() {
    const { sim, mm, servers } = await stack();
    const name = servers[0].gs.name;
    const p0 = (await gsOf(sim, name)).healthPings;
    await eventually('health pings observed by the sidecar', async () => (await gsOf(sim, name)).healthPings >= p0 + 2, 8000);
    const tok = path.join(out, 'token.b64');
    const r = play(mm, ['--save-token', tok]);
    assert.match(r.stdout, /accepted client_id=\d+ server=127\.0\.0\.1:/, r.stdout + r.stderr);
    assert.match(servers[0].log(), /player_accepted/);
    await eventually('the seat left the list after goodbye', async () => (await gsOf(sim, name)).lists.players.values.length === 0);
    assert.equal((await gsOf(sim, name)).state, 'Allocated');
    // The same token again: refused (a token is used once).
    const again = execFileSyncSafe(bins.client, ['--token-file', tok]);
    assert.match(again.stdout, /denied reason=/, again.stdout + again.stderr);
  },

  async 'a token used from another address is refused'() {
    const { mm, servers, db } = await stack({ replicas: 2, lists: { players: { capacity: 1 } } }, [],
      { SEATGATE_EXPOSURE_MODE: 'nodeport' });
    const tok = path.join(out, 'stolen.b64');
    const got = await request(`${mm.url}/connect-me`, { method: 'POST' });
    assert.equal(got.status, 200, got.text);
    fs.writeFileSync(tok, got.json.token);
    const stolen = execFileSyncSafe(bins.client, ['--token-file', tok, '--bind', '127.0.0.2']);
    assert.match(stolen.stdout, /denied reason=ip_mismatch/, stolen.stdout + stolen.stderr);
    // The hook of the server holding the seat refused it, by its own check, and published
    // the refusal with its exposure mode (failed connects by exposure).
    await eventually('the hook logged it', async () => /reason=ip_mismatch exposure=nodeport/.test(servers.map((x) => x.log()).join('')), 3000);
    const rows = execFileSync('sqlite3', [db, "select payload from sg_events where kind = 'verify_rejected'"], { encoding: 'utf8' })
      .trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.equal(rows.length, 1, 'one verify_rejected event');
    assert.equal(rows[0].reason, 'ip_mismatch');
    assert.equal(rows[0].exposure, 'nodeport');
    assert.equal(rows[0].player_ip, '127.0.0.2');
  },

  async 'a token whose seat left the list is refused as gone'() {
    const { mm, servers } = await stack();
    const got = await request(`${mm.url}/connect-me`, { method: 'POST' });
    assert.equal(got.status, 200, got.text);
    const sdk = `http://127.0.0.1:${servers[0].gs.sdkPort}`;
    const rm = await request(`${sdk}/v1beta1/lists/players:removeValue`, { method: 'POST', body: { value: got.json.session_id } });
    assert.equal(rm.status, 200);
    const tok = path.join(out, 'gone.b64');
    fs.writeFileSync(tok, got.json.token);
    const r = execFileSyncSafe(bins.client, ['--token-file', tok]);
    assert.match(r.stdout, /denied reason=session_gone/, r.stdout + r.stderr);
  },

  async 'seats nobody will claim are removed by the hook: past their deadline, and without a record'() {
    const { sim, mm, servers } = await stack({}, ['--token-expire', '1', '--claim-grace', '0', '--reap-interval', '0'],
      { SEATGATE_AGONES_ORPHAN_GRACE: '1s' });
    const name = servers[0].gs.name;
    const r = await request(`${mm.url}/connect-me`, { method: 'POST' });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual((await gsOf(sim, name)).lists.players.values, [r.json.session_id]);
    await eventually('the unclaimed seat removed by the hook', async () => !(await gsOf(sim, name)).lists.players.values.includes(r.json.session_id), 8000);
    assert.match(servers[0].log(), /agones_seat_removed session_id=s-\w+ reason=never_claimed/);
    const sdk = `http://127.0.0.1:${servers[0].gs.sdkPort}`;
    assert.equal((await request(`${sdk}/v1beta1/lists/players:addValue`, { method: 'POST', body: { value: 's-orphan' } })).status, 200);
    await eventually('the orphan removed', async () => !(await gsOf(sim, name)).lists.players.values.includes('s-orphan'), 8000);
    assert.match(servers[0].log(), /session_id=s-orphan reason=no_record/);
  },

  async 'a sidecar that dies: the server goes Unhealthy and its seats go with it'() {
    const { sim, mm, servers } = await stack({ health: { periodSeconds: 1, failureThreshold: 2, initialDelaySeconds: 0 } });
    const name = servers[0].gs.name;
    const r = await request(`${mm.url}/connect-me`, { method: 'POST' });
    assert.equal(r.status, 200);
    await request(`${sim.admin}/_sim/gameservers/${name}/sidecar`, { method: 'POST', body: { dead: true } });
    await eventually('Unhealthy', async () => (await gsOf(sim, name))?.state === 'Unhealthy', 6000);
    await eventually('removed with its list', async () => !(await gsOf(sim, name)), 4000);
    await eventually('the hook noticed', async () => /agones_health_failed/.test(servers[0].log()), 4000);
    assert.equal(servers[0].child.exitCode, null, 'the game server itself keeps running');
  },

  async 'stop calls Shutdown; an empty Allocated server shuts down when asked to'() {
    const { sim, mm, servers } = await stack({ replicas: 1 }, [], { SEATGATE_AGONES_SHUTDOWN_EMPTY: '1s' });
    const name = servers[0].gs.name;
    const r = play(mm);
    assert.match(r.stdout, /accepted/, r.stdout + r.stderr);
    await eventually('Shutdown once empty', async () => (await gsOf(sim, name))?.state === 'Shutdown', 8000);
    assert.match(servers[0].log(), /agones_shutdown gameserver=\S+ reason=empty/);
    // A fresh server, stopped by its operator: Shutdown too.
    const next = await eventually('the fleet replaced it', async () => (await sim.state()).gameservers.find((g) => g.name !== name && g.state === 'Scheduled'), 5000);
    const s2 = startServer('server-stop', next, path.join(out, 'stop.db'));
    await eventually('Ready', async () => (await gsOf(sim, next.name))?.state === 'Ready');
    s2.child.kill('SIGTERM');
    await eventually('Shutdown at stop', async () => (await gsOf(sim, next.name))?.state === 'Shutdown', 5000);
  },

  async 'a slow sidecar: verification fails closed as unavailable, the game loop never waits'() {
    const { sim, mm, servers } = await stack({}, [], { SEATGATE_AGONES_SDK_TIMEOUT: '300ms' });
    const name = servers[0].gs.name;
    const got = await request(`${mm.url}/connect-me`, { method: 'POST' });
    assert.equal(got.status, 200, got.text);
    await request(`${sim.admin}/_sim/gameservers/${name}/sidecar`, { method: 'POST', body: { delayMs: 1500 } });
    assert.equal((await gsOf(sim, name)).sidecarDelayMs, 1500);
    const tok = path.join(out, 'slow.b64');
    fs.writeFileSync(tok, got.json.token);
    const r = execFileSyncSafe(bins.client, ['--token-file', tok]);
    assert.match(r.stdout, /denied reason=unavailable/, r.stdout + r.stderr);
    assert.match(servers[0].log(), /reason=unavailable/);
    // Fast again: a new token gets in.
    await request(`${sim.admin}/_sim/gameservers/${name}/sidecar`, { method: 'POST', body: { delayMs: 0 } });
    const sdk = `http://127.0.0.1:${servers[0].gs.sdkPort}`;
    await eventually('the sidecar answers at once again', async () => {
      const t0 = Date.now();
      await request(`${sdk}/gameserver`);
      return Date.now() - t0 < 100;
    }, 10000);
    const again = play(mm);
    assert.match(again.stdout, /accepted/, again.stdout + again.stderr);
  },

  async 'seat tokens at the hook: node-minted tokens, each refusal with its reason'() {
    const keys = path.join(out, 'hook-seat-keys.json'), pubKeys = path.join(out, 'hook-seat-keys.pub.json');
    fs.writeFileSync(keys, execFileSync(bins.token, ['jwt-keygen', '--alg', 'EdDSA', '--kid', 'seat-1'], { encoding: 'utf8' }));
    fs.writeFileSync(pubKeys, execFileSync(bins.token, ['jwt-public', '--keys', keys], { encoding: 'utf8' }));
    const jwk = JSON.parse(fs.readFileSync(keys, 'utf8')).keys[0];
    const priv = crypto.createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, format: 'jwk' });
    const { mm, servers, db } = await stack({}, ['--token-kind', 'both', '--seat-token-keys', keys,
      '--seat-token-audience', 'demo']);
    const got = await request(`${mm.url}/connect-me`, { method: 'POST' });
    assert.equal(got.status, 200, got.text);
    const claims = JSON.parse(Buffer.from(got.json.seat_token.split('.')[1], 'base64url'));
    const b64u = (x) => Buffer.from(x).toString('base64url');
    const mint = (c, header = { alg: 'EdDSA', typ: 'JWT', kid: 'seat-1' }, sign = (m) => crypto.sign(null, m, priv)) => {
      const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(c))}`;
      return `${input}.${b64u(sign(Buffer.from(input)))}`;
    };
    // The operator tool is a dry-run hook (it claims nothing) on this GameServer's sidecar.
    const hookTool = path.join(path.dirname(bins.server), '../tools/seatgate-hook');
    const verifyAt = (token, ip = '127.0.0.1') => execFileSyncSafeInput(hookTool, ['verify-seat-token', ip], token, {
      AGONES_SDK_HTTP_PORT: String(servers[0].gs.sdkPort), SEATGATE_STORE_URL: `sqlite://${db}`,
      SEATGATE_SEAT_TOKEN_KEYS: pubKeys, SEATGATE_SEAT_TOKEN_AUDIENCE: 'demo' });
    let r = verifyAt(got.json.seat_token);
    assert.match(r.stdout, new RegExp(`^accepted reason=accepted client_id=${got.json.client_id} session_id=${got.json.session_id}`), r.stdout + r.stderr);
    r = verifyAt(mint(claims));
    assert.match(r.stdout, /^accepted /, 'a token node signed with the same key and claims');
    const refusals = [
      [mint({ ...claims, aud: 'other-game' }), /rejected reason=bad_seat_token .*wrong_audience/],
      [mint({ ...claims, instanceId: 'elsewhere' }), /rejected reason=wrong_server_id/],
      [mint({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 }), /rejected reason=bad_seat_token .*\(expired\)/],
      [mint(claims, { alg: 'none', kid: 'seat-1' }, () => Buffer.alloc(0)), /bad_seat_token .*alg_not_allowed/],
      [mint(claims, { alg: 'HS256', kid: 'seat-1' }, (m) => crypto.createHmac('sha256', Buffer.from(jwk.x, 'base64url')).update(m).digest()),
        /bad_seat_token .*alg_not_allowed/],
      [mint(claims, { alg: 'EdDSA', kid: 'nope' }), /bad_seat_token .*unknown_kid/],
      [`${mint(claims).slice(0, -4)}`, /bad_seat_token .*bad_signature/],
      [mint({ ...claims, jti: '12345' }), /rejected reason=unknown_client/],
      [mint({ ...claims, sid: 's-someone-else' }), /rejected reason=session_mismatch/],
    ];
    for (const [tok, want] of refusals) {
      const x = verifyAt(tok);
      assert.match(x.stdout, want, x.stdout + x.stderr);
    }
    const other = verifyAt(got.json.seat_token, '127.0.0.2');
    assert.match(other.stdout, /rejected reason=ip_mismatch/, other.stdout + other.stderr);
  },

  async 'a TCP game server admits a seat token once and refuses every attack'() {
    const { sim, gs, jwk, mm, port, serve } = await tcpStack('tcp', ['--token-kind', 'jwt', '--seat-token-audience', 'demo'],
      { SEATGATE_SEAT_TOKEN_AUDIENCE: 'demo' });
    const priv = crypto.createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, format: 'jwk' });
    // A player: one TCP connection, "SEAT <token>", one answer line.
    const seat = (token, { localAddress = '127.0.0.1', line = `SEAT ${token}\n`, to = port } = {}) => new Promise((resolve, reject) => {
      const sock = net.connect({ host: '127.0.0.1', port: to, localAddress }, () => sock.write(line));
      let buf = '';
      sock.setEncoding('utf8');
      sock.on('data', (d) => {
        buf += d;
        if (buf.includes('\n')) resolve({ answer: buf.split('\n')[0], sock });
      });
      sock.on('error', reject);
      sock.on('close', () => resolve({ answer: buf.split('\n')[0], sock }));
      setTimeout(() => reject(new Error('no answer in 10 s')), 10000);
    });
    const b64u = (x) => Buffer.from(x).toString('base64url');
    const mint = (c, header = { alg: 'EdDSA', typ: 'JWT', kid: 'seat-1' }) => {
      const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(c))}`;
      return `${input}.${b64u(header.alg === 'none' ? Buffer.alloc(0) : crypto.sign(null, Buffer.from(input), priv))}`;
    };
    const fresh = async () => { const r = await request(`${mm.url}/connect-me`, { method: "POST" }); assert.equal(r.status, 200, r.text); return r.json; };
    const a = await fresh();
    assert.equal(a.host, '127.0.0.1');
    assert.equal(a.port, port);
    const p1 = await seat(a.seat_token);
    assert.equal(p1.answer, `ACCEPTED client_id=${a.client_id} session_id=${a.session_id}`);
    const replay = await seat(a.seat_token);
    assert.match(replay.answer, /^DENIED reason=already_connected/, 'a seat token admits one connection');
    p1.sock.destroy();
    await eventually('the seat freed when the player left', async () => !(await gsOf(sim, gs.name)).lists.players.values.includes(a.session_id));
    assert.match((await seat(a.seat_token)).answer, /^DENIED /, 'and not again after it');
    // Two connections racing with one token: exactly one gets in.
    const b = await fresh();
    const race = await Promise.all([seat(b.seat_token), seat(b.seat_token)]);
    const answers = race.map((x) => x.answer).sort();
    assert.equal(answers.filter((x) => x.startsWith('ACCEPTED')).length, 1, answers.join(' | '));
    assert.match(answers.find((x) => x.startsWith('DENIED')), /already_connected/);
    race.forEach((x) => x.sock.destroy());
    // The same race across two server processes of this GameServer (one store): the seat's
    // atomic claim lets exactly one of them admit the token.
    const spare = await new Promise((r) => { const t = net.createServer().listen(0, '127.0.0.1', () => { const p = t.address().port; t.close(() => r(p)); }); });
    const twin = serve('tcp-server-twin', spare);
    await eventually('the twin listens', async () => /event=started|listening/.test(fs.readFileSync(path.join(out, 'tcp-server-twin.log'), 'utf8')), 8000);
    const d = await fresh();
    const across = await Promise.all([seat(d.seat_token), seat(d.seat_token, { to: spare })]);
    const both = across.map((x) => x.answer).sort();
    assert.equal(both.filter((x) => x.startsWith('ACCEPTED')).length, 1, both.join(' | '));
    assert.match(both.find((x) => x.startsWith('DENIED')), /already_connected/);
    across.forEach((x) => x.sock.destroy());
    await eventually('that seat freed', async () => !(await gsOf(sim, gs.name)).lists.players.values.includes(d.session_id));
    twin.kill('SIGKILL'); // (a clean stop would call Shutdown on the GameServer both play)
    // Attacks, each refused with its reason (tokens made here with node's crypto).
    const c = await fresh();
    const claims = JSON.parse(Buffer.from(c.seat_token.split('.')[1], 'base64url'));
    const now = Math.floor(Date.now() / 1000);
    const attacks = [
      [mint({ ...claims, exp: now - 60 }), /^DENIED reason=bad_seat_token message=seat token refused \(expired\)/],
      [mint({ ...claims, nbf: now + 600 }), /\(not_yet_valid\)/],
      [mint({ ...claims, aud: 'other' }), /\(wrong_audience\)/],
      // (another jti: a refusal of a client id from an address is remembered for reject-memory)
      [mint({ ...claims, instanceId: 'another-server', jti: '777' }), /^DENIED reason=wrong_server_id/],
      [mint(claims, { alg: 'none', kid: 'seat-1' }), /\(alg_not_allowed\)/],
      [mint(claims, { alg: 'EdDSA', kid: 'old-key' }), /\(unknown_kid\)/],
      [`${c.seat_token.slice(0, -6)}`, /\(bad_signature\)/],
      [mint({ ...claims, userId: 'somebody' }).replace(/\.[^.]+$/, `.${c.seat_token.split('.')[2]}`), /\(bad_signature\)/],
      ['not-a-token', /\(malformed\)/],
      [`${'a'.repeat(8500)}.b.c`, /\(too_large\)/],
    ];
    for (const [tok, want] of attacks) assert.match((await seat(tok)).answer, want);
    assert.match((await seat(c.seat_token, { localAddress: '127.0.0.2' })).answer, /^DENIED reason=ip_mismatch/);
    assert.match((await seat(null, { line: `SEAT ${'x'.repeat(9100)}\n` })).answer, /^DENIED reason=bad_request/);
    // After all that, the real player still gets in.
    const ok = await seat(c.seat_token);
    assert.match(ok.answer, /^ACCEPTED /);
    ok.sock.destroy();
  },

  async 'the container entrypoint on Agones listens on the port and address the SDK gives'() {
    const sim = await startSim(fleet({ autoReady: false, replicas: 1 }));
    const gs = (await sim.state()).gameservers[0];
    const db = path.join(out, 'entry.db');
    const mm = await startMatchmaker('mm-entry', ['--agones-allocator-url', sim.alloc], { db });
    const entry = new URL('../../docker/gameserver-entrypoint.sh', import.meta.url).pathname;
    procs.start('entrypoint', 'sh', [entry], {
      SEATGATE_EXAMPLE_SERVER: bins.server, AGONES_SDK_HTTP_PORT: String(gs.sdkPort),
      SEATGATE_BIND_ADDRESS: '127.0.0.1', SEATGATE_STORE_URL: `sqlite://${db}`,
      SEATGATE_NETCODE_KEY_FILE: keyFile() });
    await eventually('Ready', async () => (await gsOf(sim, gs.name))?.state === 'Ready');
    const log = fs.readFileSync(path.join(out, 'entrypoint.log'), 'utf8');
    assert.match(log, new RegExp(`listening addr=127\\.0\\.0\\.1:${gs.ports[0].port} public_addr=127\\.0\\.0\\.1:${gs.ports[0].port}`));
    const r = play(mm);
    assert.match(r.stdout, new RegExp(`accepted client_id=\\d+ server=127\\.0\\.0\\.1:${gs.ports[0].port}`), r.stdout + r.stderr);
  },

  async 'a sidecar that comes up late is waited for; without any platform environment the hook says what is missing'() {
    const sim = await startSim(fleet({ autoReady: false, replicas: 1 }));
    const gs = (await sim.state()).gameservers[0];
    await request(`${sim.admin}/_sim/gameservers/${gs.name}/sidecar`, { method: 'POST', body: { dead: true } });
    const s = startServer('server-late', gs, path.join(out, 'late.db'));
    await eventually('retrying', async () => /start_retry/.test(s.log()), 5000);
    await request(`${sim.admin}/_sim/gameservers/${gs.name}/sidecar`, { method: 'POST', body: { dead: false } });
    await eventually('Ready once the sidecar is up', async () => (await gsOf(sim, gs.name))?.state === 'Ready', 10000);
    assert.equal(process.env.AGONES_SDK_HTTP_PORT, undefined);
    assert.equal(process.env.ARBITRIUM_CONTEXT_URL, undefined);
    const none = procs.start('server-none', bins.server, ['--listen', '127.0.0.1:0'], {
      SEATGATE_STORE_URL: `sqlite://${path.join(out, 'none.db')}`, SEATGATE_NETCODE_KEY_FILE: keyFile() });
    const code = await new Promise((res) => none.on('exit', res));
    assert.notEqual(code, 0);
    assert.match(fs.readFileSync(path.join(out, 'server-none.log'), 'utf8'),
      /platform cannot be told.*ARBITRIUM_CONTEXT_URL.*AGONES_SDK_HTTP_PORT/);
    // platform=agones without the variable: the SDK's default port, 9358.
    procs.start('server-default-port', bins.server, ['--listen', `127.0.0.1:${gs.ports[0].port + 1}`], {
      SEATGATE_PLATFORM: 'agones', SEATGATE_STORE_URL: `sqlite://${path.join(out, 'none.db')}`,
      SEATGATE_NETCODE_KEY_FILE: keyFile() });
    await eventually('it looks for the sidecar on 9358', async () =>
      /start_retry.*port 9358/.test(fs.readFileSync(path.join(out, 'server-default-port.log'), 'utf8')), 5000);
  },
};

// ---- players who sign in: bearer tokens on /connect-me ------------------------------------

// Tokens made here with node's crypto, as Nakama (HS256 over the raw session.encryption_key
// string, golang-jwt's header) or another issuer (Ed25519) would make them.
const b64u = (x) => Buffer.from(x).toString('base64url');
function hs256(claims, key, header = { alg: 'HS256', typ: 'JWT' }) {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  return `${input}.${header.alg === 'none' ? '' : crypto.createHmac('sha256', key).update(input).digest('base64url')}`;
}
function eddsa(claims, priv, header) {
  const input = `${b64u(JSON.stringify(header))}.${b64u(JSON.stringify(claims))}`;
  return `${input}.${crypto.sign(null, Buffer.from(input), priv).toString('base64url')}`;
}
const nakamaKey = 'n4k4ma-session-key-for-tests';
const nakama = (over = {}) => {
  const now = Math.floor(Date.now() / 1000);
  return { tid: crypto.randomUUID(), uid: crypto.randomUUID(), usn: 'player1', vrs: { region: 'eu' },
    exp: now + 60, iat: now, ...over };
};
const signedIn = (mm, token, ip = '203.0.113.7', body) => request(`${mm.url}/connect-me`, {
  method: 'POST', headers: { 'x-forwarded-for': ip, ...(token ? { authorization: `Bearer ${token}` } : {}) }, body });
const sessionRecord = (db, sid) => JSON.parse(execFileSync('sqlite3', [db,
  `select value from sg_kv where bucket = 'seatgate_sessions' and key = '${sid}' order by rev desc limit 1`], { encoding: 'utf8' }));
const claimsOf = (jws) => JSON.parse(Buffer.from(jws.split('.')[1], 'base64url'));

const authCases = {
  async 'Nakama tokens: each refusal is a 401 with its code; a signed-in player is named in the record, the seat token and the events'() {
    const keyFileN = path.join(out, 'nakama.key');
    fs.writeFileSync(keyFileN, `${nakamaKey}\n`, { mode: 0o600 });
    const { sim, db, jwk, mm, port } = await tcpStack('auth', ['--token-kind', 'both', '--auth', 'nakama',
      '--auth-nakama-key-file', keyFileN, '--cors-origins', 'https://game.example']);
    const seatPub = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });

    // No token: 401, a challenge without an error attribute (RFC 6750 section 3), nothing reserved.
    const none = await signedIn(mm, null);
    assert.equal(none.status, 401, none.text);
    assert.equal(none.json.error.code, 'missing_token');
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="seatgate"');
    const now = Math.floor(Date.now() / 1000);
    const good = nakama();
    const attacks = [
      ['malformed_token', 'not-a-jwt'],
      ['malformed_token', 'a.b'],
      ['malformed_token', `${'a'.repeat(6000)}.b.c`],
      ['bad_signature', hs256(good, 'another-key')],
      ['bad_signature', hs256(good, nakamaKey).slice(0, -4)],
      ['bad_signature', hs256(good, nakamaKey).replace(/^([^.]+)\.[^.]+/, (_, h) => `${h}.${b64u(JSON.stringify({ ...good, uid: crypto.randomUUID() }))}`)],
      ['alg_not_allowed', hs256(good, nakamaKey, { alg: 'none', typ: 'JWT' })],
      ['alg_not_allowed', hs256(good, nakamaKey, { alg: 'HS512', typ: 'JWT' })],
      ['expired', hs256(nakama({ exp: now - 60 }), nakamaKey)],
      ['missing_exp', hs256(nakama({ exp: undefined }), nakamaKey)],
      ['bad_user_id', hs256(nakama({ uid: 'not-a-uuid' }), nakamaKey)],
      // Nakama's matchmaker token is signed with the same key but names a match, not a player.
      ['bad_user_id', hs256({ mid: `${crypto.randomUUID()}.`, exp: now + 30 }, nakamaKey)],
      // A refresh token is signed with the refresh key: it is not a session.
      ['bad_signature', hs256(good, 'defaultrefreshencryptionkey')],
    ];
    for (const [code, tok] of attacks) {
      const r = await signedIn(mm, tok, '203.0.113.8');
      assert.equal(r.status, 401, `${code}: ${r.text}`);
      assert.equal(r.json.error.code, code, `${code}: ${r.text}`);
      assert.equal(r.headers['www-authenticate'], `Bearer realm="seatgate", error="invalid_token", error_description="${code}"`);
      assert.ok(!r.text.includes(tok.slice(0, 40)), 'the answer never echoes the token');
    }
    // A header over the connection's memory (connection-memory, 8 KiB) is refused by the
    // HTTP layer before anything reads it.
    const huge = await signedIn(mm, `${'a'.repeat(9000)}.b.c`, '203.0.113.8');
    assert.equal(huge.status, 431, huge.text);
    const notBearer = await request(`${mm.url}/connect-me`, { method: 'POST', headers: { authorization: `Basic ${b64u('a:b')}` } });
    assert.equal(notBearer.json.error.code, 'malformed_token');
    // Within the leeway (5 s by default) a just-expired token still passes.
    const skew = await signedIn(mm, hs256(nakama({ exp: now - 2 }), nakamaKey), '203.0.113.20');
    assert.equal(skew.status, 200, skew.text);
    assert.equal((await sim.state()).gameservers[0].lists.players.values.length, 1, 'refusals reserved nothing');

    // A signed-in player from a page the operator allows: the page can read the challenge.
    const pre = await request(`${mm.url}/connect-me`, { method: 'OPTIONS', headers: { origin: 'https://game.example',
      'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' } });
    assert.equal(pre.status, 204, pre.text);
    assert.match(pre.headers['access-control-allow-headers'], /Authorization/);
    const tok = hs256(good, nakamaKey);
    const a = await request(`${mm.url}/connect-me`, { method: 'POST', headers: { origin: 'https://game.example',
      'x-forwarded-for': '127.0.0.1', authorization: `Bearer ${tok}` } });
    assert.equal(a.status, 200, a.text);
    assert.match(a.headers['access-control-expose-headers'], /WWW-Authenticate/);
    assert.equal(sessionRecord(db, a.json.session_id).user_id, good.uid, 'the session record names the player');
    const [h, p, sig] = a.json.seat_token.split('.');
    assert.ok(crypto.verify(null, Buffer.from(`${h}.${p}`), seatPub, Buffer.from(sig, 'base64url')), 'node verifies the seat token');
    assert.equal(claimsOf(a.json.seat_token).userId, good.uid, 'the seat token names the player');
    // The player connects: the connect event names them too.
    const sock = net.connect({ host: '127.0.0.1', port });
    sock.write(`SEAT ${a.json.seat_token}\n`);
    const line = await new Promise((res) => { let b = ''; sock.setEncoding('utf8'); sock.on('data', (d) => { b += d; if (b.includes('\n')) res(b.split('\n')[0]); }); });
    assert.match(line, /^ACCEPTED /);
    const ev = await eventually('player_connect recorded', async () => execFileSync('sqlite3', [db,
      "select payload from sg_events where kind = 'player_connect'"], { encoding: 'utf8' }).trim());
    assert.equal(JSON.parse(ev.split('\n').pop()).user_id, good.uid);
    sock.destroy();
    const evd = await eventually('player_disconnect recorded', async () => execFileSync('sqlite3', [db,
      "select payload from sg_events where kind = 'player_disconnect'"], { encoding: 'utf8' }).trim());
    assert.equal(JSON.parse(evd.split('\n').pop()).user_id, good.uid);
    // No token, key or signature in the matchmaker's log.
    const log = mm.log();
    for (const t of [tok, ...attacks.map((x) => x[1])]) {
      const sig = t.split('.')[2] || '';
      if (sig.length >= 20) assert.ok(!log.includes(sig), 'no signature in the log');
      if (t.length >= 60) assert.ok(!log.includes(t.slice(0, 60)), 'no token in the log');
    }
    assert.ok(!log.includes(nakamaKey), 'no key in the log');
    assert.match(log, new RegExp(`event=connect_ready .*user=${good.uid}`));
  },

  async 'one seat per user: the same player from two addresses at once gets one seat; the rate limit is the player\'s'() {
    const sim = await startSim(fleet({ replicas: 2, lists: { players: { capacity: 8 } } }));
    await ready(sim);
    const db = path.join(out, 'auth-one.db');
    const mm = await startMatchmaker('mm-auth-one', ['--agones-allocator-url', sim.alloc, '--auth', 'nakama',
      '--auth-nakama-key', nakamaKey, '--ip-rate', '1', '--ip-burst', '4', '--seats-per-player', '1'], { db });
    await request(`${sim.admin}/_sim/faults`, { method: 'POST', body: { delayMs: 400 } });
    const who = nakama();
    const tok = hs256(who, nakamaKey);
    const [x, y] = await Promise.all([signedIn(mm, tok, '198.51.100.1'), signedIn(mm, tok, '198.51.100.2')]);
    assert.equal(x.status, 200, x.text);
    assert.equal(y.status, 200, y.text);
    assert.equal(x.json.session_id, y.json.session_id, 'the second request joined the first');
    assert.equal((await sim.state()).allocations.total, 1, 'one allocation for both');
    await request(`${sim.admin}/_sim/faults`, { method: 'POST', body: {} });
    // Another player at the same addresses is another player.
    const other = await signedIn(mm, hs256(nakama(), nakamaKey), '198.51.100.1');
    assert.equal(other.status, 200, other.text);
    assert.notEqual(other.json.session_id, x.json.session_id);
    // The held, unclaimed seat comes back to its player at the same address; from another
    // address (which that server would refuse) the player is at the seat cap.
    const first = sessionRecord(db, x.json.session_id).player_ip; // whichever came first
    assert.ok(['198.51.100.1', '198.51.100.2'].includes(first), first);
    const again = await signedIn(mm, tok, first);
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.session_id, x.json.session_id, 'the held seat again');
    const elsewhere = await signedIn(mm, tok, '198.51.100.9');
    assert.equal(elsewhere.status, 429, elsewhere.text);
    assert.equal(elsewhere.json.error.code, 'seat_limit');
    // The rate bucket (burst 4) is the player's wherever they come from: four used, the
    // fifth is refused; another player at the same address is not.
    const limited = await signedIn(mm, tok, '198.51.100.3');
    assert.equal(limited.status, 429, limited.text);
    assert.equal(limited.json.error.code, 'rate_limited');
    assert.match(limited.json.error.message, /this player/);
    const fine = await signedIn(mm, hs256(nakama(), nakamaKey), '198.51.100.3');
    assert.equal(fine.status, 200, fine.text);
    const rec = sessionRecord(db, x.json.session_id);
    assert.equal(rec.user_id, who.uid);
  },

  async 'online check: a revoked session is refused; answers are cached; an unreachable check fails closed, or open when set'() {
    const sim = await startSim(fleet({ replicas: 2, lists: { players: { capacity: 20 } } }));
    await ready(sim);
    // Nakama's GET /v2/account, as far as the check sees it: 200 for a live session, 401 for
    // one ended by logout or a ban.
    const revoked = new Set();
    const seen = [];
    const account = http.createServer((req, res) => {
      const tok = (req.headers.authorization || '').replace(/^Bearer /, '');
      seen.push({ url: req.url, method: req.method, tok });
      if (revoked.has(tok)) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'Auth token invalid', code: 16, message: 'Auth token invalid' }));
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ user: { id: 'x' } }));
      }
    });
    await new Promise((r) => account.listen(0, '127.0.0.1', r));
    const checkUrl = `http://127.0.0.1:${account.address().port}/v2/account`;
    try {
      const mm = await startMatchmaker('mm-auth-online', ['--agones-allocator-url', sim.alloc, '--auth', 'nakama',
        '--auth-nakama-key', nakamaKey, '--auth-check-url', checkUrl, '--auth-check-cache', '30s', '--seats-per-player', '0']);
      const live = hs256(nakama(), nakamaKey);
      const r1 = await signedIn(mm, live, '203.0.113.30');
      assert.equal(r1.status, 200, r1.text);
      assert.deepEqual(seen.map((s) => [s.method, s.url, s.tok === live]), [['GET', '/v2/account', true]]);
      const r2 = await signedIn(mm, live, '203.0.113.30');
      assert.equal(r2.status, 200, r2.text);
      assert.equal(seen.length, 1, 'the second request used the cached answer');
      const ended = hs256(nakama(), nakamaKey);
      revoked.add(ended);
      const r3 = await signedIn(mm, ended, '203.0.113.31');
      assert.equal(r3.status, 401, r3.text);
      assert.equal(r3.json.error.code, 'token_revoked');
      assert.equal(r3.headers['www-authenticate'], 'Bearer realm="seatgate", error="invalid_token", error_description="token_revoked"');
      const forged = hs256(nakama(), 'wrong');
      await signedIn(mm, forged, '203.0.113.32');
      assert.ok(!seen.some((s) => s.tok === forged), 'a token that fails offline is never shown to the check');
      await new Promise((r) => account.close(r));
      const r4 = await signedIn(mm, hs256(nakama(), nakamaKey), '203.0.113.33');
      assert.equal(r4.status, 503, r4.text);
      assert.equal(r4.json.error.code, 'auth_unavailable');
      assert.equal(r4.headers['retry-after'], '2');
      assert.match(mm.log(), /event=check_unreachable/);
      const open = await startMatchmaker('mm-auth-open', ['--agones-allocator-url', sim.alloc, '--auth', 'nakama',
        '--auth-nakama-key', nakamaKey, '--auth-check-url', checkUrl, '--auth-check-failure', 'open']);
      const r5 = await signedIn(open, hs256(nakama(), nakamaKey), '203.0.113.34');
      assert.equal(r5.status, 200, r5.text);
      assert.ok(!mm.log().includes(live.split('.')[2]), 'no token in the log');
    } finally {
      account.close();
    }
  },

  async 'another issuer: Ed25519 keys from a JWK Set, iss and aud checked, the user from sub'() {
    const sim = await startSim(fleet({ replicas: 1, lists: { players: { capacity: 20 } } }));
    await ready(sim);
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ed25519');
    const x = publicKey.export({ format: 'jwk' }).x;
    const set = path.join(out, 'issuer.jwks.json');
    fs.writeFileSync(set, JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', kid: 'idp-2026', use: 'sig', x }] }));
    const keys = path.join(out, 'seat.json');
    fs.writeFileSync(keys, execFileSync(bins.token, ['jwt-keygen', '--kid', 's1'], { encoding: 'utf8' }));
    const mm = await startMatchmaker('mm-auth-jwt', ['--agones-allocator-url', sim.alloc, '--auth', 'jwt',
      '--auth-keys', set, '--auth-issuer', 'https://id.example', '--auth-audience', 'the-game',
      '--token-kind', 'both', '--seat-token-keys', keys, '--seats-per-player', '0']);
    const now = Math.floor(Date.now() / 1000);
    const base = { iss: 'https://id.example', aud: ['other', 'the-game'], sub: 'auth0|5f7c8ec7c33c6c004bbafe82', exp: now + 300, iat: now };
    const hdr = { alg: 'EdDSA', typ: 'JWT', kid: 'idp-2026' };
    const ok = await signedIn(mm, eddsa(base, privateKey, hdr));
    assert.equal(ok.status, 200, ok.text);
    assert.equal(claimsOf(ok.json.seat_token).userId, base.sub);
    const cases = [
      ['wrong_issuer', eddsa({ ...base, iss: 'https://evil.example' }, privateKey, hdr)],
      ['wrong_audience', eddsa({ ...base, aud: 'other' }, privateKey, hdr)],
      ['unknown_kid', eddsa(base, privateKey, { ...hdr, kid: 'idp-2025' })],
      ['not_yet_valid', eddsa({ ...base, nbf: now + 600 }, privateKey, hdr)],
      ['issued_in_future', eddsa({ ...base, iat: now + 600 }, privateKey, hdr)],
      ['bad_user_id', eddsa({ ...base, sub: undefined }, privateKey, hdr)],
      ['bad_user_id', eddsa({ ...base, sub: 'has spaces' }, privateKey, hdr)],
      // HS256 keyed with the public key's bytes: the algorithm confusion attack.
      ['alg_not_allowed', hs256(base, Buffer.from(x, 'base64url'), { alg: 'HS256', typ: 'JWT', kid: 'idp-2026' })],
      ['bad_signature', eddsa(base, crypto.generateKeyPairSync('ed25519').privateKey, hdr)],
    ];
    for (const [code, tok] of cases) {
      const r = await signedIn(mm, tok);
      assert.equal(r.status, 401, `${code}: ${r.text}`);
      assert.equal(r.json.error.code, code, `${code}: ${r.text}`);
    }
    const good = eddsa(base, privateKey, hdr);
    const two = await request(`${mm.url}/connect-me`, { method: 'POST', headers: { 'x-forwarded-for': '203.0.113.40',
      authorization: [`Bearer ${good}`, `Bearer ${good}`] } });
    assert.equal(two.status, 401, two.text);
    assert.equal(two.json.error.code, 'malformed_token', 'two Authorization headers are one too many');
    const m = mm.log();
    assert.ok(!m.includes(eddsa(base, privateKey, hdr).split('.')[2].slice(0, 20)), 'no signature in the log');
  },

  async 'settings: an auth setting missing or wrong is named at start, and never echoes a key'() {
    const sim = await startSim(fleet({ replicas: 1 }));
    const start = (name, args) => startMatchmaker(name, ['--agones-allocator-url', sim.alloc, ...args], { expectExit: true });
    const noKey = await start('mm-a1', ['--auth', 'nakama']);
    assert.equal(noKey.code, 2);
    assert.match(noKey.log, /auth-nakama-key/);
    const noSet = await start('mm-a2', ['--auth', 'jwt']);
    assert.equal(noSet.code, 2);
    assert.match(noSet.log, /auth-keys/);
    const badSet = path.join(out, 'bad.jwks.json');
    fs.writeFileSync(badSet, '{"keys":[{"kty":"RSA","n":"xx","e":"AQAB","kid":"r"}]}');
    const bad = await start('mm-a3', ['--auth', 'jwt', '--auth-keys', badSet]);
    assert.equal(bad.code, 2);
    assert.match(bad.log, /auth-keys/);
    const urlAlone = await start('mm-a4', ['--auth-check-url', 'http://127.0.0.1:1/v2/account']);
    assert.equal(urlAlone.code, 2);
    assert.match(urlAlone.log, /auth-check-url.*auth=nakama/);
    const badUrl = await start('mm-a5', ['--auth', 'nakama', '--auth-nakama-key', 'sekrit-k3y', '--auth-check-url', 'ftp://x']);
    assert.equal(badUrl.code, 2);
    assert.match(badUrl.log, /auth-check-url/);
    assert.ok(!badUrl.log.includes('sekrit-k3y'), 'the key is not in the log');
    const dflt = await startMatchmaker('mm-a6', ['--agones-allocator-url', sim.alloc, '--auth', 'nakama',
      '--auth-nakama-key', 'defaultencryptionkey']);
    assert.match(dflt.log(), /event=default_nakama_key/);
  },
};

// ---- run -------------------------------------------------------------------------------

const cases = { sim: simCases, matchmaker: mmCases, gameserver: gsCases, auth: authCases }[group];
if (!cases) throw new Error(`--group must be sim, matchmaker, gameserver or auth, not ${group}`);
let failed = 0;
for (const [name, fn] of Object.entries(cases)) {
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n     ${e.stack.split('\n').slice(0, 4).join('\n     ')}`);
  }
  await procs.stop();
  procs.children = [];
}
console.log(`${Object.keys(cases).length - failed}/${Object.keys(cases).length} passed`);
process.exit(failed ? 1 : 0);
