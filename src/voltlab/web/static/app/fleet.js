// Fleet: locations and chargers with their live states, counts by state, search, filters and
// server-side paging (a page of rows at a time, so 10 000 chargers cost one page's DOM).

import { api, errorText, optional } from './api.js';
import { live, throttle } from './events.js';

export const CONNECTIONS = ['connecting', 'connected', 'disconnected', 'stopped'];
export const REGISTRATIONS = ['Accepted', 'Pending', 'Rejected'];
export const CONNECTOR_STATUSES = [
  'Available', 'Preparing', 'Charging', 'SuspendedEV', 'SuspendedEVSE', 'Finishing', 'Reserved',
  'Occupied', 'Unavailable', 'Faulted',
];
export const OCPP_VERSIONS = ['ocpp1.6', 'ocpp2.0.1', 'ocpp2.1'];
const PAGE_SIZE = 50;

export function fleetPage() {
  return {
    rows: [],
    byId: new Map(),
    summary: null,
    summaryMissing: false,
    locations: [],
    models: [],
    filters: { q: '', connection: '', registration: '', status: '', ocpp_version: '', model: '', location_id: '' },
    cursors: [null],
    nextCursor: null,
    loading: false,
    error: '',
    notice: '',
    selected: {},
    showCreate: false,
    creating: false,
    createErrors: {},
    create: { name: '', csms_url: '', ocpp_version: 'ocpp1.6', chargers: '3', model: 'ac-22kw-2c', identity_prefix: '' },
    actionsFor: '',
    unsubscribe: null,

    async init() {
      this.refreshSummary = throttle(() => this.loadSummary(), 1000);
      this.refreshRows = throttle(() => this.loadRows(), 1000);
      this.unsubscribe = live.subscribe(['fleet'], { charger: (state) => this.onCharger(state) }, () => this.reload());
      await Promise.all([this.reload(), this.loadCatalog()]);
    },

    destroy() {
      if (this.unsubscribe) this.unsubscribe();
    },

    async reload() {
      await Promise.all([this.loadRows(), this.loadSummary(), this.loadLocations()]);
    },

    async loadCatalog() {
      try {
        this.models = await api('/ocpp/models');
      } catch (error) {
        this.error = errorText(error);
      }
    },

    async loadLocations() {
      try {
        const page = await api('/ocpp/locations', { params: { limit: 200 } });
        this.locations = page.items;
      } catch (error) {
        this.error = errorText(error);
      }
    },

    async loadSummary() {
      try {
        const summary = await optional('/ocpp/fleet/summary', { params: { location_id: this.filters.location_id } });
        this.summaryMissing = summary === null;
        this.summary = summary;
      } catch (error) {
        this.error = errorText(error);
      }
    },

    get page() {
      return this.cursors.length;
    },

    async loadRows() {
      this.loading = true;
      try {
        const cursor = this.cursors[this.cursors.length - 1];
        const answer = await api('/ocpp/chargers', { params: { ...this.filters, limit: PAGE_SIZE, cursor } });
        this.rows = answer.items;
        this.byId = new Map(answer.items.map((row) => [row.charger_id, row]));
        this.nextCursor = answer.next_cursor;
        this.error = '';
      } catch (error) {
        this.error = errorText(error);
      } finally {
        this.loading = false;
      }
    },

    applyFilters() {
      this.cursors = [null];
      this.selected = {};
      this.loadRows();
      this.loadSummary();
    },

    filterLocation(locationId) {
      this.filters.location_id = locationId;
      this.applyFilters();
    },

    nextPage() {
      if (!this.nextCursor) return;
      this.cursors = [...this.cursors, this.nextCursor];
      this.loadRows();
    },

    previousPage() {
      if (this.cursors.length < 2) return;
      this.cursors = this.cursors.slice(0, -1);
      this.loadRows();
    },

    onCharger(state) {
      const row = this.byId.get(state.charger_id);
      if (row) {
        Object.assign(row, state);
      } else if (this.cursors.length === 1 && this.rows.length < PAGE_SIZE) {
        // A charger this page does not show yet (just created): the first page may gain it.
        this.refreshRows();
      }
      this.refreshSummary();
    },

    counts(group) {
      if (!this.summary || !this.summary[group]) return [];
      return Object.entries(this.summary[group]).sort((a, b) => b[1] - a[1]);
    },

    connectorSummary(row) {
      return (row.connectors || []).map((c) => `${c.connector_id}: ${c.status}`).join(', ');
    },

    locationName(locationId) {
      const location = this.locations.find((l) => l.location_id === locationId);
      return location ? location.name : locationId || '–';
    },

    get selectedIds() {
      return Object.keys(this.selected).filter((id) => this.selected[id]);
    },

    /** The Actions panel's target: one location, or its chosen chargers (charger_ids). */
    commandTarget() {
      if (!this.actionsFor) return null;
      const ids = this.selectedIds.filter((id) => {
        const row = this.byId.get(id);
        return row && row.location_id === this.actionsFor;
      });
      return ids.length ? { location_id: this.actionsFor, charger_ids: ids } : { location_id: this.actionsFor };
    },

    get actionsTargetText() {
      const target = this.commandTarget();
      if (!target) return '';
      const name = this.locationName(target.location_id);
      return target.charger_ids ? `${target.charger_ids.length} selected charger(s) of ${name}` : `every charger of ${name}`;
    },

    async createLocation() {
      this.createErrors = {};
      const body = {
        name: this.create.name.trim(),
        csms_url: this.create.csms_url.trim(),
        ocpp_version: this.create.ocpp_version,
        chargers: Number(this.create.chargers),
        model: this.create.model,
        auto_start: true,
      };
      if (this.create.identity_prefix.trim()) body.identity_prefix = this.create.identity_prefix.trim();
      if (!body.name) this.createErrors.name = 'required';
      if (!/^wss?:\/\/./.test(body.csms_url)) this.createErrors.csms_url = 'a ws:// or wss:// URL';
      if (!Number.isInteger(body.chargers) || body.chargers < 1 || body.chargers > 1000) this.createErrors.chargers = 'from 1 to 1000';
      if (Object.keys(this.createErrors).length) return;
      this.creating = true;
      try {
        const location = await api('/ocpp/locations', { method: 'POST', body });
        this.notice = `Location ${location.name} created with ${location.chargers.length} charger(s).`;
        this.showCreate = false;
        await this.loadLocations();
        this.filterLocation(location.location_id);
      } catch (error) {
        this.createErrors = Object.fromEntries(
          Object.entries(error.fieldErrors ? error.fieldErrors() : {}).map(([path, text]) => [path.split('.')[0], text]),
        );
        this.createErrors._ = errorText(error);
      } finally {
        this.creating = false;
      }
    },

    async chargerAction(row, action) {
      try {
        if (action === 'delete') {
          if (!window.confirm(`Delete charger ${row.identity}?`)) return;
          await api(`/ocpp/chargers/${row.charger_id}`, { method: 'DELETE' });
          this.notice = `Charger ${row.identity} deleted.`;
          await this.loadRows();
          this.loadSummary();
          return;
        }
        const state = await api(`/ocpp/chargers/${row.charger_id}/${action}`, { method: 'POST' });
        if (state && state.charger_id) Object.assign(row, state);
      } catch (error) {
        this.error = errorText(error);
      }
    },

    async deleteLocation(location) {
      if (!window.confirm(`Delete location ${location.name} and its chargers?`)) return;
      try {
        await api(`/ocpp/locations/${location.location_id}`, { method: 'DELETE' });
        this.notice = `Location ${location.name} deleted.`;
        if (this.filters.location_id === location.location_id) this.filters.location_id = '';
        if (this.actionsFor === location.location_id) this.actionsFor = '';
        await this.reload();
      } catch (error) {
        this.error = errorText(error);
      }
    },
  };
}
