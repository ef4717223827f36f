// Validates every manifest in deploy/kubernetes/ with ajv: Agones objects against the CRD
// schemas (crd-schemas/, extracted from Agones' crds.yaml), core objects against their shape
// (core-schemas.json); an unknown field is an error, as with kubectl --validate=strict. Then
// the references between them (selectors, the fleet, the List, secrets, probe ports) and the
// settings they set (every SEATGATE_* variable must be one the program reads, from its own
// --help). It first checks itself: broken copies of the manifests must be refused.
// Usage: node validate.mjs --manifests DIR --matchmaker BIN --hook-tool BIN --server BIN
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import YAML from 'yaml';
import { arg } from '../support/procs.mjs';

const dir = arg('manifests');
const here = new URL('.', import.meta.url).pathname;
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false });

// Kubernetes structural schemas drop unknown fields; strict validation refuses them. Each
// object schema that lists its properties and does not keep unknown fields gets
// additionalProperties: false; OpenAPI's nullable becomes a null type, and its boolean
// exclusive bounds JSON Schema's numeric ones.
function strictify(s) {
  if (Array.isArray(s)) return s.map(strictify);
  if (!s || typeof s !== 'object') return s;
  const o = {};
  for (const [k, v] of Object.entries(s)) o[k] = strictify(v);
  if (o.properties && o.additionalProperties === undefined && !o['x-kubernetes-preserve-unknown-fields'])
    o.additionalProperties = false;
  if (o.nullable && typeof o.type === 'string') o.type = [o.type, 'null'];
  // OpenAPI 3.0's boolean exclusiveMinimum/Maximum qualify minimum/maximum.
  for (const [ex, lim] of [['exclusiveMinimum', 'minimum'], ['exclusiveMaximum', 'maximum']]) {
    if (typeof o[ex] !== 'boolean') continue;
    if (o[ex] && o[lim] !== undefined) { o[ex] = o[lim]; delete o[lim]; } else delete o[ex];
  }
  return o;
}

const core = JSON.parse(fs.readFileSync(path.join(here, 'core-schemas.json'), 'utf8'));
const validators = {};
for (const kind of ['Deployment', 'Service'])
  validators[`${core[kind].properties.apiVersion.const} ${kind}`] = ajv.compile({ definitions: core.definitions, ...core[kind] });
const metaCheck = ajv.compile({ definitions: core.definitions, $ref: '#/definitions/meta' });
for (const f of fs.readdirSync(path.join(here, 'crd-schemas')).filter((n) => n.endsWith('.json'))) {
  const c = JSON.parse(fs.readFileSync(path.join(here, 'crd-schemas', f), 'utf8'));
  const schema = strictify(c.schema);
  schema.properties = { ...schema.properties, apiVersion: { const: `${c.group}/${c.version}` },
    kind: { const: c.kind }, metadata: { type: 'object' } }; /* metadata: checked on its own */
  schema.required = [...new Set([...(schema.required || []), 'apiVersion', 'kind', 'metadata', 'spec'])];
  validators[`${c.group}/${c.version} ${c.kind}`] = ajv.compile(schema);
}

// The settings a program reads, from its --help ("env NAME, ...").
// ("env NAME (secret; or NAME_FILE)": both).
const envOf = (bin) => {
  const help = execFileSync(bin, ['--help'], { encoding: 'utf8' });
  return new Set([...help.matchAll(/^\s+env ([A-Z0-9_]+)(?: \(secret; or ([A-Z0-9_]+)\))?/gm)].flatMap((m) => m.slice(1).filter(Boolean)));
};
const mmEnv = envOf(arg('matchmaker'));
const hookEnv = new Set([...envOf(arg('hook-tool')), ...envOf(arg('server'))]);

function load(files) {
  const docs = [];
  for (const [file, text] of files) {
    for (const d of YAML.parseAllDocuments(text)) {
      if (d.errors.length) throw new Error(`${file}: ${d.errors[0].message}`);
      const o = d.toJS();
      if (o) docs.push({ file, o });
    }
  }
  return docs;
}

const containers = (o) => (o.kind === 'Fleet' ? o.spec?.template?.spec?.template?.spec : o.spec?.template?.spec)?.containers || [];

// Every problem in a set of manifests (empty: valid).
function problems(docs) {
  const out = [];
  const by = (kind) => docs.filter((d) => d.o.kind === kind);
  for (const { file, o } of docs) {
    const key = `${o.apiVersion} ${o.kind}`;
    const v = validators[key];
    if (!v) { out.push(`${file}: no schema for ${key}`); continue; }
    if (!v(o)) out.push(...v.errors.map((e) => `${file} ${o.kind}/${o.metadata?.name}: ${e.instancePath || '/'} ${e.message}${e.params?.additionalProperty ? ` (${e.params.additionalProperty})` : ''}`));
    if (!metaCheck(o.metadata)) out.push(`${file} ${o.kind}: metadata ${ajv.errorsText(metaCheck.errors)}`);
    for (const c of containers(o)) {
      const ports = new Set((c.ports || []).map((p) => p.name));
      for (const pr of [c.readinessProbe, c.livenessProbe])
        if (pr?.httpGet && typeof pr.httpGet.port === 'string' && !ports.has(pr.httpGet.port))
          out.push(`${file} ${o.metadata.name}: a probe names port ${pr.httpGet.port}, which the container does not have`);
      const vols = new Set(((o.kind === 'Fleet' ? o.spec.template.spec.template.spec : o.spec.template.spec).volumes || []).map((x) => x.name));
      for (const m of c.volumeMounts || []) if (!vols.has(m.name)) out.push(`${file} ${o.metadata.name}: mounts volume ${m.name}, which is not declared`);
      const known = o.kind === 'Fleet' ? hookEnv : mmEnv;
      for (const e of c.env || [])
        if (/^(SEATGATE|AGONES)_/.test(e.name) && !known.has(e.name))
          out.push(`${file} ${o.metadata.name}: ${e.name} is not a setting ${o.kind === 'Fleet' ? 'the game server' : 'the matchmaker'} reads`);
    }
  }
  for (const { file, o } of by('Deployment')) {
    const sel = o.spec?.selector?.matchLabels || {}, labels = o.spec?.template?.metadata?.labels || {};
    for (const [k, v] of Object.entries(sel))
      if (labels[k] !== v) out.push(`${file} ${o.metadata.name}: the selector ${k}=${v} does not match the pod template`);
  }
  for (const { file, o } of by('Service')) {
    const pods = by('Deployment').map((d) => d.o.spec?.template?.metadata?.labels || {});
    if (!pods.some((l) => Object.entries(o.spec?.selector || {}).every(([k, v]) => l[k] === v)))
      out.push(`${file} ${o.metadata.name}: the selector matches no Deployment's pods`);
  }
  const fleets = new Map(by('Fleet').map((d) => [d.o.metadata.name, d.o]));
  for (const { file, o } of by('FleetAutoscaler'))
    if (!fleets.has(o.spec?.fleetName)) out.push(`${file} ${o.metadata.name}: fleetName ${o.spec?.fleetName} is no Fleet here`);
  for (const { file, o } of by('Deployment')) {
    const env = Object.fromEntries(containers(o).flatMap((c) => c.env || []).map((e) => [e.name, e.value]));
    if (env.SEATGATE_PLATFORM !== 'agones') continue;
    const fleet = fleets.get(env.SEATGATE_AGONES_FLEET);
    if (!fleet) { out.push(`${file} ${o.metadata.name}: SEATGATE_AGONES_FLEET names no Fleet here`); continue; }
    const list = env.SEATGATE_AGONES_LIST || 'players';
    if (!(fleet.spec?.template?.spec?.lists || {})[list]) out.push(`${file}: Fleet ${fleet.metadata.name} has no List ${list} for seats`);
    if (env.SEATGATE_AGONES_NAMESPACE && env.SEATGATE_AGONES_NAMESPACE !== (fleet.metadata.namespace || 'default'))
      out.push(`${file}: SEATGATE_AGONES_NAMESPACE is not the Fleet's namespace`);
  }
  return out;
}

const files = fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).map((f) => [f, fs.readFileSync(path.join(dir, f), 'utf8')]);
assert.ok(files.length >= 4, `manifests in ${dir}`);
const docs = load(files);
const kinds = docs.map((d) => d.o.kind).sort();
assert.deepEqual([...new Set(kinds)], ['Deployment', 'Fleet', 'FleetAutoscaler', 'Service']);

// The validator refuses what it should: each broken copy must give a problem.
const edit = (file, from, to) => files.map(([f, t]) => {
  if (f !== file) return [f, t];
  assert.ok(t.includes(from), `${file} holds ${from}`);
  return [f, t.replace(from, to)];
});
const broken = {
  'a misspelt Fleet field': edit('fleet.yaml', '  replicas: 5', '  replcas: 5'),
  'a wrong type': edit('fleet.yaml', '  replicas: 5', '  replicas: five'),
  'an unknown port policy': edit('fleet.yaml', 'portPolicy: Passthrough', 'portPolicy: Hostport'),
  'an unknown field in the pod template': edit('fleet.yaml', '              image: seatgate-gameserver', '              imagee: x\n              image: seatgate-gameserver'),
  'an unknown buffer field': edit('fleetautoscaler.yaml', 'bufferSize: 5', 'bufferSise: 5'),
  'a Deployment without a selector match': edit('matchmaker.yaml', '      app.kubernetes.io/name: seatgate-matchmaker\n  template', '      app.kubernetes.io/name: other\n  template'),
  'a setting the matchmaker does not read': edit('matchmaker.yaml', 'SEATGATE_AGONES_FLEET', 'SEATGATE_AGONES_FLEETS'),
  'a setting the game server does not read': edit('fleet.yaml', 'SEATGATE_AGONES_SHUTDOWN_EMPTY', 'SEATGATE_AGONES_SHUTDOWN_IDLE'),
  'no players List': edit('fleet.yaml', '        players:\n          capacity: 8', '        seats:\n          capacity: 8'),
  'a probe on a missing port': edit('matchmaker.yaml', 'port: http\n            periodSeconds: 5', 'port: admin\n            periodSeconds: 5'),
};
const found = problems(docs);
for (const [what, fs2] of Object.entries(broken)) {
  const p = problems(load(fs2)).filter((x) => !found.includes(x));
  assert.ok(p.length > 0, `the validator accepted ${what}`);
  console.log(`ok   refused: ${what} (${p[0]})`);
}

for (const p of found) console.log(`FAIL ${p}`);
assert.equal(found.length, 0, `${found.length} problem(s) in ${dir}`);
console.log(`ok   ${docs.length} objects in ${files.length} files valid: ${kinds.join(', ')}`);
