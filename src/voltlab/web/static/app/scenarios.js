// Scenario runs: start a library scenario against a CSMS (or an eMSP's virtual CPO), follow its
// steps live, read the verdict and findings, download the JUnit file.

import { api, download, errorText } from './api.js';
import { live } from './events.js';

export function scenariosPage() {
  let unsubscribe = null;
  return {
    library: [],
    runs: [],
    cpos: [],
    error: '',
    form: { scenario: '', csms_url: '', ocpp_version: 'ocpp1.6', cpo_id: '', keep: false, params: {} },
    formError: '',
    starting: false,

    async init() {
      unsubscribe = live.subscribe(['scenarios'], { 'scenario-run': (run) => this.onRun(run) }, () => this.load());
      await this.load();
    },

    destroy() {
      if (unsubscribe) unsubscribe();
    },

    async load() {
      try {
        const [library, runs, cpos] = await Promise.all([
          api('/scenarios'),
          api('/scenarios/runs', { params: { limit: 50 } }),
          api('/ocpi/cpos', { params: { limit: 100 } }),
        ]);
        this.library = library.scenarios;
        this.runs = runs.items || runs.runs || runs;
        this.cpos = cpos.items.filter((cpo) => cpo.status === 'READY');
        if (!this.form.scenario && this.library.length) this.pick(this.library[0].name);
        this.error = '';
      } catch (error) {
        this.error = errorText(error);
      }
    },

    get chosen() {
      return this.library.find((s) => s.name === this.form.scenario) || null;
    },

    pick(name) {
      this.form.scenario = name;
      const scenario = this.chosen;
      const params = {};
      for (const [key, value] of Object.entries((scenario && scenario.params) || {})) params[key] = String(value);
      this.form.params = params;
      if (scenario && scenario.versions.length && !scenario.versions.includes(this.form.ocpp_version)) {
        this.form.ocpp_version = scenario.versions[0];
      }
    },

    paramValue(name, text) {
      const declared = this.chosen.params[name];
      if (typeof declared === 'number') return Number(text);
      if (typeof declared === 'boolean') return text === 'true';
      return text;
    },

    async start() {
      const scenario = this.chosen;
      if (!scenario) return;
      const target = scenario.target === 'emsp'
        ? (this.form.cpo_id ? { cpo_id: this.form.cpo_id } : {})
        : { csms_url: this.form.csms_url.trim(), ocpp_version: this.form.ocpp_version };
      target.keep = this.form.keep;
      const params = {};
      for (const [name, text] of Object.entries(this.form.params)) params[name] = this.paramValue(name, text);
      this.starting = true;
      this.formError = '';
      try {
        const run = await api('/scenarios/runs', { method: 'POST', body: { scenario: scenario.name, target, params } });
        window.location.hash = `#/scenarios/runs/${run.run_id}`;
      } catch (error) {
        this.formError = errorText(error);
      } finally {
        this.starting = false;
      }
    },

    onRun(run) {
      const known = this.runs.find((r) => r.run_id === run.run_id);
      if (known) Object.assign(known, run);
      else this.runs.unshift(run);
    },
  };
}

export function runPage(runId) {
  let unsubscribe = null;
  return {
    runId,
    run: null,
    error: '',

    async init() {
      unsubscribe = live.subscribe(['scenarios'], {
        'scenario-run': (run) => {
          if (run.run_id === runId) this.run = run;
        },
      }, () => this.load());
      await this.load();
    },

    destroy() {
      if (unsubscribe) unsubscribe();
    },

    async load() {
      try {
        this.run = await api(`/scenarios/runs/${runId}`);
        this.error = '';
      } catch (error) {
        this.error = errorText(error);
      }
    },

    async junit() {
      try {
        await download(`/scenarios/runs/${runId}/junit`, `${runId}.junit.xml`);
      } catch (error) {
        this.error = errorText(error);
      }
    },

    async report() {
      try {
        await download(`/scenarios/runs/${runId}/report`, `${runId}.md`);
      } catch (error) {
        this.error = errorText(error);
      }
    },
  };
}
