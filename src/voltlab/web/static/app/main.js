// The dashboard's entry point: sign-in, hash routes, the live channel's status, and the page
// components registered with Alpine.js (docs/dashboard.md).

import Alpine from '../vendor/alpinejs/alpine.esm.min.js';
import { api, ApiError, credentials, errorText, optional } from './api.js';
import { chargerPage } from './charger.js';
import { commandPanel } from './commands.js';
import { cpoPage, cposPage } from './cpos.js';
import { live } from './events.js';
import { CONNECTIONS, CONNECTOR_STATUSES, fleetPage, OCPP_VERSIONS, REGISTRATIONS } from './fleet.js';
import * as format from './format.js';
import { runPage, scenariosPage } from './scenarios.js';

const ROUTES = [
  [/^#\/chargers\/([^/]+)$/, 'charger', ['id']],
  [/^#\/cpos\/([^/]+)$/, 'cpo', ['id']],
  [/^#\/cpos$/, 'cpos', []],
  [/^#\/scenarios\/runs\/([^/]+)$/, 'run', ['id']],
  [/^#\/scenarios$/, 'scenarios', []],
  [/^#\/fleet$/, 'fleet', []],
];

export function parseRoute(hash) {
  for (const [pattern, name, keys] of ROUTES) {
    const match = pattern.exec(hash);
    if (match) {
      const params = Object.fromEntries(keys.map((key, index) => [key, decodeURIComponent(match[index + 1])]));
      return { name, params, key: hash };
    }
  }
  return { name: 'fleet', params: {}, key: '#/fleet' };
}

const ROLE_TEXT = { admin: 'admin', operator: 'operator', viewer: 'viewer (read only)' };

function shell() {
  return {
    route: parseRoute(window.location.hash),
    keyInput: '',
    signInError: '',
    signingIn: false,
    liveStatus: 'off',

    async init() {
      window.addEventListener('hashchange', () => {
        this.route = parseRoute(window.location.hash);
      });
      window.addEventListener('voltlab:unauthorized', () => this.signOut('The key was refused; sign in again.'));
      live.onStatus((status) => {
        this.liveStatus = status;
      });
      if (credentials.key) await this.loadMe();
    },

    async loadMe() {
      const session = Alpine.store('session');
      try {
        const me = await optional('/me');
        if (me === null) {
          // A server without /me: the key works if a read works; the role is unknown, so the
          // UI offers the controls and the API answers 403 where the role forbids them.
          await api('/ocpp/locations', { params: { limit: 1 } });
          session.me = { org_id: '?', role: 'unknown', can_write: true };
        } else {
          session.me = me;
        }
        return true;
      } catch (error) {
        credentials.clear();
        session.me = null;
        this.signInError = error instanceof ApiError && error.status === 401 ? 'Unknown or revoked API key.' : errorText(error);
        return false;
      }
    },

    async signIn() {
      const key = this.keyInput.trim();
      if (!key) {
        this.signInError = 'Enter an API key.';
        return;
      }
      this.signingIn = true;
      this.signInError = '';
      credentials.set(key);
      const ok = await this.loadMe();
      this.signingIn = false;
      if (ok) {
        this.keyInput = '';
        if (!window.location.hash) window.location.hash = '#/fleet';
      }
    },

    signOut(message = '') {
      credentials.clear();
      live.stop();
      Alpine.store('session').me = null;
      this.signInError = message;
    },

    get signedIn() {
      return Alpine.store('session').me !== null;
    },

    get whoText() {
      const me = Alpine.store('session').me;
      if (!me) return '';
      return `${me.org_name || me.org_id} · ${ROLE_TEXT[me.role] || me.role}`;
    },

    get liveText() {
      return {
        off: 'live: off',
        connecting: 'live: connecting',
        live: 'live',
        retrying: 'live: reconnecting',
        unavailable: 'live: unavailable',
      }[this.liveStatus];
    },

    isRoute(...names) {
      return names.includes(this.route.name);
    },
  };
}

Alpine.store('session', {
  me: null,
  get canWrite() {
    return Boolean(this.me && this.me.can_write);
  },
});

Alpine.data('shell', shell);
Alpine.data('fleetPage', fleetPage);
Alpine.data('chargerPage', chargerPage);
Alpine.data('commandPanel', commandPanel);
Alpine.data('cposPage', cposPage);
Alpine.data('cpoPage', cpoPage);
Alpine.data('scenariosPage', scenariosPage);
Alpine.data('runPage', runPage);
Alpine.magic('fmt', () => format);
Alpine.magic('enums', () => ({ CONNECTIONS, REGISTRATIONS, CONNECTOR_STATUSES, OCPP_VERSIONS }));

// `x-include="ID"`: the element gets a copy of `<template id="ID">`, so a piece of markup (the
// command form) is written once and used by two pages. Expanded before Alpine starts, inside
// the pages' own templates too (x-if content lives in `template.content`).
function expandIncludes(root) {
  for (const el of root.querySelectorAll('[x-include]')) {
    const source = document.getElementById(el.getAttribute('x-include'));
    el.removeAttribute('x-include');
    if (source) el.append(source.content.cloneNode(true));
  }
  for (const template of root.querySelectorAll('template')) expandIncludes(template.content);
}

expandIncludes(document);
window.Alpine = Alpine;
Alpine.start();
