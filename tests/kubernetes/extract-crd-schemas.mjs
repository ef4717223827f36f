// Writes the openAPIV3Schema of the Agones CRDs the manifests use (Fleet, FleetAutoscaler)
// from an Agones crds.yaml into crd-schemas/, one JSON file per kind. Run it again when
// moving to a newer Agones: node extract-crd-schemas.mjs PATH/TO/crds.yaml
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

const src = process.argv[2];
if (!src) throw new Error('usage: node extract-crd-schemas.mjs CRDS_YAML');
const want = { 'fleets.agones.dev': 'Fleet', 'fleetautoscalers.autoscaling.agones.dev': 'FleetAutoscaler' };
const dir = new URL('./crd-schemas/', import.meta.url).pathname;
fs.mkdirSync(dir, { recursive: true });
let found = 0;
for (const doc of YAML.parseAllDocuments(fs.readFileSync(src, 'utf8'))) {
  const crd = doc.toJS();
  const kind = crd && want[crd.metadata?.name];
  if (!kind) continue;
  for (const v of crd.spec.versions) {
    const out = {
      source: `${path.basename(src)}: ${crd.metadata.name}, chart ${crd.metadata.labels?.chart || '?'}`,
      group: crd.spec.group, version: v.name, kind, schema: v.schema.openAPIV3Schema,
    };
    fs.writeFileSync(path.join(dir, `${kind}.${v.name}.json`), `${JSON.stringify(out)}\n`);
    found++;
  }
}
if (found !== Object.keys(want).length) throw new Error(`found ${found} of ${Object.keys(want).length} CRDs in ${src}`);
console.log(`wrote ${found} schemas to ${dir}`);
