// Display helpers shared by the pages: units, times, frames.

export function kw(watts) {
  if (watts === null || watts === undefined) return '–';
  return `${(watts / 1000).toFixed(2)} kW`;
}

export function kwh(wattHours) {
  if (wattHours === null || wattHours === undefined) return '–';
  return `${(wattHours / 1000).toFixed(3)} kWh`;
}

/** A session's energy (Wh): the register a sample carried minus the register at the
 * transaction's start, as the CSMS was told both; null when either is unknown. */
export function sessionEnergy(registerWh, meterStartWh) {
  if (registerWh === null || registerWh === undefined) return null;
  if (meterStartWh === null || meterStartWh === undefined) return null;
  return Math.round((registerWh - meterStartWh) * 1000) / 1000;
}

export function percent(value) {
  if (value === null || value === undefined) return '–';
  return `${Number(value).toFixed(1)} %`;
}

export function time(iso) {
  if (!iso) return '–';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleTimeString([], { hour12: false }) + `.${String(date.getMilliseconds()).padStart(3, '0')}`;
}

export function dateTime(iso) {
  if (!iso) return '–';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString([], { hour12: false });
}

export function seconds(value) {
  if (value === null || value === undefined) return '–';
  return value < 1 ? `${Math.round(value * 1000)} ms` : `${value.toFixed(2)} s`;
}

/** An OCPP-J frame (text or array) read as {kind, messageId, action, payload}. */
export function readFrame(frame) {
  let message = frame;
  if (typeof frame === 'string') {
    try {
      message = JSON.parse(frame);
    } catch {
      return { kind: 'text', messageId: null, action: null, payload: frame };
    }
  }
  if (!Array.isArray(message)) return { kind: 'other', messageId: null, action: null, payload: message };
  const [type, messageId] = message;
  if (type === 2) return { kind: 'CALL', messageId, action: message[2], payload: message[3] };
  if (type === 3) return { kind: 'RESULT', messageId, action: null, payload: message[2] };
  if (type === 4 || type === 5) {
    return { kind: 'ERROR', messageId, action: null, payload: { code: message[2], description: message[3], details: message[4] } };
  }
  if (type === 6) return { kind: 'SEND', messageId, action: message[2], payload: message[3] };
  return { kind: 'other', messageId, action: null, payload: message };
}

export function pretty(value) {
  if (typeof value === 'string') {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

/** A CSS class per state word, for the coloured badges. */
export function tone(state) {
  switch (state) {
    case 'connected': case 'Accepted': case 'Available': case 'READY': case 'succeeded':
    case 'passed': case 'done': case 'finished':
      return 'ok';
    case 'Charging': case 'running': case 'PROVISIONING': case 'connecting': case 'Preparing':
    case 'Occupied': case 'SuspendedEV': case 'SuspendedEVSE': case 'Finishing': case 'queued':
    case 'PENDING': case 'Pending': case 'pending': case 'Reserved':
      return 'busy';
    case 'Faulted': case 'failed': case 'error': case 'FAILED': case 'Rejected': case 'timed_out':
    case 'disconnected': case 'Unavailable':
      return 'bad';
    default:
      return 'idle';
  }
}
