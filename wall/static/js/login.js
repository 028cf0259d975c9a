// login.js — the sign-in page: name and password to POST /api/v1/auth/login, then back to the
// page that sent the browser here (only pages of this site: `next` must start with /wall/), or
// to the user's own start page when that was the wall and they do not watch live.

import { applyI18n, getLang, onLangChange, setLang, t } from "./i18n.js";
import { landingPage } from "./session.js";

const $ = (id) => document.getElementById(id);

function nextPage(user) {
  const next = new URLSearchParams(location.search).get("next") || "/wall/";
  const ours = next.startsWith("/wall/") && !next.startsWith("/wall/login.html");
  if (!ours || next === "/wall/") return landingPage(user);
  return next;
}

function showError(text) {
  const box = $("login-error");
  box.textContent = text;
  box.hidden = !text;
}

async function submit(event) {
  event.preventDefault();
  showError("");
  $("login-submit").disabled = true;
  try {
    const response = await fetch("/api/v1/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ name: $("login-name").value.trim(), password: $("login-password").value }),
    });
    if (response.ok) {
      location.replace(nextPage((await response.json()).user));
      return;
    }
    if (response.status === 401) showError(t("login.wrong"));
    else if (response.status === 429) {
      const wait = response.headers.get("Retry-After") || "?";
      showError(t("login.locked", { seconds: wait }));
    } else {
      const body = await response.json().catch(() => ({}));
      showError(body.error || `HTTP ${response.status}`);
    }
  } catch {
    showError(t("login.network"));
  } finally {
    $("login-submit").disabled = false;
  }
}

applyI18n(document);
onLangChange(() => applyI18n(document));
$("lang-toggle").addEventListener("click", () => setLang(getLang() === "zh" ? "en" : "zh"));
$("login-form").addEventListener("submit", submit);
if (new URLSearchParams(location.search).get("error") === "token") showError(t("login.badToken"));
