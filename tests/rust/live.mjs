// The Rust binding's example game server (lightyear_server) against the local stack: a real
// nats-server, the Edgegap simulator with one deployment of one seat, the matchmaker. The
// players here are this script: each asks /connect-me for a seat, then sends the example the
// connect datagram lightyear's connect event stands for (client id and the token's user data,
// written here with the matchmaker's layout: a length byte, then the session id). A player the
// matchmaker sent is accepted; the same client again (from another port or IP) or an unknown
// id is refused; its score is published; leaving frees the seat for the next player, whose
// token from another IP is refused; SIGTERM releases the seat still held and the server exits
// cleanly.
//
// node live.mjs --matchmaker-bin B --sim-bin B --server-bin B --out DIR
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { arg, sleep, Procs } from '../support/procs.mjs';

const MM_BIN = arg('matchmaker-bin');
const SIM_BIN = arg('sim-bin');
const SERVER_BIN = arg('server-bin');
const OUT = path.resolve(arg('out'));
const API_KEY = 'rust-api-key-0123456';
const REQUEST_ID = 'a1b2c3d4e5f6';

const procs = new Procs(OUT);
const start = (...a) => procs.start(...a);
const readyFile = (...a) => procs.readyFile(...a);
let simUrl, mmUrl, natsUrl, server, serverOut = '', gamePort;

async function freePort(kind) {
  if (kind === 'udp') {
    const s = dgram.createSocket('udp4');
    await new Promise((r) => s.bind(0, '127.0.0.1', r));
    const p = s.address().port;
    s.close();
    return p;
  }
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const p = s.address().port;
  await new Promise((r) => s.close(r));
  return p;
}

async function waitTcp(port, what) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((r) => {
      const c = net.connect(port, '127.0.0.1', () => { c.destroy(); r(true); });
      c.on('error', () => r(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`${what} is not listening on ${port}`);
}

async function simState() {
  return (await fetch(`${simUrl}/_sim/state`)).json();
}

async function waitFor(what, cond, ms = 10000) {
  const until = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function connectMe() {
  const res = await fetch(`${mmUrl}/connect-me`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ client_version: 'rust-binding-test' }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  assert.match(body.client_id, /^\d+$/);
  assert.ok(body.session_id);
  assert.equal(body.port, gamePort);
  return body;
}

// The connect datagram: 'C', client id (u64 big-endian), the 256 bytes of user data.
function connectPacket(clientId, sessionId) {
  const b = Buffer.alloc(1 + 8 + 256);
  b[0] = 0x43;
  b.writeBigUInt64BE(BigInt(clientId), 1);
  if (sessionId) {
    b[9] = sessionId.length;
    b.write(sessionId, 10, 'ascii');
  }
  return b;
}

function idPacket(type, clientId, value) {
  const b = Buffer.alloc(value === undefined ? 9 : 17);
  b[0] = type.charCodeAt(0);
  b.writeBigUInt64BE(BigInt(clientId), 1);
  if (value !== undefined) b.writeBigInt64BE(BigInt(value), 9);
  return b;
}

// A player's UDP socket, from a loopback address of its choosing.
async function player(address = '127.0.0.1') {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, address, r));
  const inbox = [];
  const waiters = [];
  s.on('message', (m) => {
    inbox.push(m.toString());
    while (waiters.length) waiters.shift()();
  });
  return {
    send: (b) => new Promise((r) => s.send(b, gamePort, '127.0.0.1', r)),
    async next(ms = 10000) {
      const until = Date.now() + ms;
      while (!inbox.length) {
        if (Date.now() > until) throw new Error('no answer from the game server');
        await new Promise((r) => { waiters.push(r); setTimeout(r, 100); });
      }
      return inbox.shift();
    },
    close: () => s.close(),
  };
}

before(async () => {
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  const natsPort = await freePort('tcp');
  start('nats-server', 'nats-server', ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd',
    path.join(OUT, 'nats')]);
  await waitTcp(natsPort, 'nats-server');
  natsUrl = `nats://127.0.0.1:${natsPort}`;

  gamePort = await freePort('udp');
  const simConfig = path.join(OUT, 'sim-config.json');
  fs.writeFileSync(simConfig, JSON.stringify({ apps: [{ name: 'demo', versions: [{
    name: 'v1',
    session_config: { kind: 'Seat', sockets: 1, autodeploy: false },
    template: { public_ip: '127.0.0.1', ports: [{ name: 'gameport', internal: gamePort, protocol: 'UDP' }],
      location: { city: 'Montreal', country: 'Canada', continent: 'North America', latitude: 45.5, longitude: -73.6 } },
    deployments: [{ request_id: REQUEST_ID, public_ip: '127.0.0.1',
      ports: [{ name: 'gameport', internal: gamePort, external: gamePort, protocol: 'UDP' }] }],
  }] }] }, null, 1));
  const sim = start('edgegap-sim', SIM_BIN, ['--listen-address', '127.0.0.1', '--listen-port', '0',
    '--ready-file', path.join(OUT, 'sim.url'), '--config', simConfig, '--env-dir', path.join(OUT, 'env')],
  { SEATGATE_SIM_API_KEY: API_KEY });
  simUrl = await readyFile(path.join(OUT, 'sim.url'), sim, 'the simulator');

  const mm = start('matchmaker', MM_BIN, ['--listen-address', '127.0.0.1', '--listen-port', '0',
    '--ready-file', path.join(OUT, 'mm.url'), '--store-url', natsUrl, '--edgegap-url', simUrl,
    '--edgegap-app', 'demo', '--edgegap-version', 'v1', '--edgegap-rate', '0', '--port-name', 'gameport',
    '--wait-timeout', '4s', '--reap-interval', '1s',
    // Every player here comes from 127.0.0.1: no per-player seat cap.
    '--seats-per-player', '0'],
  { SEATGATE_EDGEGAP_API_KEY: API_KEY, SEATGATE_NETCODE_KEY: randomBytes(32).toString('hex') });
  mmUrl = await readyFile(path.join(OUT, 'mm.url'), mm, 'the matchmaker');

  // The game server, with the environment Edgegap injects (from the simulator).
  const env = {};
  for (const line of fs.readFileSync(path.join(OUT, 'env', `${REQUEST_ID}.env`), 'utf8').split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) env[line.slice(0, eq)] = line.slice(eq + 1);
  }
  Object.assign(env, { SEATGATE_STORE_URL: natsUrl, SEATGATE_EDGEGAP_URL: simUrl,
    SEATGATE_EDGEGAP_API_KEY: API_KEY, SEATGATE_PORT_NAME: 'gameport', SEATGATE_HEARTBEAT: '1s',
    SEATGATE_EXAMPLE_LISTEN: `127.0.0.1:${gamePort}` });
  server = start('lightyear_server', SERVER_BIN, [], env, ['ignore', 'pipe', 'pipe']);
  const log = fs.createWriteStream(path.join(OUT, 'lightyear_server.log'));
  server.stdout.on('data', (d) => { serverOut += d; log.write(d); });
  server.stderr.on('data', (d) => log.write(d));
  await waitFor('the game server to listen', () => serverOut.includes(`listening ${gamePort}`) ||
    (server.exitCode !== null && Promise.reject(new Error(`the game server exited: ${server.exitCode}`))));
});

after(async () => {
  await procs.stop();
});

let first;

test('a player the matchmaker sent is accepted', async () => {
  first = await connectMe();
  const p = await player();
  await p.send(connectPacket(first.client_id, first.session_id));
  assert.equal(await p.next(), `accepted ${first.client_id} ${first.session_id}`);
  const s = await simState();
  const dep = s.deployments.find((d) => d.request_id === REQUEST_ID);
  assert.equal(dep.sockets_usage, 1);
  first.socket = p;
});

test('the same client again, another address or an unknown id, is refused', async () => {
  // The same datagram from another port: the seat is held by the first connection.
  const again = await player();
  await again.send(connectPacket(first.client_id, first.session_id));
  assert.match(await again.next(), new RegExp(`^denied ${first.client_id} already_connected `));
  again.close();
  // From another IP: refused as well (the connection here already holds the client).
  const other = await player('127.0.0.2');
  await other.send(connectPacket(first.client_id, first.session_id));
  assert.match(await other.next(), new RegExp(`^denied ${first.client_id} already_connected `));
  other.close();
  // A client id the matchmaker never handed out.
  const stranger = await player();
  await stranger.send(connectPacket('1234567890123', first.session_id));
  assert.match(await stranger.next(), /^denied 1234567890123 unknown_client /);
  stranger.close();
  // The first player is still in.
  const s = await simState();
  assert.ok(s.sessions.some((x) => x.session_id === first.session_id && !x.terminated));
});

test('a score is published for a connected player', async () => {
  await first.socket.send(idPacket('S', first.client_id, 42));
  assert.equal(await first.socket.next(), `scored ${first.client_id}`);
});

test('leaving frees the seat for the next player', async () => {
  await first.socket.send(idPacket('D', first.client_id));
  assert.equal(await first.socket.next(), `left ${first.client_id}`);
  first.socket.close();
  await waitFor('the session to be deleted', async () => {
    const s = await simState();
    const gone = !s.sessions.some((x) => x.session_id === first.session_id && !x.terminated);
    return gone && s.deployments.find((d) => d.request_id === REQUEST_ID).sockets_usage === 0;
  });
  // The one seat is free again: the next player gets it and plays.
  const next = await connectMe();
  assert.notEqual(next.session_id, first.session_id);
  // Its token used from another IP than the one the session was made for: refused.
  const thief = await player('127.0.0.2');
  await thief.send(connectPacket(next.client_id, next.session_id));
  assert.match(await thief.next(), new RegExp(`^denied ${next.client_id} ip_mismatch `));
  thief.close();
  const p = await player();
  await p.send(connectPacket(next.client_id, next.session_id));
  assert.equal(await p.next(), `accepted ${next.client_id} ${next.session_id}`);
  first.next = next;
  first.nextSocket = p;
});

test('SIGTERM releases the seat still held and exits cleanly', async () => {
  server.kill('SIGTERM');
  assert.equal(await first.nextSocket.next(), `left ${first.next.client_id}`);
  first.nextSocket.close();
  const code = await new Promise((r) => (server.exitCode !== null ? r(server.exitCode) : server.on('exit', r)));
  assert.equal(code, 0);
  assert.match(serverOut, /stopped verifies=6 accepted=2 disconnects=2/);
  await waitFor('the last session to be deleted', async () => {
    const s = await simState();
    return s.deployments.find((d) => d.request_id === REQUEST_ID).sockets_usage === 0;
  });
});
