// schema.js and the command form (commands.js): fields built from the API's own OpenAPI
// document and values checked against it before anything is sent. The document is the real
// one: the pytest wrapper (tests/web/test_ui_units.py) writes the app's /openapi.json to the
// file VOLTLAB_OPENAPI_JSON names.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';

import { commandPanel, staleFor } from '../../../src/voltlab/web/static/app/commands.js';
import { commandKinds, fieldsOf, readField, resolve, validate } from '../../../src/voltlab/web/static/app/schema.js';

const path = process.env.VOLTLAB_OPENAPI_JSON;
if (!path) throw new Error('VOLTLAB_OPENAPI_JSON is not set: run these through tests/web/test_ui_units.py');
const doc = JSON.parse(readFileSync(path, 'utf8'));
const kinds = commandKinds(doc);
const kind = (slug) => kinds.find((k) => k.slug === slug);

test('every /ocpp/commands/{slug} endpoint becomes a form, with its event fields', () => {
  const slugs = Object.keys(doc.paths)
    .filter((p) => p.startsWith('/ocpp/commands/') && !p.includes('{'))
    .map((p) => p.slice('/ocpp/commands/'.length));
  assert.ok(slugs.length >= 18, `${slugs.length} command endpoints`);
  assert.deepEqual(kinds.map((k) => k.slug).sort(), slugs.sort());
  const start = kind('start-session');
  assert.equal(start.eventRequired, true);
  const byName = Object.fromEntries(start.fields.map((f) => [f.name, f]));
  assert.deepEqual(Object.keys(byName), ['id_tag', 'connector_id', 'duration_seconds', 'target_energy_kwh']);
  assert.equal(byName.id_tag.label, 'Id Tag');
  assert.equal(byName.id_tag.required, true);
  assert.equal(byName.id_tag.kind, 'string');
  assert.equal(byName.id_tag.maxLength, 36);
  assert.equal(byName.id_tag.placeholder, 'EV-USER-1234');
  assert.equal(byName.connector_id.kind, 'integer');
  assert.equal(byName.connector_id.min, 1);
  // `anyOf: [X, null]`: the X, optional.
  assert.equal(byName.duration_seconds.kind, 'integer');
  assert.equal(byName.duration_seconds.required, false);
  assert.equal(byName.duration_seconds.max, 604800);
  assert.equal(byName.target_energy_kwh.kind, 'number');
  const configuration = kind('configuration');
  assert.deepEqual(configuration.fields.map((f) => [f.name, f.required]), [['key', true], ['value', true]]);
});

test('readField turns form text into values, or says why not', () => {
  const field = (kind, required = true) => ({ kind, required });
  assert.deepEqual(readField(field('string'), '  abc '), { value: 'abc' });
  assert.deepEqual(readField(field('string'), '   '), { error: 'required' });
  assert.deepEqual(readField(field('string', false), ''), { skip: true });
  assert.deepEqual(readField(field('integer'), '42'), { value: 42 });
  assert.deepEqual(readField(field('integer'), '-3'), { value: -3 });
  for (const text of ['4.5', '1e3', 'x', '0x10']) assert.deepEqual(readField(field('integer'), text), { error: 'a whole number' }, text);
  assert.deepEqual(readField(field('number'), '2.5'), { value: 2.5 });
  assert.deepEqual(readField(field('number'), 'NaN'), { error: 'a number' });
  assert.deepEqual(readField(field('boolean'), true), { value: true });
  assert.deepEqual(readField(field('boolean'), 'false'), { value: false });
  assert.deepEqual(readField(field('json'), '{"a": [1]}'), { value: { a: [1] } });
  assert.match(readField(field('json'), '{a}').error, /^not JSON: /);
});

test('validate checks the event against the schema, naming each field', () => {
  const schema = kind('start-session').eventSchema;
  assert.deepEqual(validate(doc, schema, { id_tag: 'EV-1', connector_id: 1 }), {});
  assert.deepEqual(validate(doc, schema, { id_tag: 'EV-1', connector_id: 1, duration_seconds: null }), {});
  assert.deepEqual(validate(doc, schema, {}), { id_tag: 'required', connector_id: 'required' });
  assert.deepEqual(validate(doc, schema, { id_tag: 'EV-1', connector_id: 0 }), { connector_id: 'at least 1' });
  assert.deepEqual(validate(doc, schema, { id_tag: 'x'.repeat(37), connector_id: 1 }), { id_tag: 'at most 36 characters' });
  assert.deepEqual(validate(doc, schema, { id_tag: 'a\u0001b', connector_id: 1 }), { id_tag: 'must match ^[^\\x00-\\x1f\\x7f]*$' });
  assert.deepEqual(validate(doc, schema, { id_tag: 'EV-1', connector_id: 1.5 }), { connector_id: 'a whole number' });
  // exclusiveMinimum 0 inside anyOf-with-null; at most 95 kWh.
  assert.deepEqual(validate(doc, schema, { id_tag: 'EV-1', connector_id: 1, target_energy_kwh: 0 }), { target_energy_kwh: 'above 0' });
  assert.deepEqual(validate(doc, schema, { id_tag: 'EV-1', connector_id: 1, target_energy_kwh: 95 }), {});
  assert.deepEqual(validate(doc, schema, { id_tag: 'EV-1', connector_id: 1, colour: 'red' }), { colour: 'not a field of this command' });
  // Characters, not UTF-16 units: 36 emoji fit a 36-character id tag.
  assert.deepEqual(validate(doc, schema, { id_tag: '🔌'.repeat(36), connector_id: 1 }), {});
});

test('validate on a small schema: enums, arrays, nested objects, date-times, $ref', () => {
  const local = {
    components: {
      schemas: {
        Period: { type: 'object', required: ['start'], properties: { start: { type: 'integer', minimum: 0 } }, additionalProperties: false },
      },
    },
  };
  const schema = {
    type: 'object',
    properties: {
      unit: { enum: ['A', 'W'] },
      periods: { type: 'array', minItems: 1, maxItems: 2, items: { $ref: '#/components/schemas/Period' } },
      at: { type: 'string', format: 'date-time' },
      flag: { type: 'boolean' },
      extra: { type: 'object', additionalProperties: { type: 'string' } },
    },
  };
  assert.equal(resolve(local, { $ref: '#/components/schemas/Period' }), local.components.schemas.Period);
  assert.deepEqual(validate(local, schema, { unit: 'A', periods: [{ start: 0 }], at: '2026-01-01T00:00:00Z', flag: true, extra: { a: 'b' } }), {});
  assert.deepEqual(validate(local, schema, { unit: 'kW' }), { unit: 'one of A, W' });
  assert.deepEqual(validate(local, schema, { periods: [] }), { periods: 'at least 1 items' });
  assert.deepEqual(validate(local, schema, { periods: [{ start: 0 }, { start: 1 }, { start: 2 }] }), { periods: 'at most 2 items' });
  assert.deepEqual(validate(local, schema, { periods: [{ start: -1 }, {}] }), { 'periods.0.start': 'at least 0', 'periods.1.start': 'required' });
  assert.deepEqual(validate(local, schema, { periods: 'no' }), { periods: 'a list' });
  assert.deepEqual(validate(local, schema, { at: 'yesterday' }), { at: 'an RFC 3339 date-time' });
  assert.deepEqual(validate(local, schema, { flag: 'yes' }), { flag: 'true or false' });
  assert.deepEqual(validate(local, schema, { extra: { a: 1 } }), { 'extra.a': 'text' });
  assert.deepEqual(validate(local, schema, []), { '': 'an object' });
  assert.deepEqual(validate(local, { type: 'string' }, null), { '': 'must not be empty' });
  assert.deepEqual(fieldsOf(local, schema).map((f) => f.kind), ['enum', 'json', 'string', 'boolean', 'json']);
});

test('the command form: values read and checked before anything is sent', () => {
  const panel = commandPanel(() => ({ charger_id: 'dep-1' }));
  panel.doc = doc;
  panel.kinds = kinds;
  panel.choose('start-session');
  // A required connector id starts at 1; the rest empty or their defaults.
  assert.equal(panel.values.connector_id, '1');
  assert.equal(panel.values.id_tag, '');
  assert.equal(panel.buildEvent(), null);
  assert.deepEqual(panel.errors, { id_tag: 'required' });
  panel.values.id_tag = 'EV-WEB-0001';
  panel.values.connector_id = '0';
  panel.values.duration_seconds = 'soon';
  assert.equal(panel.buildEvent(), null);
  assert.deepEqual(panel.errors, { connector_id: 'at least 1', duration_seconds: 'a whole number' });
  panel.values.connector_id = '2';
  panel.values.duration_seconds = '3600';
  assert.deepEqual(panel.buildEvent(), { id_tag: 'EV-WEB-0001', connector_id: 2, duration_seconds: 3600 });
  assert.deepEqual(panel.errors, {});
  panel.choose('configuration');
  panel.values.key = 'LightIntensity';
  panel.values.value = '';
  assert.equal(panel.buildEvent(), null);
  assert.deepEqual(panel.errors, { value: 'required' });
});

test('a command record never moves backwards on the page', () => {
  const shown = { status: 'succeeded', updated_at: '2026-01-01T10:00:00.900Z' };
  assert.equal(staleFor({ status: 'queued', updated_at: '2026-01-01T10:00:00.700Z' }, shown), true);
  assert.equal(staleFor({ status: 'queued' }, shown), true); // a GET read before it finished
  assert.equal(staleFor({ status: 'running', updated_at: '2026-01-01T10:00:00.800Z' }, { status: 'queued', updated_at: '2026-01-01T10:00:00.700Z' }), false);
  assert.equal(staleFor({ status: 'failed', updated_at: '2026-01-01T10:00:01.000Z' }, shown), false);
  assert.equal(staleFor({ status: 'succeeded', updated_at: '2026-01-01T10:00:00.900Z' }, { status: 'queued' }), false);
});
