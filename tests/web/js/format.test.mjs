// format.js: the units, times and frame readings every page shows.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import { kw, kwh, percent, pretty, readFrame, seconds, sessionEnergy, tone } from '../../../src/voltlab/web/static/app/format.js';

test('units: W -> kW (2 decimals), Wh -> kWh (3 decimals), %; missing values show a dash', () => {
  assert.equal(kw(11000), '11.00 kW');
  assert.equal(kw(0), '0.00 kW');
  assert.equal(kwh(1287.4), '1.287 kWh');
  assert.equal(kwh(0.4), '0.000 kWh');
  assert.equal(percent(51.44), '51.4 %');
  assert.equal(percent('7'), '7.0 %');
  for (const format of [kw, kwh, percent, seconds]) {
    assert.equal(format(null), '–');
    assert.equal(format(undefined), '–');
  }
  assert.equal(seconds(0.0123), '12 ms');
  assert.equal(seconds(2.5), '2.50 s');
});

test('session energy is the register minus the meter start, unknown when either is', () => {
  assert.equal(sessionEnergy(1500, 1000), 500);
  assert.equal(sessionEnergy(1000.1235, 1000), 0.124); // rounded to the mWh, no float noise
  assert.equal(sessionEnergy(0.3, 0.1), 0.2);
  assert.equal(sessionEnergy(1500, 0), 1500);
  assert.equal(sessionEnergy(null, 1000), null);
  assert.equal(sessionEnergy(1500, null), null);
  assert.equal(sessionEnergy(1500, undefined), null);
});

test('readFrame reads the four OCPP-J message types, text and non-frames', () => {
  assert.deepEqual(readFrame([2, 'm1', 'Heartbeat', {}]), { kind: 'CALL', messageId: 'm1', action: 'Heartbeat', payload: {} });
  assert.deepEqual(readFrame('[3,"m1",{"currentTime":"t"}]'), { kind: 'RESULT', messageId: 'm1', action: null, payload: { currentTime: 't' } });
  assert.deepEqual(readFrame([4, 'm2', 'NotImplemented', 'no', {}]), {
    kind: 'ERROR',
    messageId: 'm2',
    action: null,
    payload: { code: 'NotImplemented', description: 'no', details: {} },
  });
  assert.equal(readFrame([5, 'm3', 'RpcFrameworkError', '', {}]).kind, 'ERROR'); // 2.1 CALLRESULTERROR
  assert.deepEqual(readFrame([6, 'm4', 'NotifyPeriodicEventStream', { id: 1 }]), {
    kind: 'SEND',
    messageId: 'm4',
    action: 'NotifyPeriodicEventStream',
    payload: { id: 1 },
  });
  assert.deepEqual(readFrame('not json'), { kind: 'text', messageId: null, action: null, payload: 'not json' });
  assert.equal(readFrame({ a: 1 }).kind, 'other');
  assert.equal(readFrame([9, 'x']).kind, 'other');
});

test('pretty indents JSON text and values, and leaves other text as it is', () => {
  assert.equal(pretty('{"a":[1]}'), '{\n  "a": [\n    1\n  ]\n}');
  assert.equal(pretty({ b: true }), '{\n  "b": true\n}');
  assert.equal(pretty('<html>'), '<html>');
});

test('tone colours states: ok, busy, bad, idle', () => {
  for (const word of ['connected', 'Accepted', 'Available', 'READY', 'succeeded']) assert.equal(tone(word), 'ok', word);
  for (const word of ['Charging', 'queued', 'PROVISIONING', 'SuspendedEV']) assert.equal(tone(word), 'busy', word);
  for (const word of ['Faulted', 'failed', 'timed_out', 'disconnected', 'Unavailable']) assert.equal(tone(word), 'bad', word);
  assert.equal(tone('stopped'), 'idle');
  assert.equal(tone(null), 'idle');
});
