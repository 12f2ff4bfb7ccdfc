// The API's own schema (`GET /openapi.json`) turned into form fields, and a validator for the
// subset of JSON Schema that FastAPI writes for the request models (type, enum, bounds,
// lengths, pattern, required, additionalProperties, items, anyOf with null).

import { api } from './api.js';

let openapi = null;

export async function loadOpenApi() {
  if (!openapi) openapi = api('/openapi.json');
  return openapi;
}

export function resolve(doc, schema) {
  let current = schema;
  while (current && current.$ref) {
    const path = current.$ref.replace(/^#\//, '').split('/');
    current = path.reduce((node, part) => node[part], doc);
  }
  return current;
}

/** {schema, nullable}: `anyOf: [X, {type: null}]` is X, optional. */
function unwrapNullable(doc, schema) {
  const resolved = resolve(doc, schema);
  if (resolved && Array.isArray(resolved.anyOf)) {
    const kinds = resolved.anyOf.map((s) => resolve(doc, s));
    const nonNull = kinds.filter((s) => s.type !== 'null');
    if (nonNull.length === 1) {
      return { schema: { ...nonNull[0], title: resolved.title, description: resolved.description }, nullable: true };
    }
  }
  return { schema: resolved, nullable: false };
}

/** The 20 (or however many the server has) `/ocpp/commands/{slug}` endpoints and their events. */
export function commandKinds(doc) {
  const kinds = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    const match = /^\/ocpp\/commands\/(.+)$/.exec(path);
    if (!match || !item.post || match[1].startsWith('{')) continue;
    const body = resolve(doc, item.post.requestBody.content['application/json'].schema);
    const event = resolve(doc, body.properties.event);
    kinds.push({
      slug: match[1],
      summary: item.post.summary || match[1],
      eventSchema: event,
      eventRequired: (body.required || []).includes('event'),
      fields: fieldsOf(doc, event),
    });
  }
  return kinds;
}

export function fieldsOf(doc, objectSchema) {
  const required = new Set(objectSchema.required || []);
  return Object.entries(objectSchema.properties || {}).map(([name, raw]) => {
    const { schema, nullable } = unwrapNullable(doc, raw);
    let kind = 'string';
    if (schema.enum) kind = 'enum';
    else if (schema.type === 'integer') kind = 'integer';
    else if (schema.type === 'number') kind = 'number';
    else if (schema.type === 'boolean') kind = 'boolean';
    else if (schema.type === 'object' || schema.type === 'array') kind = 'json';
    return {
      name,
      label: raw.title || schema.title || name,
      description: raw.description || schema.description || '',
      required: required.has(name) && !nullable,
      kind,
      schema,
      options: schema.enum || [],
      min: schema.minimum ?? schema.exclusiveMinimum,
      max: schema.maximum ?? schema.exclusiveMaximum,
      step: kind === 'integer' ? 1 : 'any',
      maxLength: schema.maxLength,
      placeholder: (schema.examples && schema.examples[0]) || (kind === 'json' ? (schema.type === 'array' ? '[]' : '{}') : ''),
      default: raw.default ?? schema.default,
    };
  });
}

/** Form strings -> values: {value} or {error}; an empty optional field is left out. */
export function readField(field, text) {
  const raw = typeof text === 'string' ? text.trim() : text;
  if (raw === '' || raw === undefined || raw === null) {
    return field.required ? { error: 'required' } : { skip: true };
  }
  switch (field.kind) {
    case 'integer': {
      if (!/^-?\d+$/.test(raw)) return { error: 'a whole number' };
      return { value: Number(raw) };
    }
    case 'number': {
      const value = Number(raw);
      if (!Number.isFinite(value)) return { error: 'a number' };
      return { value };
    }
    case 'boolean':
      return { value: raw === true || raw === 'true' };
    case 'json':
      try {
        return { value: JSON.parse(raw) };
      } catch (error) {
        return { error: `not JSON: ${error.message}` };
      }
    default:
      return { value: raw };
  }
}

function compilePattern(pattern) {
  for (const flags of ['u', '']) {
    try {
      return new RegExp(pattern, flags);
    } catch {
      // the next flag set, then give up on the pattern (the server still checks it)
    }
  }
  return null;
}

/** Errors of `value` against `schema`, as {path: message} ("" is the value itself). */
export function validate(doc, schema, value, path = '', errors = {}) {
  const { schema: s, nullable } = unwrapNullable(doc, schema);
  const at = path;
  if (value === null) {
    if (!nullable && s.type !== 'null') errors[at] = 'must not be empty';
    return errors;
  }
  if (s.anyOf) {
    const passes = s.anyOf.some((option) => Object.keys(validate(doc, option, value, at, {})).length === 0);
    if (!passes) errors[at] = 'does not match any allowed form';
    return errors;
  }
  if (s.enum && !s.enum.includes(value)) {
    errors[at] = `one of ${s.enum.join(', ')}`;
    return errors;
  }
  switch (s.type) {
    case 'integer':
    case 'number':
      if (typeof value !== 'number' || (s.type === 'integer' && !Number.isInteger(value))) {
        errors[at] = s.type === 'integer' ? 'a whole number' : 'a number';
      } else if (s.minimum !== undefined && value < s.minimum) errors[at] = `at least ${s.minimum}`;
      else if (s.exclusiveMinimum !== undefined && value <= s.exclusiveMinimum) errors[at] = `above ${s.exclusiveMinimum}`;
      else if (s.maximum !== undefined && value > s.maximum) errors[at] = `at most ${s.maximum}`;
      else if (s.exclusiveMaximum !== undefined && value >= s.exclusiveMaximum) errors[at] = `below ${s.exclusiveMaximum}`;
      break;
    case 'string': {
      if (typeof value !== 'string') {
        errors[at] = 'text';
        break;
      }
      const length = [...value].length;
      if (s.minLength !== undefined && length < s.minLength) errors[at] = `at least ${s.minLength} characters`;
      else if (s.maxLength !== undefined && length > s.maxLength) errors[at] = `at most ${s.maxLength} characters`;
      else if (s.pattern) {
        const regex = compilePattern(s.pattern);
        if (regex && !regex.test(value)) errors[at] = `must match ${s.pattern}`;
      }
      if (!errors[at] && s.format === 'date-time' && Number.isNaN(Date.parse(value))) {
        errors[at] = 'an RFC 3339 date-time';
      }
      break;
    }
    case 'boolean':
      if (typeof value !== 'boolean') errors[at] = 'true or false';
      break;
    case 'array':
      if (!Array.isArray(value)) {
        errors[at] = 'a list';
        break;
      }
      if (s.maxItems !== undefined && value.length > s.maxItems) errors[at] = `at most ${s.maxItems} items`;
      if (s.minItems !== undefined && value.length < s.minItems) errors[at] = `at least ${s.minItems} items`;
      if (s.items) value.forEach((item, index) => validate(doc, s.items, item, join(at, index), errors));
      break;
    case 'object': {
      if (typeof value !== 'object' || Array.isArray(value)) {
        errors[at] = 'an object';
        break;
      }
      for (const name of s.required || []) {
        if (!(name in value)) errors[join(at, name)] = 'required';
      }
      for (const [name, item] of Object.entries(value)) {
        const propertySchema = s.properties && s.properties[name];
        if (propertySchema) validate(doc, propertySchema, item, join(at, name), errors);
        else if (s.additionalProperties === false) errors[join(at, name)] = 'not a field of this command';
        else if (typeof s.additionalProperties === 'object') validate(doc, s.additionalProperties, item, join(at, name), errors);
      }
      break;
    }
    default:
      break;
  }
  return errors;
}

function join(path, part) {
  return path === '' ? String(part) : `${path}.${part}`;
}
