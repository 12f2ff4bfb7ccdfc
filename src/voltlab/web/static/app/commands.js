// Actions: a form for every `/ocpp/commands/{slug}` endpoint, generated from the API's OpenAPI
// schema and validated against it before it is sent; each queued command's status then follows
// the `commands` topic of the live channel.

import { api, ApiError, errorText } from './api.js';
import { live } from './events.js';
import { commandKinds, loadOpenApi, readField, validate } from './schema.js';

const TERMINAL = new Set(['succeeded', 'failed', 'timed_out']);
// Command records whose event came before the 202 that names them (a fast command).
const early = new Map();
const EARLY_LIMIT = 2000;

function remember(record) {
  const known = early.get(record.id);
  if (known && staleFor(record, known)) return;
  early.set(record.id, record);
  if (early.size > EARLY_LIMIT) early.delete(early.keys().next().value);
}

/** `targetOf()`: the command target ({charger_id} or {location_id, charger_ids?}), or null. */
export function commandPanel(targetOf, preferred = 'start-session') {
  return {
    kinds: [],
    slug: '',
    values: {},
    errors: {},
    busy: false,
    message: '',
    failure: '',
    failed: [],
    tracked: [],
    loadError: '',
    unsubscribe: null,
    doc: null,

    async init() {
      this.unsubscribe = live.subscribe(['commands'], { command: (record) => this.onCommand(record) }, () => this.refreshTracked());
      try {
        this.doc = await loadOpenApi();
        this.kinds = commandKinds(this.doc);
        const start = this.kinds.find((kind) => kind.slug === preferred) || this.kinds[0];
        this.choose(start ? start.slug : '');
      } catch (error) {
        this.loadError = errorText(error);
      }
    },

    destroy() {
      if (this.unsubscribe) this.unsubscribe();
    },

    get kind() {
      return this.kinds.find((kind) => kind.slug === this.slug) || null;
    },

    fieldId(field) {
      return `cmd-${this.slug.replace(/\W/g, '-')}-${field.name}`;
    },

    choose(slug) {
      this.slug = slug;
      this.errors = {};
      this.message = '';
      this.failure = '';
      const values = {};
      for (const field of this.kind ? this.kind.fields : []) {
        if (field.kind === 'boolean') values[field.name] = field.default === true;
        else if (field.name === 'connector_id' && field.required) values[field.name] = '1';
        else values[field.name] = field.default !== undefined && field.default !== null ? String(field.default) : '';
      }
      this.values = values;
    },

    /** The event object, or null with `errors` set (field name -> message). */
    buildEvent() {
      const errors = {};
      const event = {};
      for (const field of this.kind.fields) {
        const read = readField(field, this.values[field.name]);
        if (read.error) errors[field.name] = read.error;
        else if (!read.skip) event[field.name] = read.value;
      }
      // The schema's own checks too; a field that could not be read keeps its reading error.
      for (const [path, message] of Object.entries(validate(this.doc, this.kind.eventSchema, event))) {
        const name = path.split('.')[0] || '_';
        if (!errors[name]) errors[name] = path.includes('.') ? `${path}: ${message}` : message;
      }
      this.errors = errors;
      return Object.keys(errors).length ? null : event;
    },

    async submit() {
      this.message = '';
      this.failure = '';
      const target = targetOf();
      if (!target) {
        this.failure = 'Choose a charger or a location first.';
        return;
      }
      const event = this.buildEvent();
      if (!event) {
        this.failure = 'Some fields need a fix.';
        return;
      }
      this.busy = true;
      try {
        const answer = await api(`/ocpp/commands/${this.slug}`, { method: 'POST', body: { target, event } });
        this.failed = answer.failed;
        this.message = `${this.slug}: ${answer.queued_count} queued, ${answer.failed_count} refused`;
        const records = answer.results.map((result) => ({
          id: result.command.id,
          charger_id: result.charger_id,
          identity: result.identity,
          event_type: result.command.event_type,
          status: 'queued',
          error: null,
          result: null,
        }));
        for (const record of records) {
          const seen = early.get(record.id);
          if (seen) Object.assign(record, pick(seen));
        }
        this.tracked = [...records, ...this.tracked].slice(0, 200);
        // A command can end before the stream tells this page; read the first few once.
        await Promise.all(records.slice(0, 10).map((record) => this.reload(record.id)));
      } catch (error) {
        if (error instanceof ApiError && error.status === 422) {
          const errors = {};
          for (const [path, text] of Object.entries(error.fieldErrors())) {
            const [head, name] = path.split('.');
            errors[head === 'event' && name ? name : '_'] = text;
          }
          this.errors = errors;
        }
        this.failure = errorText(error);
      } finally {
        this.busy = false;
      }
    },

    async reload(id) {
      try {
        this.onCommand(await api(`/ocpp/commands/${id}`));
      } catch {
        // the live channel or the next reload brings it
      }
    },

    refreshTracked() {
      for (const record of this.tracked.filter((r) => !TERMINAL.has(r.status)).slice(0, 20)) this.reload(record.id);
    },

    onCommand(record) {
      remember(record);
      const mine = this.tracked.find((item) => item.id === record.id);
      // A GET answered after a newer event (read before the record changed) must not put a
      // finished command back to `queued`.
      if (mine && !staleFor(record, mine)) Object.assign(mine, pick(record));
    },

    outcome(record) {
      if (record.error) return typeof record.error === 'string' ? record.error : `${record.error.code || ''} ${record.error.message || ''}`.trim();
      if (record.result === null || record.result === undefined) return '';
      return typeof record.result === 'string' ? record.result : JSON.stringify(record.result);
    },
  };
}

function pick(record) {
  return { status: record.status, error: record.error, result: record.result, updated_at: record.updated_at };
}

/** Whether `record` is older than what `shown` already says (records only move forward). */
export function staleFor(record, shown) {
  if (TERMINAL.has(shown.status) && !TERMINAL.has(record.status)) return true;
  return Boolean(shown.updated_at && record.updated_at && record.updated_at < shown.updated_at);
}
