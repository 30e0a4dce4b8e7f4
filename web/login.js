// The login page: POST /api/session with the password, then back to the page the visitor came from.

const form = document.getElementById("login-form");
const input = document.getElementById("password");
const error = document.getElementById("login-error");
const submit = document.getElementById("login-submit");

/** Only a same-site path is followed after login (never another origin). */
function nextPath() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/";
}

function showError(text) {
  error.textContent = text;
  error.hidden = false;
  input.focus();
}

async function alreadyIn() {
  const resp = await fetch("/api/session", { cache: "no-store", headers: { Accept: "application/json" } });
  if (resp.ok && (await resp.json()).loggedIn) location.replace(nextPath());
}

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  error.hidden = true;
  if (!input.value) return showError("Enter the password.");
  submit.disabled = true;
  try {
    const resp = await fetch("/api/session", {
      method: "POST",
      cache: "no-store",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ password: input.value }),
    });
    if (resp.status === 204) {
      location.replace(nextPath());
      return;
    }
    let message = `Login failed (${resp.status})`;
    try {
      message = (await resp.json()).error.message || message;
    } catch {
      // not JSON: keep the status line
    }
    input.value = "";
    showError(message);
  } catch (err) {
    showError(`The server cannot be reached: ${err.message}`);
  } finally {
    submit.disabled = false;
  }
});

submit.disabled = false; // the form is handled from here on (the page ships the button disabled)
alreadyIn().catch(() => {});
