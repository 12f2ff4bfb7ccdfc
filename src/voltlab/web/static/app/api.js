// The Gateway API as the dashboard calls it: same routes, same `Authorization: Bearer` header
// (docs/dashboard.md). The key lives in sessionStorage: gone when the tab closes.

const KEY_NAME = 'voltlab.api_key';

export const credentials = {
  get key() {
    return sessionStorage.getItem(KEY_NAME);
  },
  set(key) {
    sessionStorage.setItem(KEY_NAME, key);
  },
  clear() {
    sessionStorage.removeItem(KEY_NAME);
  },
};

export class ApiError extends Error {
  constructor(status, body) {
    super(describeBody(status, body));
    this.status = status;
    this.body = body;
  }

  // 422 bodies name the field: FastAPI's `detail` list, as {path: message}.
  fieldErrors() {
    const out = {};
    const detail = this.body && this.body.detail;
    if (!Array.isArray(detail)) return out;
    for (const item of detail) {
      const loc = (item.loc || []).filter((part) => part !== 'body');
      out[loc.join('.')] = item.msg;
    }
    return out;
  }
}

function describeBody(status, body) {
  const detail = body && typeof body === 'object' ? body.detail : body;
  if (Array.isArray(detail)) {
    const parts = detail.map((item) => {
      const loc = (item.loc || []).filter((part) => part !== 'body').join('.');
      return loc ? `${loc}: ${item.msg}` : item.msg;
    });
    return `${status}: ${parts.join('; ')}`;
  }
  if (typeof detail === 'string' && detail) return `${status}: ${detail}`;
  return `HTTP ${status}`;
}

function buildUrl(path, params) {
  const url = new URL(path, window.location.origin);
  for (const [name, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === '') continue;
    url.searchParams.set(name, String(value));
  }
  return url;
}

export function authHeaders(extra = {}) {
  const headers = { ...extra };
  const key = credentials.key;
  if (key) headers.Authorization = `Bearer ${key}`;
  return headers;
}

/** One call; answers the parsed JSON (null for 204), throws ApiError otherwise. */
export async function api(path, { method = 'GET', body, params, signal } = {}) {
  const headers = authHeaders({ Accept: 'application/json' });
  const init = { method, headers, signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(buildUrl(path, params), init);
  if (response.status === 204) return null;
  const type = response.headers.get('content-type') || '';
  const data = type.includes('json') ? await response.json() : await response.text();
  if (!response.ok) {
    if (response.status === 401) window.dispatchEvent(new CustomEvent('voltlab:unauthorized'));
    throw new ApiError(response.status, data);
  }
  return data;
}

/** A GET that answers null when the server does not have the route (404 on the path itself). */
export async function optional(path, options) {
  try {
    return await api(path, options);
  } catch (error) {
    if (error instanceof ApiError && error.status === 404) return null;
    throw error;
  }
}

/** Save a response as a file: a link cannot carry the Bearer header, so fetch, then a blob. */
export async function download(path, filename) {
  const response = await fetch(buildUrl(path), { headers: authHeaders() });
  if (!response.ok) throw new ApiError(response.status, await response.text());
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function errorText(error) {
  return error instanceof Error ? error.message : String(error);
}
