// Session helpers shared by the Job Center modules: where a logged-out visitor goes.

/** Send the visitor to the login page, to come back here afterwards. */
export function toLogin() {
  const here = location.pathname + location.search;
  location.assign(`/login?next=${encodeURIComponent(here)}`);
}
