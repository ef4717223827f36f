// Validates the values seatgate produced (emit_examples output) against schemas/, and proves
// the schemas can fail: for every valid example, removing a required field, adding an
// unknown field (where the schema is closed) or breaking a field's type must be rejected.
// Usage: node validate.mjs SCHEMA_DIR EXAMPLES_JSONL
import Ajv2020 from "ajv/dist/2020.js";
import fs from "node:fs";
import path from "node:path";

const [schemaDir, examplesFile, originsFlag, originsValue] = process.argv.slice(2);
// Store values come from the code and both backends; HTTP answers (schemas/http/, ids
// urn:seatgate:schema:http:*) come from the matchmaker's tests (--origins http).
const httpMode = originsFlag === "--origins" && originsValue === "http";
if (!schemaDir || !examplesFile) {
  console.error("usage: node validate.mjs SCHEMA_DIR EXAMPLES_JSONL");
  process.exit(2);
}

const ajv = new Ajv2020({ allErrors: true, strict: true, strictRequired: false });
const schemas = new Map();
for (const file of fs.readdirSync(schemaDir, { recursive: true })) {
  if (!String(file).endsWith(".schema.json")) continue;
  const schema = JSON.parse(fs.readFileSync(path.join(schemaDir, String(file)), "utf8"));
  schemas.set(schema.$id, schema);
  ajv.addSchema(schema);
}

let passed = 0;
let failed = 0;
const fail = (msg) => {
  failed++;
  console.error("FAIL " + msg);
};
const check = (ok, msg) => (ok ? passed++ : fail(msg));

// Required fields of a schema, following allOf references (the event envelope).
function requiredOf(schema) {
  const req = new Set(schema.required || []);
  for (const part of schema.allOf || []) {
    const target = part.$ref ? schemas.get(part.$ref) : part;
    if (target && !part.if) for (const r of requiredOf(target)) req.add(r);
  }
  return req;
}
// Properties a schema constrains, following allOf references.
function propertiesOf(schema) {
  const props = new Set(Object.keys(schema.properties || {}));
  for (const part of schema.allOf || []) {
    const target = part.$ref ? schemas.get(part.$ref) : null;
    if (target) for (const p of propertiesOf(target)) props.add(p);
  }
  return props;
}
const closed = (s) => s.additionalProperties === false || s.unevaluatedProperties === false;

const seen = new Map();
const lines = fs.readFileSync(examplesFile, "utf8").split("\n").filter((l) => l.trim());
for (const line of lines) {
  const { schema: id, origin, value } = JSON.parse(line);
  const validate = ajv.getSchema(id);
  const schema = schemas.get(id);
  if (!validate || !schema) {
    fail(`${origin}: no schema ${id}`);
    continue;
  }
  seen.set(id, (seen.get(id) || 0) + 1);
  const label = `${id.replace("urn:seatgate:schema:", "")} from ${origin}`;
  check(validate(value), `${label}: ${ajv.errorsText(validate.errors)}\n  ${JSON.stringify(value)}`);

  if (typeof value !== "object") {
    check(!validate(JSON.stringify(value) + " with space"), `${label}: broken text accepted`);
    check(!validate(42), `${label}: a number accepted`);
    continue;
  }
  for (const field of requiredOf(schema)) {
    const broken = structuredClone(value);
    delete broken[field];
    check(!validate(broken), `${label}: accepted without required ${field}`);
  }
  const constrained = propertiesOf(schema);
  for (const [field, v] of Object.entries(value)) {
    if (!constrained.has(field)) continue;
    const broken = structuredClone(value);
    broken[field] = typeof v === "string" ? 12345 : typeof v === "number" ? "12345" : 7;
    check(!validate(broken), `${label}: accepted ${field} of the wrong type`);
  }
  if (closed(schema)) {
    const broken = { ...structuredClone(value), unexpected_field: 1 };
    check(!validate(broken), `${label}: accepted an unknown field`);
  }
}

for (const id of schemas.keys()) {
  if (id.endsWith(":defs") || id.endsWith(":envelope")) continue;
  if (id.includes(":http:") !== httpMode) continue;
  for (const origin of httpMode ? ["http"] : ["code", "sqlite", "nats"]) {
    const n = lines.filter((l) => {
      const o = JSON.parse(l);
      return o.schema === id && o.origin === origin;
    }).length;
    check(n > 0, `no example of ${id} from ${origin}`);
  }
}
console.log(`schemas: ${seen.size} schemas exercised by ${lines.length} values`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
