// The live channel `GET /events` (docs/dashboard.md): Server-Sent Events read with fetch and a
// stream reader, so the key travels in the Authorization header, never in a URL (EventSource
// cannot send headers). One stream for the whole page; its topics are the union of what the
// mounted views subscribed to, and it reconnects when that set changes.

import { authHeaders } from './api.js';

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 10_000;

/** Split a text/event-stream into events; `feed` returns the events completed so far. */
export class SseParser {
  constructor() {
    this.buffer = '';
    // The last chunk ended in CR: a LF opening the next one ends the same line (CRLF cut in
    // two by the network), not a second, blank line that would end the event early.
    this.afterCr = false;
    this.reset();
  }

  reset() {
    this.type = '';
    this.id = '';
    this.data = [];
  }

  feed(chunk) {
    if (this.afterCr && chunk.startsWith('\n')) chunk = chunk.slice(1);
    if (chunk) this.afterCr = false;
    this.buffer += chunk;
    const events = [];
    let newline;
    while ((newline = this.buffer.search(/\r\n|\r|\n/)) !== -1) {
      const line = this.buffer.slice(0, newline);
      const width = this.buffer.startsWith('\r\n', newline) ? 2 : 1;
      this.buffer = this.buffer.slice(newline + width);
      if (width === 1 && this.buffer === '' && chunk.endsWith('\r')) this.afterCr = true;
      if (line === '') {
        if (this.data.length) {
          events.push({ type: this.type || 'message', id: this.id, data: this.data.join('\n') });
        }
        this.reset();
        continue;
      }
      if (line.startsWith(':')) continue; // the server's keep-alive comment
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? '' : line.slice(colon + 1);
      if (value.startsWith(' ')) value = value.slice(1);
      if (field === 'event') this.type = value;
      else if (field === 'data') this.data.push(value);
      else if (field === 'id') this.id = value;
    }
    return events;
  }
}

class LiveChannel {
  constructor() {
    this.subscriptions = new Set();
    this.topics = '';
    this.controller = null;
    this.status = 'off'; // off | connecting | live | retrying | unavailable
    this.received = 0;
    this.lastEventId = null;
    this.statusListeners = new Set();
    this.restartPending = false;
  }

  /** `topics`: list of topic names; `handlers`: {eventType: fn(data)}; `onReconnect`: called
   * after a reconnect or an `event: resync`, when what was missed must be reloaded. */
  subscribe(topics, handlers, onReconnect) {
    const subscription = { topics, handlers, onReconnect };
    this.subscriptions.add(subscription);
    this.scheduleRestart();
    return () => {
      this.subscriptions.delete(subscription);
      this.scheduleRestart();
    };
  }

  onStatus(listener) {
    this.statusListeners.add(listener);
    listener(this.status);
    return () => this.statusListeners.delete(listener);
  }

  setStatus(status) {
    this.status = status;
    for (const listener of this.statusListeners) listener(status);
  }

  stop() {
    if (this.controller) this.controller.abort();
    this.controller = null;
    this.topics = '';
    this.setStatus('off');
  }

  scheduleRestart() {
    if (this.restartPending) return;
    this.restartPending = true;
    queueMicrotask(() => {
      this.restartPending = false;
      const wanted = [...new Set([...this.subscriptions].flatMap((s) => s.topics))].sort();
      const joined = wanted.join(',');
      if (joined === this.topics && this.controller) return;
      if (this.controller) this.controller.abort();
      this.controller = null;
      this.topics = joined;
      if (!joined) {
        this.setStatus('off');
        return;
      }
      this.controller = new AbortController();
      this.run(joined, this.controller.signal);
    });
  }

  dispatch(event) {
    if (event.id) this.lastEventId = event.id;
    if (event.type === 'resync') {
      this.notifyReconnect();
      return;
    }
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    this.received += 1;
    for (const subscription of this.subscriptions) {
      const handler = subscription.handlers[event.type];
      if (handler) handler(data);
    }
  }

  notifyReconnect() {
    for (const subscription of this.subscriptions) {
      if (subscription.onReconnect) subscription.onReconnect();
    }
  }

  async run(topics, signal) {
    let delay = RETRY_MIN_MS;
    let connectedBefore = false;
    while (!signal.aborted) {
      this.setStatus(connectedBefore ? 'retrying' : 'connecting');
      try {
        const url = `/events?topics=${encodeURIComponent(topics)}`;
        const response = await fetch(url, {
          headers: authHeaders({ Accept: 'text/event-stream' }),
          signal,
          cache: 'no-store',
        });
        if (response.status === 404 || response.status === 401 || response.status === 403) {
          // No live channel on this server (or no right to it): the pages still load from the
          // API; say so rather than retry in a loop.
          this.setStatus('unavailable');
          return;
        }
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        this.setStatus('live');
        if (connectedBefore) this.notifyReconnect();
        connectedBefore = true;
        delay = RETRY_MIN_MS;
        const parser = new SseParser();
        const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          for (const event of parser.feed(value)) this.dispatch(event);
        }
      } catch (error) {
        if (signal.aborted) return;
      }
      if (signal.aborted) return;
      this.setStatus('retrying');
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    }
  }
}

export const live = new LiveChannel();

/** Calls `fn` (no arguments) at most once per `ms`, after the calls that asked for it. */
export function throttle(fn, ms) {
  let timer = null;
  let last = 0;
  return () => {
    const wait = Math.max(0, last + ms - Date.now());
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      last = Date.now();
      fn();
    }, wait);
  };
}
