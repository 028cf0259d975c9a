// session.js — the signed-in session as the pages see it.
//
// The session cookie itself is HttpOnly; requests that change state echo the CSRF token that
// sign-in put in the `casewatch_csrf` cookie (readable only by pages of this origin). A 401
// means the session ended (signed out, timed out, user disabled): go to the sign-in page and
// come back here afterwards.

import { formatTime, setZone } from "./clock.js";

const CSRF_COOKIE = "casewatch_csrf";

/** Headers a state-changing request must carry (empty when there is no session cookie). */
export function csrfHeaders() {
  const entry = document.cookie.split("; ").find((part) => part.startsWith(`${CSRF_COOKIE}=`));
  return entry ? { "X-CSRF-Token": decodeURIComponent(entry.slice(CSRF_COOKIE.length + 1)) } : {};
}

/** The page a user starts on: the wall for those who watch live, else the audit trail, review,
 *  or the users page — whichever their roles open first. */
export function landingPage(user) {
  const can = (permission) => user.permissions.includes(permission);
  if (can("live_view")) return "/wall/";
  if (can("audit_read")) return "/wall/audit.html";
  if (can("footage_read")) return "/wall/review.html";
  return "/wall/admin.html";
}

/** Send the browser to the sign-in page, to come back to where it is now. */
export function signInAgain() {
  const here = location.pathname + location.search;
  location.assign(`/wall/login.html?next=${encodeURIComponent(here)}`);
}

/** `fetch` with the CSRF header on state-changing methods; a 401 leads to the sign-in page. */
export async function sessionFetch(url, init = {}) {
  const method = (init.method || "GET").toUpperCase();
  const headers = { ...(init.headers || {}) };
  if (!["GET", "HEAD", "OPTIONS"].includes(method)) Object.assign(headers, csrfHeaders());
  const response = await fetch(url, { ...init, headers, credentials: "same-origin" });
  if (response.status === 401) signInAgain();
  return response;
}

/** The signed-in user (name, roles, permissions, stations, language), or null. */
export async function currentUser() {
  const response = await fetch("/api/v1/auth/me", { credentials: "same-origin" });
  return response.ok ? response.json() : null;
}

/** Sign out and go to the sign-in page. */
export async function signOut() {
  await sessionFetch("/api/v1/auth/logout", { method: "POST" }).catch(() => {});
  location.assign("/wall/login.html");
}

/** Offer only what the user's roles allow: `body[data-perms]` drives the `needs-*` rules. */
export function applyPermissions(user) {
  document.body.dataset.perms = user ? user.permissions.join(" ") : "";
}

/** The user's name and the time, tiled over the whole page (live and recorded video alike). */
export function startWatermark(user) {
  const mark = document.createElement("div");
  mark.className = "watermark";
  mark.id = "watermark";
  mark.setAttribute("aria-hidden", "true");
  // styled here, so every page has it whatever its stylesheet; it never takes a click
  Object.assign(mark.style, {
    position: "fixed",
    inset: "-50%",
    zIndex: "50",
    pointerEvents: "none",
    display: "flex",
    flexWrap: "wrap",
    gap: "6rem 8rem",
    alignContent: "flex-start",
    transform: "rotate(-24deg)",
    color: "rgba(255, 255, 255, 0.13)",
    fontSize: "1.1rem",
    whiteSpace: "nowrap",
    userSelect: "none",
  });
  document.body.append(mark);
  const label = `${user.display_name || user.name}${user.display_name && user.display_name !== user.name ? ` (${user.name})` : ""}`;
  const render = () => {
    const text = `${label} · ${formatTime(new Date(), { seconds: false })}`;
    mark.replaceChildren(...Array.from({ length: 60 }, () => {
      const span = document.createElement("span");
      span.textContent = text;
      return span;
    }));
  };
  render();
  setInterval(render, 30_000);
}

/** Remember the user's language on the server (the pages start in it next time). */
export function saveLanguage(language) {
  return sessionFetch("/api/v1/auth/me", {
    method: "PATCH",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ language }),
  }).catch(() => {});
}

/**
 * What every page of the wall does first: the language toggle (remembered for the user), the
 * sign-out button, the user's name, permissions and language, the branch's time zone (every
 * time shown is in it, see clock.js), and the watermark when asked.
 * Resolves to the user (null when the session has ended). `lang` is the page's i18n module.
 */
export async function startPage({ getLang, setLang }, { watermark = false } = {}) {
  const $ = (id) => document.getElementById(id);
  $("lang-toggle").addEventListener("click", () => {
    setLang(getLang() === "zh" ? "en" : "zh");
    saveLanguage(getLang());
  });
  $("sign-out").addEventListener("click", () => signOut());
  const user = await currentUser();
  applyPermissions(user);
  if (!user) return null;
  setZone(user.timezone);
  $("user-name").textContent = user.display_name || user.name;
  if (user.language !== getLang()) setLang(user.language);
  if (watermark) startWatermark(user);
  return user;
}
