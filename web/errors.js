// What a failed request means to a person, in words they can act on. No DOM access.

import { ApiError } from "./api.js";

/** A request that never got an answer: the server is down or the network is gone. */
export function isNetworkError(err) {
  return err instanceof TypeError || (err instanceof ApiError && err.status === 0);
}

/** A failure that says nothing about the thing asked for: the next success anywhere makes it moot. */
export function isTransient(err) {
  return isNetworkError(err) || (err instanceof ApiError && err.status >= 500);
}

/** One or two sentences for `err`; `what` is the attempted action ("Could not approve Blue Bottle"). */
export function explain(err, what) {
  return `${what}. ${reason(err)}`;
}

function reason(err) {
  if (isNetworkError(err)) return "Could not reach budget-assist. Try again once it is back; the page says when.";
  if (!(err instanceof ApiError)) return "The page itself hit a problem; reload it and try again.";
  const said = err.message && !/^\d{3} /.test(err.message) ? ensureStop(err.message) : "";
  if (err.status === 503) return `${said || "A service it needs is unavailable."} Try again in a moment.`.trim();
  if (err.status >= 500) return "The server had a problem; try again. If it keeps happening, its log has the details.";
  if (err.status === 409 && err.code === "budget_busy") return said; // it says what to do: nothing changed meanwhile
  if (err.status === 409) return `${said} It changed meanwhile, perhaps in another tab; the page now shows it as it is.`.trim();
  if (err.status === 404) return "It no longer exists; the page now shows what is there.";
  if (err.status === 413) return "The request was too large; choose fewer items and try again.";
  if (err.status === 422 && err.field === "suggestionIds") {
    // The server names the first suggestion by its id, which means nothing to a person.
    return "Some of these suggestions are no longer approved or no longer exist; they changed meanwhile, perhaps in another tab. The page has been refreshed; look again before you retry.";
  }
  if (err.status === 422) return `${said} The page has been refreshed; look again before you retry.`.trim();
  return said || "The server refused the request; reload the page and try again.";
}

function ensureStop(text) {
  const t = String(text).trim();
  return /[.!?…]$/.test(t) ? t : `${t}.`;
}
