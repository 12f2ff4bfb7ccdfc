// events.js: the text/event-stream parser of the live channel (GET /events), fed as a network
// delivers it: in chunks cut anywhere, with any of the three line endings.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { SseParser } from '../../../src/voltlab/web/static/app/events.js';

const STREAM =
  ': subscribed\n\n' +
  'event: charger\nid: 1\ndata: {"charger_id":"dep-1","connectors":[]}\n\n' +
  ': keep-alive\n\n' +
  'event: meter\nid: 2\ndata: {"energy_wh":12.5}\n\n' +
  'data: first line\ndata: second line\n\n' +
  'event: resync\nid: 3\ndata: {"at":"2026-01-01T00:00:00Z"}\n\n';

const EXPECTED = [
  { type: 'charger', id: '1', data: '{"charger_id":"dep-1","connectors":[]}' },
  { type: 'meter', id: '2', data: '{"energy_wh":12.5}' },
  { type: 'message', id: '', data: 'first line\nsecond line' },
  { type: 'resync', id: '3', data: '{"at":"2026-01-01T00:00:00Z"}' },
];

test('a whole stream: comments skipped, events typed, multi-line data joined', () => {
  assert.deepEqual(new SseParser().feed(STREAM), EXPECTED);
});

test('chunks cut at every possible place give the same events', () => {
  for (let cut = 1; cut < STREAM.length; cut += 1) {
    const parser = new SseParser();
    const events = [...parser.feed(STREAM.slice(0, cut)), ...parser.feed(STREAM.slice(cut))];
    assert.deepEqual(events, EXPECTED, `cut at ${cut}`);
  }
  // One character at a time.
  const parser = new SseParser();
  const events = [];
  for (const char of STREAM) events.push(...parser.feed(char));
  assert.deepEqual(events, EXPECTED);
});

test('CRLF and CR line endings, also split between chunks', () => {
  const crlf = STREAM.replaceAll('\n', '\r\n');
  assert.deepEqual(new SseParser().feed(crlf), EXPECTED);
  assert.deepEqual(new SseParser().feed(STREAM.replaceAll('\n', '\r')), EXPECTED);
  // A CR at the end of one chunk and its LF at the start of the next: one line end, not two.
  const parser = new SseParser();
  const at = crlf.indexOf('\r\n', crlf.indexOf('event: meter')) + 1;
  const events = [...parser.feed(crlf.slice(0, at)), ...parser.feed(crlf.slice(at))];
  assert.deepEqual(events, EXPECTED);
  const byChar = new SseParser();
  const all = [];
  for (const char of crlf) all.push(...byChar.feed(char));
  assert.deepEqual(all, EXPECTED);
});

test('an event is complete only at its blank line; one without data is dropped', () => {
  const parser = new SseParser();
  assert.deepEqual(parser.feed('event: frame\ndata: {"a":1}\n'), []);
  assert.deepEqual(parser.feed('\n'), [{ type: 'frame', id: '', data: '{"a":1}' }]);
  assert.deepEqual(parser.feed('event: nothing\nid: 9\n\n'), []);
  // The next event does not inherit the dropped one's type.
  assert.deepEqual(parser.feed('data:x\n\n'), [{ type: 'message', id: '', data: 'x' }]);
  // One space after the colon is not part of the value; a second one is. Unknown fields are ignored.
  assert.deepEqual(parser.feed('retry: 5\ndata:  two\nfoo\n\n'), [{ type: 'message', id: '', data: ' two' }]);
});
