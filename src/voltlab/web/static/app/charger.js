// Charger: connectors with live status, power, SoC and energy; a live chart of the session's
// power and energy; the frame log tailing live; configuration; findings with their evidence.

import { api, errorText, optional } from './api.js';
import { TimeChart, unixSeconds } from './chart.js';
import { live } from './events.js';
import { pretty, readFrame } from './format.js';

const FRAME_LIMIT = 500;
const SAMPLE_TABLE_ROWS = 20;

/** A frame of the log as the page shows it. `actions` maps message id -> CALL action, so an
 * answer (CALLRESULT / CALLERROR) is listed under the action it answers. */
function frameRow(source, actions, sequence) {
  const read = readFrame(source.frame);
  const action = source.action || read.action || actions.get(read.messageId) || null;
  if (read.kind === 'CALL' && read.messageId) actions.set(read.messageId, read.action);
  return {
    key: `${sequence}`,
    ts: source.ts,
    direction: source.direction,
    kind: read.kind,
    action,
    messageId: source.message_id || read.messageId,
    json: pretty(source.frame),
  };
}

export function chargerPage(chargerId) {
  // Outside the reactive state: Alpine would wrap the uPlot instance in a proxy.
  let chart = null;
  let unsubscribe = null;
  return {
    chargerId,
    charger: null,
    error: '',
    notice: '',
    frames: [],
    actions: new Map(),
    frameSequence: 0,
    actionFilter: '',
    messageFilter: '',
    paused: false,
    connectorId: 1,
    series: null,
    seriesMissing: false,
    samples: [],
    findings: [],
    findingsError: '',
    model: null,

    async init() {
      unsubscribe = live.subscribe(
        [`charger:${chargerId}`, 'fleet', 'findings'],
        {
          charger: (state) => this.onState(state),
          frame: (frame) => this.onFrame(frame),
          meter: (sample) => this.onMeter(sample),
          finding: (finding) => this.onFinding(finding),
        },
        () => this.reload(),
      );
      chart = new TimeChart(this.$refs.chart, {
        series: [
          { label: 'Power (kW)', scale: 'kW' },
          { label: 'Energy (kWh)', scale: 'kWh' },
        ],
      });
      await this.reload();
    },

    destroy() {
      if (unsubscribe) unsubscribe();
      if (chart) chart.destroy();
    },

    async reload() {
      try {
        this.charger = await api(`/ocpp/chargers/${chargerId}`);
        this.error = '';
      } catch (error) {
        this.error = errorText(error);
        return;
      }
      const busy = (this.charger.connectors || []).find((c) => c.transaction_id !== null);
      if (busy) this.connectorId = busy.connector_id;
      await Promise.all([this.loadFrames(), this.loadSeries(), this.loadFindings(), this.loadModel()]);
    },

    async loadModel() {
      try {
        const models = await api('/ocpp/models');
        this.model = models.find((m) => m.slug === this.charger.model) || null;
      } catch {
        this.model = null;
      }
    },

    async loadFrames() {
      try {
        const answer = await api(`/ocpp/chargers/${chargerId}/messages`, { params: { limit: 200 } });
        this.actions = new Map();
        // Oldest first through frameRow, so answers find their CALL's action.
        const rows = [...answer.items].reverse().map((item) => frameRow(item, this.actions, ++this.frameSequence));
        this.frames = rows.reverse();
      } catch (error) {
        this.error = errorText(error);
      }
    },

    async loadSeries() {
      const series = await optional(`/ocpp/chargers/${chargerId}/meter-series`, { params: { connector_id: this.connectorId } }).catch(() => null);
      this.seriesMissing = series === null;
      this.series = series ? { connector_id: series.connector_id, transaction_id: series.transaction_id } : null;
      const points = series ? series.points : [];
      this.samples = points.slice(-SAMPLE_TABLE_ROWS).reverse();
      chart.setRows(points.map((p) => [unixSeconds(p.ts), p.power_w / 1000, p.energy_wh / 1000]));
    },

    async loadFindings() {
      try {
        const answer = await api(`/ocpp/chargers/${chargerId}/findings`, { params: { limit: 200 } });
        this.findings = answer.findings;
        this.findingsError = '';
      } catch (error) {
        this.findingsError = errorText(error);
      }
    },

    selectConnector(connectorId) {
      this.connectorId = Number(connectorId);
      this.loadSeries();
    },

    onState(state) {
      if (state.charger_id !== chargerId || !this.charger) return;
      // The event carries the same fields as the charger's GET (docs/dashboard.md).
      Object.assign(this.charger, state);
    },

    onFrame(frame) {
      if (frame.charger_id !== chargerId || this.paused) return;
      this.frames.unshift(frameRow(frame, this.actions, ++this.frameSequence));
      if (this.frames.length > FRAME_LIMIT) this.frames.length = FRAME_LIMIT;
    },

    onMeter(sample) {
      if (sample.charger_id !== chargerId || sample.connector_id !== this.connectorId) return;
      if (!this.series || this.series.transaction_id !== sample.transaction_id) {
        // A new session on this connector: its own chart.
        this.series = { connector_id: sample.connector_id, transaction_id: sample.transaction_id };
        this.samples = [];
        chart.setRows([]);
      }
      chart.append([unixSeconds(sample.ts), sample.power_w / 1000, sample.energy_wh / 1000]);
      this.samples.unshift(sample);
      if (this.samples.length > SAMPLE_TABLE_ROWS) this.samples.length = SAMPLE_TABLE_ROWS;
    },

    onFinding(finding) {
      if (finding.charger_id !== chargerId) return;
      if (!this.findings.some((f) => f.id === finding.id)) this.findings.push(finding);
    },

    get actionNames() {
      return [...new Set(this.frames.map((f) => f.action).filter(Boolean))].sort();
    },

    get shownFrames() {
      return this.frames.filter(
        (f) => (!this.actionFilter || f.action === this.actionFilter) && (!this.messageFilter || f.messageId === this.messageFilter),
      );
    },

    showEvidence(evidence) {
      this.actionFilter = '';
      this.messageFilter = evidence.message_id || '';
      this.$nextTick(() => this.$refs.frames.scrollIntoView({ behavior: 'smooth', block: 'start' }));
    },

    evidenceText(evidence) {
      return pretty(evidence.frame ?? evidence.body ?? evidence);
    },

    connectorEnergy(connector) {
      return connector.transaction_energy_wh ?? connector.meter_wh ?? connector.energy_wh;
    },

    connectorSoc(connector) {
      return connector.soc_percent ?? connector.soc;
    },

    get configuration() {
      const rows = [];
      if (!this.charger) return rows;
      const c = this.charger;
      rows.push(['Heartbeat interval (s)', c.heartbeat_interval], ['Local list version', c.local_list_version]);
      rows.push(['Authorization cache entries', c.auth_cache_size], ['Security profile (connection)', c.security_profile]);
      rows.push(['Firmware', c.firmware_version], ['CSMS URL', c.csms_url]);
      for (const [key, value] of Object.entries((this.model && this.model.default_config) || {})) {
        rows.push([`${key} (model default)`, value]);
      }
      return rows.map(([name, value]) => ({ name, value: value === null || value === undefined ? '–' : String(value) }));
    },

    async lifecycle(action) {
      try {
        if (action === 'delete') {
          if (!window.confirm(`Delete charger ${this.charger.identity}?`)) return;
          await api(`/ocpp/chargers/${chargerId}`, { method: 'DELETE' });
          window.location.hash = '#/fleet';
          return;
        }
        const state = await api(`/ocpp/chargers/${chargerId}/${action}`, { method: 'POST' });
        if (state && state.charger_id) Object.assign(this.charger, state);
      } catch (error) {
        this.error = errorText(error);
      }
    },
  };
}
