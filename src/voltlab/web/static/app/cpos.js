// Virtual CPOs: the template gallery, the create form (Token A shown once), the list; and one
// CPO's page: provisioning timeline live until READY, report with charts, OCPI traffic, findings.

import { api, errorText, optional } from './api.js';
import { TimeChart, unixSeconds } from './chart.js';
import { live, throttle } from './events.js';

export function cposPage() {
  let unsubscribe = null;
  return {
    templates: [],
    cpos: [],
    error: '',
    form: null,
    formErrors: {},
    creating: false,
    created: null,
    copied: '',

    async init() {
      unsubscribe = live.subscribe(['cpos'], { cpo: (event) => this.onCpo(event) }, () => this.load());
      await this.load();
    },

    destroy() {
      if (unsubscribe) unsubscribe();
    },

    async load() {
      try {
        const [templates, cpos] = await Promise.all([api('/ocpi/cpos/templates'), api('/ocpi/cpos', { params: { limit: 100 } })]);
        this.templates = templates;
        this.cpos = cpos.items;
        this.error = '';
      } catch (error) {
        this.error = errorText(error);
      }
    },

    onCpo(event) {
      const cpo = this.cpos.find((item) => item.cpo_id === event.cpo_id);
      if (cpo) {
        cpo.status = event.status;
        cpo.error = event.error;
      } else {
        this.load();
      }
      if (this.created && this.created.cpo_id === event.cpo_id) this.created.status = event.status;
    },

    choose(template) {
      this.created = null;
      this.formErrors = {};
      this.form = {
        template: template.slug,
        title: template.title,
        caps: template.caps,
        country_code: 'FR',
        party_id: 'ABC',
        name_prefix: 'demo',
        ocpi_version: '2.2.1',
        locations: String(template.defaults.locations),
        chargers_per_location: String(template.defaults.chargers_per_location),
        ttl_seconds: '3600',
        seed: '',
      };
      this.$nextTick(() => this.$refs.createForm && this.$refs.createForm.scrollIntoView({ block: 'start' }));
    },

    async createCpo() {
      const f = this.form;
      const errors = {};
      const locations = Number(f.locations);
      const perLocation = Number(f.chargers_per_location);
      if (!/^[A-Za-z]{2}$/.test(f.country_code)) errors.country_code = 'two letters (ISO 3166-1)';
      if (!/^[A-Za-z0-9]{3}$/.test(f.party_id)) errors.party_id = 'three letters or digits';
      // A human label, as the API takes it: 1-32 characters (code points), not only spaces,
      // no control characters.
      const label = [...f.name_prefix];
      if (!label.length || label.length > 32 || !f.name_prefix.trim() || /[\u0000-\u001f\u007f-\u009f]/.test(f.name_prefix)) {
        errors.name_prefix = '1-32 characters, no control characters';
      }
      if (!Number.isInteger(locations) || locations < 1 || locations > f.caps.locations) errors.locations = `from 1 to ${f.caps.locations}`;
      if (!Number.isInteger(perLocation) || perLocation < 1 || perLocation > f.caps.chargers_per_location) {
        errors.chargers_per_location = `from 1 to ${f.caps.chargers_per_location}`;
      }
      this.formErrors = errors;
      if (Object.keys(errors).length) return;
      const body = {
        template: f.template,
        country_code: f.country_code,
        party_id: f.party_id,
        name_prefix: f.name_prefix,
        ocpi_version: f.ocpi_version,
        ttl_seconds: f.ttl_seconds === '' ? null : Number(f.ttl_seconds),
        overrides: { locations, chargers_per_location: perLocation },
      };
      if (f.seed !== '') body.seed = Number(f.seed);
      this.creating = true;
      try {
        this.created = await api('/ocpi/cpos', { method: 'POST', body });
        this.form = null;
        this.load();
      } catch (error) {
        this.formErrors = { _: errorText(error) };
      } finally {
        this.creating = false;
      }
    },

    async copy(text, what) {
      try {
        await navigator.clipboard.writeText(text);
        this.copied = `${what} copied`;
      } catch {
        // No clipboard permission (an insecure origin, a test browser): select it for Ctrl+C.
        this.copied = `select ${what} and copy it by hand`;
      }
    },

    forget() {
      this.created = null;
    },
  };
}

const TIMELINE_DONE = new Set(['READY', 'FAILED', 'DESTROYED']);

export function cpoPage(cpoId) {
  const charts = [];
  let unsubscribe = null;
  return {
    cpoId,
    cpo: null,
    status: null,
    report: null,
    traffic: null,
    trafficMissing: false,
    findings: [],
    seriesMissing: false,
    error: '',

    async init() {
      // The report changes as the CPO's chargers charge: reload it (at most every 2 s) when one
      // of them changes state, rather than poll.
      const refreshReport = throttle(() => this.loadReport(), 2000);
      unsubscribe = live.subscribe(['cpos', 'findings', 'fleet'], {
        cpo: (event) => this.onCpo(event),
        charger: (state) => {
          if (this.cpo && (this.cpo.charger_ids || []).includes(state.charger_id)) refreshReport();
        },
        finding: (finding) => {
          if (finding.cpo_id === cpoId && !this.findings.some((f) => f.id === finding.id)) this.findings.push(finding);
        },
      }, () => this.load());
      await this.load();
    },

    destroy() {
      if (unsubscribe) unsubscribe();
      charts.forEach((chart) => chart.destroy());
    },

    async load() {
      try {
        const [cpo, status, report, findings] = await Promise.all([
          api(`/ocpi/cpos/${cpoId}`),
          api(`/ocpi/cpos/${cpoId}/status`),
          api(`/ocpi/cpos/${cpoId}/report`),
          api(`/ocpi/cpos/${cpoId}/findings`, { params: { limit: 200 } }),
        ]);
        Object.assign(this, { cpo, status, report, findings: findings.findings, error: '' });
        const traffic = await optional(`/ocpi/cpos/${cpoId}/traffic`, { params: { limit: 100 } });
        this.trafficMissing = traffic === null;
        this.traffic = traffic;
        this.$nextTick(() => this.drawSeries());
      } catch (error) {
        this.error = errorText(error);
      }
    },

    async loadReport() {
      try {
        this.report = await api(`/ocpi/cpos/${cpoId}/report`);
        this.$nextTick(() => this.drawSeries());
      } catch (error) {
        this.error = errorText(error);
      }
    },

    onCpo(event) {
      if (event.cpo_id !== cpoId || !this.status) return;
      this.status.status = event.status;
      this.status.error = event.error;
      if (event.steps) this.status.steps = event.steps;
      if (this.cpo) this.cpo.status = event.status;
      if (TIMELINE_DONE.has(event.status)) this.load();
    },

    get steps() {
      return (this.status && this.status.steps) || [];
    },

    get trafficItems() {
      if (!this.traffic) return [];
      return Array.isArray(this.traffic) ? this.traffic : this.traffic.items || this.traffic.traffic || [];
    },

    /** The report's `series` (docs/dashboard.md: sessions, energy and revenue per time bucket)
     * as rows [{ts, sessions, energy_kwh, revenue}]. */
    get seriesRows() {
      const series = this.report && this.report.series;
      if (!series) return [];
      return (series.points || []).map((point) => ({
        ts: point.start,
        sessions: point.sessions,
        energy_kwh: point.energy_kwh,
        revenue: point.revenue_incl_vat,
      }));
    },

    get revenueLabel() {
      const currency = this.report && this.report.series && this.report.series.currency;
      return currency ? `Revenue (${currency}, incl. VAT)` : 'Revenue (incl. VAT)';
    },

    drawSeries() {
      charts.forEach((chart) => chart.destroy());
      charts.length = 0;
      const rows = this.seriesRows;
      this.seriesMissing = !(this.report && this.report.series);
      if (this.seriesMissing) return;
      const specs = [
        [this.$refs.sessionsChart, 'Sessions', 'sessions', 'sessions'],
        [this.$refs.energyChart, 'Energy (kWh)', 'kWh', 'energy_kwh'],
        [this.$refs.revenueChart, this.revenueLabel, 'revenue', 'revenue'],
      ];
      for (const [element, label, scale, field] of specs) {
        if (!element) continue;
        const chart = new TimeChart(element, { series: [{ label, scale, bars: true }], height: 180 });
        chart.setRows(rows.map((row) => [unixSeconds(row.ts), row[field]]));
        charts.push(chart);
      }
    },

    async destroyCpo() {
      if (!window.confirm(`Destroy ${cpoId}? Its chargers stop and Token A is revoked.`)) return;
      try {
        await api(`/ocpi/cpos/${cpoId}`, { method: 'DELETE' });
        await this.load();
      } catch (error) {
        this.error = errorText(error);
      }
    },
  };
}
