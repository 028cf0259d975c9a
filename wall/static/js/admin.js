// admin.js — users (admins: add, change roles and stations, reset a password, disable) and one's
// own API tokens (create — the secret is shown once — and revoke).

import { applyI18n, getLang, onLangChange, setLang, t } from "./i18n.js";
import { sessionFetch, startPage } from "./session.js";
import { formatTime } from "./clock.js";

const $ = (id) => document.getElementById(id);
const ROLES = ["operator", "inspector", "patrol", "auditor", "admin"];

async function call(method, url, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await sessionFetch(url, init);
  const data = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const box = $("admin-error");
    box.hidden = false;
    box.textContent = (data && data.error) || `HTTP ${response.status}`;
    throw new Error(box.textContent);
  }
  $("admin-error").hidden = true;
  return data;
}

function button(text, onClick) {
  const el = document.createElement("button");
  el.type = "button";
  el.textContent = text;
  el.addEventListener("click", onClick);
  return el;
}

function cells(row, values) {
  for (const value of values) {
    const td = document.createElement("td");
    if (value instanceof Node) td.append(value);
    else td.textContent = value ?? "";
    row.append(td);
  }
}

async function loadUsers(me) {
  const { data } = await call("GET", "/api/v1/users");
  const rows = data.map((user) => {
    const row = document.createElement("tr");
    row.dataset.user = user.name;
    const actions = document.createElement("span");
    const toggle = button(t(user.disabled ? "admin.enable" : "admin.disable"), async () => {
      await call("PATCH", `/api/v1/users/${encodeURIComponent(user.name)}`, {
        disabled: !user.disabled,
      });
      loadUsers(me);
    });
    toggle.disabled = user.name === me.name;
    const reset = button(t("admin.reset"), async () => {
      const password = prompt(t("admin.newPassword", { name: user.name }));
      if (password) {
        await call("PATCH", `/api/v1/users/${encodeURIComponent(user.name)}`, { password });
      }
    });
    const roles = button(t("admin.changeRoles"), async () => {
      const text = prompt(t("admin.rolesPrompt"), user.roles.join(","));
      if (text === null) return;
      const sites = prompt(t("admin.sitesPrompt"), user.sites.join(","));
      if (sites === null) return;
      await call("PATCH", `/api/v1/users/${encodeURIComponent(user.name)}`, {
        roles: text.split(",").map((r) => r.trim()).filter(Boolean),
        sites: sites.split(",").map((s) => s.trim()).filter(Boolean),
      });
      loadUsers(me);
    });
    actions.append(toggle, reset, roles);
    cells(row, [
      user.name,
      user.display_name,
      user.roles.join(", "),
      user.sites.join(", ") || t("admin.allSites"),
      t(user.disabled ? "admin.disabled" : "admin.active"),
      actions,
    ]);
    return row;
  });
  $("user-rows").replaceChildren(...rows);
}

async function loadSites() {
  const response = await sessionFetch("/api/v1/cameras");
  const { data } = await response.json();
  const sites = new Map(data.map((camera) => [camera.site, camera.site_name]));
  $("user-add-sites").replaceChildren(
    ...[...sites].map(([id, name]) => Object.assign(document.createElement("option"), {
      value: id,
      textContent: `${name} (${id})`,
    }))
  );
  $("user-add-roles").append(
    ...ROLES.map((role) => {
      const label = document.createElement("label");
      label.className = "inline";
      const box = Object.assign(document.createElement("input"), {
        type: "checkbox",
        name: "roles",
        value: role,
      });
      label.append(box, ` ${t(`role.${role}`)}`);
      return label;
    })
  );
}

async function addUser(event, me) {
  event.preventDefault();
  const form = new FormData(event.target);
  if (form.get("password") !== form.get("again")) {
    $("admin-error").hidden = false;
    $("admin-error").textContent = t("admin.passwordsDiffer");
    return;
  }
  await call("POST", "/api/v1/users", {
    name: String(form.get("name")).trim(),
    display_name: String(form.get("display_name")).trim(),
    roles: form.getAll("roles").map(String),
    sites: form.getAll("sites").map(String),
    password: String(form.get("password")),
  });
  event.target.reset();
  loadUsers(me);
}

async function loadTokens() {
  const { data } = await call("GET", "/api/v1/auth/tokens");
  const when = (iso) => (iso ? formatTime(iso) : "—");
  $("token-rows").replaceChildren(
    ...data.map((token) => {
      const row = document.createElement("tr");
      const revoke = token.revoked
        ? document.createTextNode(t("admin.revoked"))
        : button(t("admin.revoke"), async () => {
            await call("DELETE", `/api/v1/auth/tokens/${token.id}`);
            loadTokens();
          });
      cells(row, [token.name, `${token.prefix}…`, when(token.created), when(token.expires),
        when(token.last_used), revoke]);
      return row;
    })
  );
}

async function addToken(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const days = String(form.get("expires_days") || "").trim();
  const made = await call("POST", "/api/v1/auth/tokens", {
    name: String(form.get("name")).trim(),
    password: String(form.get("password")),
    ...(days ? { expires_days: Number(days) } : {}),
  });
  event.target.reset();
  const once = $("token-once");
  once.hidden = false;
  once.textContent = t("admin.tokenOnce", { token: made.token });
  loadTokens();
}

applyI18n(document);
onLangChange(() => applyI18n(document));
startPage({ getLang, setLang }).then(async (me) => {
  if (!me) return;
  $("token-add").addEventListener("submit", (event) => addToken(event).catch(() => {}));
  const work = [loadTokens()];
  if (me.permissions.includes("users_manage")) {
    $("user-add").addEventListener("submit", (event) => addUser(event, me).catch(() => {}));
    work.push(loadUsers(me), loadSites());
  }
  await Promise.allSettled(work);
  document.body.dataset.ready = "true";
});
