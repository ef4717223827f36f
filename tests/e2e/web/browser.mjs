// The web client in a real browser: headless Chromium (Debian's) driven by playwright-core
// clicks Play on examples/web/index.html, served from its own origin, against the matchmaker
// over HTTPS (a test certificate made here with openssl, trusted by its SPKI hash through
// --ignore-certificate-errors-spki-list), with the Edgegap simulator starting a server on
// demand. The page shows progress, then where to connect; the same page from an origin the
// matchmaker does not allow is refused by CORS and creates nothing; with sign-in on, the page
// sends the game's session token (and refreshes an expired one once). Screenshots go to OUT.
//
// node browser.mjs --matchmaker-bin B --sim-bin B --page examples/web/index.html --out DIR
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { arg, sleep, Procs } from '../../support/procs.mjs';

const MM_BIN = arg('matchmaker-bin');
const SIM_BIN = arg('sim-bin');
const PAGE = arg('page');
const LB_BIN = arg('leaderboard-bin');
const FEED_BIN = arg('feed-bin');
const OUT = path.resolve(arg('out'));
const API_KEY = 'browser-api-key-0123';
const procs = new Procs(OUT);
const start = (...a) => procs.start(...a);
const readyFile = (...a) => procs.readyFile(...a);

const servers = [];
let context;
let mmUrl, simUrl, allowed, refused;

// A tiny static server for the page, on a free loopback port: its own origin.
async function serve(file) {
  const html = fs.readFileSync(file);
  const server = http.createServer((req, res) => {
    if (req.url === '/' || req.url.startsWith('/?') || req.url.startsWith('/index.html')) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      res.end(html);
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      res.end('not found\n');
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  return `http://127.0.0.1:${server.address().port}`;
}

// OPTIONS /connect-me as a browser's preflight from `origin`, trusting only the test cert.
function preflight(origin) {
  return new Promise((resolve, reject) => {
    const req = https.request(`${mmUrl}/connect-me`, {
      method: 'OPTIONS',
      ca: fs.readFileSync(path.join(OUT, 'cert.pem')),
      headers: { Origin: origin, 'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type' },
    }, (res) => { res.resume(); res.on('end', () => resolve(res)); });
    req.on('error', reject);
    req.end();
  });
}

async function simState() {
  const res = await fetch(`${simUrl}/_sim/state`);
  return res.json();
}

before(async () => {
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  // The test certificate: ECDSA P-256, valid for 127.0.0.1 only, two days.
  const cert = path.join(OUT, 'cert.pem');
  const key = path.join(OUT, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
    '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=seatgate-e2e',
    '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const spki = execFileSync('sh', ['-c',
    `openssl x509 -in '${cert}' -pubkey -noout | openssl pkey -pubin -outform der | ` +
    'openssl dgst -sha256 -binary | base64']).toString().trim();

  allowed = await serve(PAGE);
  refused = await serve(PAGE);

  // The simulator starts a deployment on demand, in 1.5 s: the page has progress to show.
  const simConfig = path.join(OUT, 'sim-config.json');
  fs.writeFileSync(simConfig, JSON.stringify({ apps: [{ name: 'demo', versions: [{
    name: 'v1',
    session_config: { kind: 'Seat', sockets: 8, autodeploy: true },
    deployment_start_delay_ms: 1500,
    template: { public_ip: '127.0.0.1', ports: [{ name: 'gameport', internal: 7000, protocol: 'UDP' }],
      location: { city: 'Montreal', country: 'Canada', continent: 'North America', latitude: 45.5, longitude: -73.6 } },
  }] }] }, null, 1));
  const sim = start('edgegap-sim', SIM_BIN, ['--listen-address', '127.0.0.1', '--listen-port', '0',
    '--ready-file', path.join(OUT, 'sim.url'), '--config', simConfig], { SEATGATE_SIM_API_KEY: API_KEY });
  simUrl = await readyFile(path.join(OUT, 'sim.url'), sim, 'the simulator');

  const mm = start('matchmaker', MM_BIN, ['--listen-address', '127.0.0.1', '--listen-port', '0',
    '--ready-file', path.join(OUT, 'mm.url'), '--tls-cert-file', cert, '--tls-key-file', key,
    '--cors-origins', allowed, '--store-url', `sqlite://${path.join(OUT, 'mm.db')}`,
    '--edgegap-url', simUrl, '--edgegap-app', 'demo', '--edgegap-version', 'v1',
    '--port-name', 'gameport', '--reap-interval', '1s'],
  { SEATGATE_EDGEGAP_API_KEY: API_KEY, SEATGATE_NETCODE_KEY: randomBytes(32).toString('hex') });
  mmUrl = await readyFile(path.join(OUT, 'mm.url'), mm, 'the matchmaker');
  assert.match(mmUrl, /^https:\/\/127\.0\.0\.1:\d+$/);

  const profile = fs.mkdtempSync(path.join(OUT, 'chromium-profile-'));
  context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    viewport: { width: 800, height: 600 },
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      `--ignore-certificate-errors-spki-list=${spki}`],
  });
});

after(async () => {
  if (context) await context.close().catch(() => {});
  for (const s of servers) s.close();
  await procs.stop();
});

test('Play from the allowed origin: progress, then where to connect', async () => {
  const page = await context.newPage();
  await page.goto(`${allowed}/?matchmaker=${encodeURIComponent(mmUrl)}`);
  await page.screenshot({ path: path.join(OUT, '1-before.png') });
  const before = (await simState()).counters.sessions_created;
  await page.click('#play');
  // A server is starting: the page shows progress and the button waits.
  await page.waitForSelector('#status[data-state="waiting"]', { timeout: 5000 });
  assert.equal(await page.isDisabled('#play'), true);
  // The matchmaker streams what it is doing (Server-Sent Events): a server is booting.
  await page.waitForFunction(() => /Starting a server near you/.test(document.querySelector('#doing')?.textContent || ''),
    null, { timeout: 5000 });
  await page.waitForTimeout(300); // let the progress count up for the screenshot
  await page.screenshot({ path: path.join(OUT, '2-waiting.png') });
  await page.waitForSelector('#status[data-state="ready"]', { timeout: 20000 });
  await page.screenshot({ path: path.join(OUT, '3-ready.png') });
  const answer = await page.evaluate(() => window.seatgateAnswer);
  assert.equal(answer.host, '127.0.0.1');
  assert.equal(answer.protocol, 'UDP');
  assert.ok(Number.isInteger(answer.port) && answer.port > 0);
  assert.equal(Buffer.from(answer.token, 'base64').length, 2048);
  assert.match(answer.client_id, /^[1-9][0-9]*$/);
  assert.ok(answer.expires_at > Date.now() / 1000);
  const where = await page.textContent('#where');
  assert.ok(where.includes(`${answer.port}/UDP`), where);
  // How long the seat is held counts down to the token's expiry.
  const left = () => page.textContent('#expires').then((t) => parseInt(t, 10));
  const first = await left();
  assert.ok(first > 0 && first <= answer.expires_at - Math.floor(Date.now() / 1000) + 1, `${first}`);
  await page.waitForTimeout(1300);
  assert.ok((await left()) < first);
  // The simulator holds that session, Ready, for the browser's address, on the new server.
  const state = await simState();
  assert.equal(state.counters.sessions_created, before + 1);
  const s = state.sessions.find((x) => x.session_id === answer.session_id);
  assert.ok(s, 'the session is at the simulator');
  assert.equal(s.status, 'Ready');
  assert.deepEqual(s.ips, ['127.0.0.1']);
  const dep = state.deployments.find((d) => d.request_id === s.deployment);
  assert.equal(dep.autodeployed, true);
  assert.equal(dep.ports.gameport.external, answer.port);
  await page.close();
});

test('after a game: the top 10 from the leaderboard, the player\'s row marked, refreshed when the game says it is over', async () => {
  // A game's events (lb_feed publishes them through the store), read by a real leaderboard.
  const db = `sqlite://${path.join(OUT, 'lb.db')}`;
  const feed = (n, seed) => execFileSync(FEED_BIN, [db, 'seatgate', String(n), String(seed), path.join(OUT, `feed-${seed}.jsonl`)]);
  feed(400, 1);
  const lb = start('leaderboard', LB_BIN, ['--listen-address', '127.0.0.1', '--listen-port', '0',
    '--ready-file', path.join(OUT, 'lb.url'), '--store-url', db, '--cors-origins', allowed]);
  const lbUrl = await readyFile(path.join(OUT, 'lb.url'), lb, 'the leaderboard');
  const topNow = async (applied) => {
    for (let i = 0; i < 100; i++) {
      const m = (await (await fetch(`${lbUrl}/metrics`)).text()).match(/^seatgate_leaderboard_position (\d+)$/m);
      if (m && Number(m[1]) >= applied) break;
      await sleep(100);
    }
    await sleep(300); // the index follows the written records
    return (await (await fetch(`${lbUrl}/leaderboard?kind=kill&limit=10`)).json()).players;
  };
  let want = await topNow(400);
  assert.equal(want.length, 10);
  const page = await context.newPage();
  const mine = want[2].id; // the game says who its signed-in player is
  await page.addInitScript((id) => { window.seatgatePlayerId = id; }, mine);
  await page.goto(`${allowed}/?matchmaker=${encodeURIComponent(mmUrl)}&leaderboard=${encodeURIComponent(lbUrl)}`);
  await page.waitForFunction(() => document.querySelectorAll('#top li').length === 10, null, { timeout: 5000 });
  const rows = () => page.$$eval('#top li', (li) => li.map((l) => [l.dataset.id, l.querySelector('b').textContent, l.className]));
  let got = await rows();
  assert.deepEqual(got.map((r) => [r[0], Number(r[1])]), want.map((p) => [p.id, p.value]));
  assert.deepEqual(got.filter((r) => r[2] === 'me').map((r) => r[0]), [mine]);
  await page.screenshot({ path: path.join(OUT, '8-leaderboard.png') });
  // More kills, then the game ends: the page reads the top 10 again.
  feed(400, 2);
  want = await topNow(800);
  await page.evaluate(() => window.seatgateGameOver());
  await page.waitForFunction((first) => document.querySelector('#top li b')?.textContent === String(first),
    want[0].value, { timeout: 5000 });
  got = await rows();
  assert.deepEqual(got.map((r) => [r[0], Number(r[1])]), want.map((p) => [p.id, p.value]));
  // The leaderboard gone: the page says so instead of a stale list.
  lb.kill('SIGTERM');
  await new Promise((r) => lb.on('exit', r));
  await page.evaluate(() => window.seatgateGameOver());
  await page.waitForFunction(() => /cannot be reached/.test(document.querySelector('#top')?.textContent || ''),
    null, { timeout: 5000 });
  await page.screenshot({ path: path.join(OUT, '9-leaderboard-down.png') });
  await page.close();
});

test('the same page from another origin is refused by CORS and creates nothing', async () => {
  const page = await context.newPage();
  const failed = [];
  page.on('requestfailed', (r) => failed.push(`${r.method()} ${r.url()}`));
  await page.goto(`${refused}/?matchmaker=${encodeURIComponent(mmUrl)}`);
  const before = (await simState()).counters.sessions_created;
  await page.click('#play');
  await page.waitForSelector('#status[data-state="error"]', { timeout: 10000 });
  await page.screenshot({ path: path.join(OUT, '4-refused.png') });
  // The page says what is wrong and what the operator sets (the server answered, so it is
  // not a network failure).
  const said = (await page.textContent('#status')).replace(/\s+/g, ' ');
  assert.ok(said.includes(`this page's origin (${refused}) is not allowed`), said);
  assert.ok(said.includes(`--cors-origins ${refused}`), said);
  assert.equal(await page.evaluate(() => window.seatgateAnswer), undefined);
  // The preflight was refused, so the POST never left the browser: no session was made.
  assert.equal((await simState()).counters.sessions_created, before);
  await page.close();
  // The matchmaker's side: that origin's preflight is 403 without CORS headers; the page's
  // own origin gets 204 with its origin echoed.
  const refusedPre = await preflight(refused);
  assert.equal(refusedPre.statusCode, 403);
  assert.equal(refusedPre.headers['access-control-allow-origin'], undefined);
  const allowedPre = await preflight(allowed);
  assert.equal(allowedPre.statusCode, 204);
  assert.equal(allowedPre.headers['access-control-allow-origin'], allowed);
  // ... and the operator reads which origin was refused and the setting to change.
  const log = fs.readFileSync(path.join(OUT, 'matchmaker.log'), 'utf8');
  assert.match(log, new RegExp(`event=origin_refused origin=${refused.replace(/[.]/g, '\\.')}`));
});

test('Cancel while a server starts: the page is idle again and the seat is released', async () => {
  // Stop the running servers so that Play has to wait for a new one (1.5 s).
  for (const d of (await simState()).deployments)
    await fetch(`${simUrl}/_sim/deployments/${d.request_id}/stop`, { method: 'POST' });
  const page = await context.newPage();
  await page.goto(`${allowed}/?matchmaker=${encodeURIComponent(mmUrl)}`);
  const start0 = await simState();
  const known = new Set(start0.sessions.map((x) => x.session_id));
  const fresh = (st) => st.sessions.filter((x) => !known.has(x.session_id));
  await page.click('#play');
  await page.waitForSelector('#cancel:not([hidden])', { timeout: 5000 });
  // Wait until the session exists at the simulator, then cancel the wait.
  for (let i = 0; i < 200 && (await simState()).counters.sessions_created === start0.counters.sessions_created; i++)
    await sleep(10);
  await page.click('#cancel');
  await page.waitForSelector('#status[data-state="idle"]', { timeout: 5000 });
  assert.match(await page.textContent('#status'), /Cancelled/);
  assert.equal(await page.isDisabled('#play'), false);
  assert.equal(await page.isHidden('#cancel'), true);
  // The matchmaker saw the hang-up and deleted what it had reserved for this wait.
  let st = await simState();
  for (let i = 0; i < 100 && fresh(st).length > 0; i++) {
    await sleep(100);
    st = await simState();
  }
  assert.ok(st.counters.sessions_created > start0.counters.sessions_created, 'a session was made for the wait');
  assert.deepEqual(fresh(st).map((x) => x.status), []);
  assert.equal(await page.evaluate(() => window.seatgateAnswer), undefined);
  await page.close();
});

test('rate limited: the page waits out Retry-After by itself, then gets a seat', async () => {
  // A second matchmaker that takes one request per second from an address.
  const mm2 = start('matchmaker-rate', MM_BIN, ['--listen-address', '127.0.0.1', '--listen-port', '0',
    '--ready-file', path.join(OUT, 'mm2.url'), '--cors-origins', allowed,
    '--store-url', `sqlite://${path.join(OUT, 'mm2.db')}`, '--edgegap-url', simUrl,
    '--edgegap-app', 'demo', '--edgegap-version', 'v1', '--port-name', 'gameport',
    '--ip-rate', '60', '--ip-burst', '1'],
  { SEATGATE_EDGEGAP_API_KEY: API_KEY, SEATGATE_NETCODE_KEY: randomBytes(32).toString('hex') });
  const mm2Url = await readyFile(path.join(OUT, 'mm2.url'), mm2, 'the second matchmaker');
  const page = await context.newPage();
  await page.goto(`${allowed}/?matchmaker=${encodeURIComponent(mm2Url)}`);
  // Another request from this address uses the burst (it waits for a server): the page's
  // request right after it is refused with Retry-After: 1.
  const first = fetch(`${mm2Url}/connect-me`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
  await sleep(100);
  await page.click('#play');
  await page.waitForSelector('#retry-in', { timeout: 5000 });
  assert.match(await page.textContent('#status'), /Too many tries from your network\. Trying again in \d+ s/);
  await page.screenshot({ path: path.join(OUT, '5-retrying.png') });
  await page.waitForSelector('#status[data-state="ready"]', { timeout: 20000 });
  assert.ok((await page.evaluate(() => window.seatgateAnswer)).token.length > 0);
  assert.equal((await first).status, 200);
  await page.close();
});

test('a game that signs players in: the page sends the session token, refreshes an expired one once, and says "sign in" without one', async () => {
  // Nakama-format session tokens, made here with node's HMAC (the raw key string).
  const key = 'browser-nakama-session-key';
  const b64u = (x) => Buffer.from(x).toString('base64url');
  const mint = (claims) => {
    const input = `${b64u(JSON.stringify({ alg: 'HS256', typ: 'JWT' }))}.${b64u(JSON.stringify(claims))}`;
    return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
  };
  const now = Math.floor(Date.now() / 1000);
  const uid = randomUUID();
  const stale = mint({ tid: randomUUID(), uid, usn: 'web', exp: now - 120, iat: now - 180 });
  const fresh = mint({ tid: randomUUID(), uid, usn: 'web', exp: now + 60, iat: now });
  const db = path.join(OUT, 'mm-auth.db');
  const mm3 = start('matchmaker-auth', MM_BIN, ['--listen-address', '127.0.0.1', '--listen-port', '0',
    '--ready-file', path.join(OUT, 'mm3.url'), '--cors-origins', allowed,
    '--store-url', `sqlite://${db}`, '--edgegap-url', simUrl,
    '--edgegap-app', 'demo', '--edgegap-version', 'v1', '--port-name', 'gameport',
    '--auth', 'nakama'],
  { SEATGATE_EDGEGAP_API_KEY: API_KEY, SEATGATE_NETCODE_KEY: randomBytes(32).toString('hex'),
    SEATGATE_AUTH_NAKAMA_KEY: key });
  const mm3Url = await readyFile(path.join(OUT, 'mm3.url'), mm3, 'the matchmaker with sign-in');

  // Without a session: the page says to sign in, and nothing is reserved.
  const anon = await context.newPage();
  await anon.goto(`${allowed}/?matchmaker=${encodeURIComponent(mm3Url)}`);
  await anon.click('#play');
  await anon.waitForSelector('#status[data-state="error"]', { timeout: 10000 });
  assert.match(await anon.textContent('#status'), /Sign in to play\..*missing_token/s);
  await anon.close();

  // The game's script hands the page its session; the first one has expired.
  const page = await context.newPage();
  await page.addInitScript(([s, f]) => {
    window.seatgateCalls = [];
    window.seatgateToken = async ({ refresh }) => { window.seatgateCalls.push(refresh); return refresh ? f : s; };
  }, [stale, fresh]);
  await page.goto(`${allowed}/?matchmaker=${encodeURIComponent(mm3Url)}`);
  await page.click('#play');
  await page.waitForSelector('#status[data-state="ready"]', { timeout: 20000 });
  assert.deepEqual(await page.evaluate(() => window.seatgateCalls), [false, true], 'asked again, once, with refresh');
  const answer = await page.evaluate(() => window.seatgateAnswer);
  const rec = JSON.parse(execFileSync('sqlite3', [db, `select value from sg_kv where bucket = 'seatgate_sessions' ` +
    `and key = '${answer.session_id}' order by rev desc limit 1`], { encoding: 'utf8' }));
  assert.equal(rec.user_id, uid, 'the seat is the signed-in player\'s');
  await page.screenshot({ path: path.join(OUT, '6-signed-in.png') });
  await page.close();
});
