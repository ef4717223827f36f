// Seat tokens (JWS) checked against node's own crypto, never against seatgate's signer:
// tokens node signs (Ed25519, HMAC-SHA256) must verify with seatgate-token jwt-verify, tokens
// seatgate signs must verify with node, and every attack must be refused with its reason.
// Usage: node jws.mjs --token-bin BIN --out DIR
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { arg } from '../support/procs.mjs';

const bin = arg('token-bin');
const out = arg('out');
fs.rmSync(out, { recursive: true, force: true });
fs.mkdirSync(out, { recursive: true });

const b64u = (buf) => Buffer.from(buf).toString('base64url');
const now = Math.floor(Date.now() / 1000);

function run(args, input) {
  try {
    return { code: 0, out: execFileSync(bin, args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] }), err: '' };
  } catch (e) {
    return { code: e.status, out: e.stdout || '', err: e.stderr || '' };
  }
}

// A compact JWS made here: header and claims as given, signed by sign(bytes) -> Buffer.
function jws(header, claims, sign) {
  const input = `${b64u(JSON.stringify(header))}.${b64u(typeof claims === 'string' ? claims : JSON.stringify(claims))}`;
  return `${input}.${b64u(sign(Buffer.from(input)))}`;
}

// The key sets: an Ed25519 pair and an HMAC secret made by node, as JWKs.
const ed = crypto.generateKeyPairSync('ed25519');
const edJwk = { ...ed.privateKey.export({ format: 'jwk' }), kid: 'node-ed' };
const secret = crypto.randomBytes(32);
const hsJwk = { kty: 'oct', k: b64u(secret), kid: 'node-hs' };
const keysFile = path.join(out, 'node-keys.json');
fs.writeFileSync(keysFile, JSON.stringify({ keys: [edJwk, hsJwk] }));
const edSign = (m) => crypto.sign(null, m, ed.privateKey);
const hsSign = (m, key = secret) => crypto.createHmac('sha256', key).update(m).digest();

const verify = (token, extra = []) => run(['jwt-verify', '--keys', keysFile, '--token', token, ...extra]);
const refusedAs = (token, reason, extra = []) => {
  const r = verify(token, extra);
  assert.equal(r.code, 1, `expected a refusal (${reason}): ${r.out}${r.err}`);
  assert.equal(r.out.trim(), `refused reason=${reason}`);
  assert.ok(!r.out.includes(token) && !r.err.includes(token), 'the token is never printed');
};

const claims = { userId: 'u-1', mapKey: 'arena', instanceId: 'game-abc', sid: 's-1', ip: '203.0.113.7',
  aud: 'seatgate-example', jti: crypto.randomUUID(), iat: now, exp: now + 60 };
const cases = {
  'a token node signs with Ed25519 verifies, claims as signed'() {
    const r = verify(jws({ alg: 'EdDSA', typ: 'JWT', kid: 'node-ed' }, claims, edSign));
    assert.equal(r.code, 0, r.out + r.err);
    assert.deepEqual(JSON.parse(r.out), claims);
  },
  'a token node signs with HMAC-SHA256 verifies'() {
    const r = verify(jws({ alg: 'HS256', kid: 'node-hs' }, claims, hsSign));
    assert.equal(r.code, 0, r.out + r.err);
    assert.deepEqual(JSON.parse(r.out), claims);
  },
  'tokens seatgate signs verify with node (EdDSA and HS256)'() {
    for (const alg of ['EdDSA', 'HS256']) {
      const ks = path.join(out, `sg-${alg}.json`);
      const gen = run(['jwt-keygen', '--alg', alg, '--kid', `sg-${alg}`]);
      assert.equal(gen.code, 0, gen.err);
      fs.writeFileSync(ks, gen.out);
      const jwk = JSON.parse(gen.out).keys[0];
      const s = run(['jwt-sign', '--keys', ks, '--claims', JSON.stringify(claims)]);
      assert.equal(s.code, 0, s.err);
      const [h, p, sig] = s.out.trim().split('.');
      const header = JSON.parse(Buffer.from(h, 'base64url'));
      assert.deepEqual(header, { alg, typ: 'JWT', kid: `sg-${alg}` });
      assert.deepEqual(JSON.parse(Buffer.from(p, 'base64url')), claims);
      const input = Buffer.from(`${h}.${p}`);
      if (alg === 'EdDSA') {
        const pub = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
        assert.ok(crypto.verify(null, input, pub, Buffer.from(sig, 'base64url')), 'node verifies the Ed25519 signature');
        const priv = crypto.createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x, d: jwk.d }, format: 'jwk' });
        assert.equal(crypto.createPublicKey(priv).export({ format: 'jwk' }).x, jwk.x, 'd is the seed of x');
        // The public key set holds no private part.
        const pubSet = run(['jwt-public', '--keys', ks]);
        assert.equal(pubSet.code, 0, pubSet.err);
        assert.equal(JSON.parse(pubSet.out).keys[0].d, undefined);
      } else {
        const mac = crypto.createHmac('sha256', Buffer.from(jwk.k, 'base64url')).update(input).digest();
        assert.equal(b64u(mac), sig, 'node computes the same HMAC');
        assert.equal(run(['jwt-public', '--keys', ks]).code, 1, 'a shared secret has no public part');
      }
    }
  },
  'attacks are refused, each with its reason'() {
    const good = { alg: 'EdDSA', kid: 'node-ed' };
    refusedAs(`${b64u(JSON.stringify({ alg: 'none', kid: 'node-ed' }))}.${b64u(JSON.stringify(claims))}.`, 'alg_not_allowed');
    refusedAs(jws({ alg: 'none', kid: 'node-ed' }, claims, () => Buffer.alloc(0)), 'alg_not_allowed');
    // HS256 keyed with the Ed25519 public key's bytes, naming the Ed25519 key.
    const pubRaw = Buffer.from(edJwk.x, 'base64url');
    refusedAs(jws({ alg: 'HS256', kid: 'node-ed' }, claims, (m) => hsSign(m, pubRaw)), 'alg_not_allowed');
    refusedAs(jws({ alg: 'EdDSA', kid: 'nobody' }, claims, edSign), 'unknown_kid');
    refusedAs(jws({ alg: 'EdDSA' }, claims, edSign), 'unknown_kid'); /* two keys: a kid is needed */
    const t = jws(good, claims, edSign);
    refusedAs(t.slice(0, t.length - 10), 'bad_signature');
    const [h, , s] = t.split('.');
    refusedAs(`${h}.${b64u(JSON.stringify({ ...claims, userId: 'someone-else' }))}.${s}`, 'bad_signature');
    refusedAs(jws(good, { ...claims, exp: now - 5 }, edSign), 'expired');
    assert.equal(verify(jws(good, { ...claims, exp: now - 5 }, edSign), ['--leeway', '30']).code, 0, 'within the leeway');
    refusedAs(jws(good, { ...claims, nbf: now + 120 }, edSign), 'not_yet_valid');
    refusedAs(jws(good, { ...claims, iat: now + 120 }, edSign), 'issued_in_future');
    const { exp, ...noExp } = claims;
    assert.ok(exp);
    refusedAs(jws(good, noExp, edSign), 'missing_exp');
    refusedAs(jws(good, { ...claims, exp: String(now + 60) }, edSign), 'missing_exp');
    refusedAs(jws({ ...good, jku: 'https://evil.example/keys' }, claims, edSign), 'bad_header');
    refusedAs(jws({ ...good, crit: ['exp'] }, claims, edSign), 'bad_header');
    refusedAs(jws({ ...good, typ: 'JOSE+JSON' }, claims, edSign), 'bad_header');
    refusedAs(jws(good, claims, edSign), 'alg_not_allowed', ['--alg', 'HS256']);
    refusedAs(jws(good, { ...claims, pad: 'x'.repeat(9000) }, edSign), 'too_large');
    refusedAs('abc', 'malformed');
    refusedAs('a.b', 'malformed');
    refusedAs(`${h}.@@@.${s}`, 'bad_signature'); /* the signature is checked over the text as sent */
    refusedAs(`${b64u('not json')}.${b64u(JSON.stringify(claims))}.${s}`, 'malformed');
    refusedAs(jws(good, '[1,2,3]', edSign), 'malformed');
    // A signature with padding or with non-zero unused bits is not canonical base64url.
    refusedAs(`${t}=`, 'bad_signature');
  },
  'bad key sets are refused without printing key material'() {
    const bad = path.join(out, 'bad-keys.json');
    const other = crypto.generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
    fs.writeFileSync(bad, JSON.stringify({ keys: [{ ...edJwk, d: other.d }] }));
    const r = run(['jwt-verify', '--keys', bad, '--token', 'a.b.c']);
    assert.equal(r.code, 1);
    assert.match(r.err, /d must be the 32-byte seed of x/);
    assert.ok(!r.err.includes(other.d) && !r.err.includes(edJwk.d), 'no key material in the message');
    fs.writeFileSync(bad, JSON.stringify({ keys: [hsJwk, hsJwk] }));
    assert.match(run(['jwt-verify', '--keys', bad, '--token', 'a.b.c']).err, /kid node-hs appears twice/);
    fs.writeFileSync(bad, JSON.stringify({ keys: [{ kty: 'RSA', kid: 'r', n: 'x', e: 'AQAB' }] }));
    assert.match(run(['jwt-verify', '--keys', bad, '--token', 'a.b.c']).err, /kty must be OKP/);
  },
};

let failed = 0;
for (const [name, fn] of Object.entries(cases)) {
  try {
    fn();
    console.log(`ok   ${name}`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name}\n     ${e.stack.split('\n').slice(0, 4).join('\n     ')}`);
  }
}
console.log(`${Object.keys(cases).length - failed}/${Object.keys(cases).length} passed`);
process.exit(failed ? 1 : 0);
