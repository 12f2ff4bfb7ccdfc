// Charger: connectors with live status, power, SoC and energy; a live chart of the session's
// power and energy; the frame log tailing live; configuration; findings with their evidence.

import { api, errorText, optional } from './api.js';
import { TimeChart, unixSeconds } from './chart.js';
import { live } from './events.js';
import { pretty, readFrame, sessionEnergy } from './format.js';

const FRAME_LIMIT = 500;
const SAMPLE_TABLE_ROWS = 20;
const TERMINAL = new Set(['succeeded', 'failed', 'timed_out']);

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
    // transaction id -> register (Wh) at its start: from the meter series (the frames the CSMS
    // got) first, else from the charger's state (register minus transaction energy).
    meterStarts: {},
    // connector id -> the last meter sample of it: the connector boxes show what the chart
    // shows, sample by sample (`charger` events come only when the station is marked changed).
    latest: {},
    loadingSeries: false,
    heldSamples: [],
    configuration: null,
    configurationError: '',
    configurationFilter: '',

    async init() {
      unsubscribe = live.subscribe(
        [`charger:${chargerId}`, 'fleet', 'findings', 'commands'],
        {
          charger: (state) => this.onState(state),
          frame: (frame) => this.onFrame(frame),
          meter: (sample) => this.onMeter(sample),
          finding: (finding) => this.onFinding(finding),
          command: (record) => this.onCommand(record),
        },
        () => this.reload(),
      );
      chart = new TimeChart(this.$refs.chart, {
        series: [
          { label: 'Power (kW)', scale: 'kW' },
          { label: 'Session energy (kWh)', scale: 'kWh' },
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
      this.noteStarts(this.charger.connectors);
      const busy = (this.charger.connectors || []).find((c) => c.transaction_id !== null);
      if (busy) this.connectorId = busy.connector_id;
      await Promise.all([this.loadFrames(), this.loadSeries(), this.loadFindings(), this.loadConfiguration()]);
    },

    async loadConfiguration() {
      try {
        this.configuration = await api(`/ocpp/chargers/${chargerId}/configuration`);
        this.configurationError = '';
      } catch (error) {
        this.configurationError = errorText(error);
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
      // Samples that arrive while the series loads are held, then added after it: the answer
      // may or may not contain them (the chart drops a sample not newer than its last).
      this.loadingSeries = true;
      let series = null;
      try {
        series = await optional(`/ocpp/chargers/${chargerId}/meter-series`, { params: { connector_id: this.connectorId } }).catch(() => null);
      } finally {
        this.loadingSeries = false;
      }
      this.seriesMissing = series === null;
      this.series = series ? { connector_id: series.connector_id, transaction_id: series.transaction_id } : null;
      if (series && series.transaction_id !== null && series.meter_start_wh !== null && series.meter_start_wh !== undefined) {
        this.meterStarts[series.transaction_id] = series.meter_start_wh;
      }
      const points = (series ? series.points : []).map((p) => ({ ...p, connector_id: series.connector_id, transaction_id: series.transaction_id }));
      this.samples = [];
      chart.setRows([]);
      const held = this.heldSamples;
      this.heldSamples = [];
      for (const point of [...points, ...held]) {
        if (!this.series || this.series.transaction_id !== point.transaction_id) {
          // A session newer than the answer's (or a server without meter-series): its own chart.
          this.series = { connector_id: point.connector_id, transaction_id: point.transaction_id };
          this.samples = [];
          chart.setRows([]);
        }
        this.chartSample(point);
      }
    },

    /** The register at a transaction's start, from what this page knows of it. */
    meterStartOf(transactionId) {
      const start = this.meterStarts[String(transactionId)];
      return start === undefined ? null : start;
    },

    noteStarts(connectors) {
      for (const c of connectors || []) {
        if (c.transaction_id === null || c.transaction_id === undefined) continue;
        if (c.transaction_energy_wh === null || c.transaction_energy_wh === undefined || c.meter_wh === null) continue;
        // Only a fallback: the series' start is what the CSMS was told (1.6 rounds it to Wh).
        const key = String(c.transaction_id);
        if (!(key in this.meterStarts)) this.meterStarts[key] = Math.round((c.meter_wh - c.transaction_energy_wh) * 10) / 10;
      }
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
      this.noteStarts(state.connectors);
    },

    onFrame(frame) {
      if (frame.charger_id !== chargerId || this.paused) return;
      this.frames.unshift(frameRow(frame, this.actions, ++this.frameSequence));
      if (this.frames.length > FRAME_LIMIT) this.frames.length = FRAME_LIMIT;
    },

    onMeter(sample) {
      if (sample.charger_id !== chargerId) return;
      // A 1.6 StopTransaction names no connector: its samples belong to the transaction's.
      const connectorId = sample.connector_id ?? this.connectorOf(sample.transaction_id);
      if (connectorId === null) return;
      const known = { ...sample, connector_id: connectorId };
      if (connectorId !== this.connectorId) {
        this.noteLatest(known);
        return;
      }
      if (this.loadingSeries) {
        this.heldSamples.push(known);
        return;
      }
      if (!this.series || this.series.transaction_id !== sample.transaction_id) {
        // A new session on this connector: its own chart, from the series (which knows the
        // transaction's meter start, sent before its first sample).
        this.heldSamples.push(known);
        this.loadSeries();
        return;
      }
      this.chartSample(known);
    },

    /** One sample of the charted session: the chart, the sample table and the box. */
    chartSample(sample) {
      const energy = sample.session_energy_wh ?? sessionEnergy(sample.energy_wh, this.meterStartOf(sample.transaction_id));
      const view = { ...sample, session_energy_wh: energy };
      const before = chart.columns[0].length;
      chart.append([unixSeconds(view.ts), view.power_w === null ? null : view.power_w / 1000, energy === null ? null : energy / 1000]);
      if (chart.columns[0].length === before) return; // not newer than the chart's last sample
      this.samples.unshift(view);
      if (this.samples.length > SAMPLE_TABLE_ROWS) this.samples.length = SAMPLE_TABLE_ROWS;
      this.noteLatest(view);
    },

    noteLatest(sample) {
      const energy = sample.session_energy_wh ?? sessionEnergy(sample.energy_wh, this.meterStartOf(sample.transaction_id));
      this.latest[sample.connector_id] = { ...sample, session_energy_wh: energy };
    },

    connectorOf(transactionId) {
      const open = (this.charger ? this.charger.connectors : []).find((c) => c.transaction_id !== null && String(c.transaction_id) === String(transactionId));
      if (open) return open.connector_id;
      const sampled = Object.values(this.latest).find((s) => String(s.transaction_id) === String(transactionId));
      return sampled ? sampled.connector_id : null;
    },

    onCommand(record) {
      // A configuration change shows in the table once the command has ended (either way:
      // a refused value must show the value that stayed).
      if (record.charger_id !== chargerId || record.event_type !== 'configuration') return;
      if (TERMINAL.has(record.status)) this.loadConfiguration();
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

    /** The last sample of the connector's session (open, or the last one when none is), or
     * null when the charger has moved on to a session this page has no sample of yet. */
    sampleOf(connector) {
      const sample = this.latest[connector.connector_id];
      if (!sample) return null;
      const open = connector.transaction_id;
      if (open === null || open === undefined) return sample;
      return String(open) === String(sample.transaction_id) ? sample : null;
    },

    connectorPower(connector) {
      const sample = this.sampleOf(connector);
      return sample && connector.transaction_id !== null ? sample.power_w : connector.power_w;
    },

    /** Session energy: what the chart's energy line says (register minus meter start). */
    connectorEnergy(connector) {
      const sample = this.sampleOf(connector);
      if (sample && sample.session_energy_wh !== null) return sample.session_energy_wh;
      return connector.transaction_energy_wh ?? null;
    },

    connectorRegister(connector) {
      const sample = this.sampleOf(connector);
      return sample && sample.energy_wh !== null ? sample.energy_wh : connector.meter_wh ?? connector.energy_wh;
    },

    connectorSoc(connector) {
      const sample = this.sampleOf(connector);
      if (sample && sample.soc !== null && sample.soc !== undefined) return sample.soc;
      return connector.soc_percent ?? connector.soc;
    },

    /** The configuration as table rows, filtered by the search field (any column). */
    get configurationRows() {
      const body = this.configuration;
      if (!body) return [];
      const rows = body.keys
        ? body.keys.map((k) => ({ id: k.key, name: k.key, scope: '', value: k.value, access: k.readonly ? 'read-only' : 'read-write' }))
        : (body.variables || []).map((v) => {
            const scope = v.evse_id === null ? '' : v.connector_id === null ? `EVSE ${v.evse_id}` : `EVSE ${v.evse_id} connector ${v.connector_id}`;
            const name = `${v.component}.${v.variable}${v.instance ? `[${v.instance}]` : ''}`;
            return { id: `${name}@${scope}`, name, scope, value: v.value, access: v.mutability };
          });
      const wanted = this.configurationFilter.trim().toLowerCase();
      return rows
        .map((row) => ({ ...row, shown: row.value === undefined ? '(write-only)' : row.value === '' ? '(empty)' : row.value }))
        .filter((row) => !wanted || [row.name, row.scope, row.shown, row.access].some((text) => text.toLowerCase().includes(wanted)));
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
