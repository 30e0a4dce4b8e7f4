// Thin JSON client for the budget-assist API, with ETag revalidation for polled resources.

import { toLogin } from "./session.js";

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message || `Request failed (${status})`);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

// url -> { etag, data }: the last body seen for a URL, reused when the server answers 304.
const etagCache = new Map();

async function errorFrom(resp) {
  if (resp.status === 401) toLogin(); // logged out (or the session expired): to the login page and back
  let body = null;
  try {
    body = await resp.json();
  } catch {
    // not JSON: fall back to the status line
  }
  const err = body && body.error;
  if (err) return new ApiError(resp.status, err.code, err.message, err.field);
  return new ApiError(resp.status, "http_" + resp.status, `${resp.status} ${resp.statusText || "error"}`);
}

/**
 * GET a JSON resource. With revalidate, the browser cache is bypassed and If-None-Match is sent
 * with the ETag of the last answer; a 304 returns that answer again with changed=false.
 */
export async function getJSON(url, { revalidate = true } = {}) {
  const headers = { Accept: "application/json" };
  const cached = revalidate ? etagCache.get(url) : undefined;
  if (cached) headers["If-None-Match"] = cached.etag;
  const resp = await fetch(url, { cache: "no-store", headers });
  if (resp.status === 304 && cached) return { data: cached.data, changed: false };
  if (!resp.ok) throw await errorFrom(resp);
  const data = await resp.json();
  const etag = resp.headers.get("ETag");
  if (revalidate && etag) etagCache.set(url, { etag, data });
  else etagCache.delete(url);
  return { data, changed: true };
}

export async function postJSON(url, body = {}) {
  return send("POST", url, body);
}

/** A request that changes something: `body` as JSON (none for DELETE); its answer, or an ApiError. */
async function send(method, url, body) {
  const resp = await fetch(url, {
    method,
    cache: "no-store",
    headers: body === undefined ? { Accept: "application/json" } : { "Content-Type": "application/json", Accept: "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!resp.ok) throw await errorFrom(resp);
  const data = resp.status === 204 ? {} : await resp.json();
  return { status: resp.status, data };
}

export function query(path, params) {
  const qs = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") qs.set(k, String(v));
  }
  const s = qs.toString();
  return s ? `${path}?${s}` : path;
}

const enc = encodeURIComponent;

export const api = {
  budgets: () => getJSON("/api/budgets", { revalidate: false }),
  removeBudget: (id) => send("DELETE", `/api/budgets/${enc(id)}`),
  jobTypes: () => getJSON("/api/job-types", { revalidate: false }),
  health: () => getJSON("/api/health", { revalidate: false }),
  schedule: (budgetId) => getJSON(query("/api/schedule", { budgetId }), { revalidate: false }),
  jobs: (params) => getJSON(query("/api/jobs", params)),
  jobsPage: (params) => getJSON(query("/api/jobs", params), { revalidate: false }),
  job: (id) => getJSON(`/api/jobs/${enc(id)}`),
  startJob: (kind, body) => postJSON(`/api/jobs/${enc(kind)}`, body),
  cancelJob: (id) => postJSON(`/api/jobs/${enc(id)}/cancel`),
  suggestions: (params) => getJSON(query("/api/suggestions", params)),
  approve: (id, body = {}) => postJSON(`/api/suggestions/${enc(id)}/approve`, body),
  reject: (id) => postJSON(`/api/suggestions/${enc(id)}/reject`),
  approveMany: (ids, body = {}) => postJSON("/api/suggestions/approve", { ...body, suggestionIds: ids }),
  categorize: (body) => postJSON("/api/suggestions", body),
  categories: (budgetId) => getJSON(`/api/budgets/${enc(budgetId)}/categories`, { revalidate: false }),
  uncategorized: (budgetId) => getJSON(`/api/budgets/${enc(budgetId)}/uncategorized`, { revalidate: false }),
  rejectMany: (ids) => postJSON("/api/suggestions/reject", { suggestionIds: ids }),
  snapshots: (budgetId) => getJSON(`/api/budgets/${enc(budgetId)}/snapshots`, { revalidate: false }),
};
