// evidence.js — a case's exports and holds, and the four-eyes approvals waiting for this user.
//
// An inspector exports the whole case or one session / tag; the list shows each export's state
// (waiting for a second user, refused with the reason, queued, being built, ready to download,
// failed) and follows it until it settles. A hold's release is asked for with a reason. An
// approver sees every request of their stations that waits for someone other than its author and
// approves it or refuses it with a reason. The server's `approval` events refresh both at once.

import {
  approveExport,
  approveRelease,
  caseExports,
  caseHolds,
  createExport,
  parseIso,
  pendingApprovals,
  refuseExport,
  refuseRelease,
  requestRelease,
} from "./api.js";
import { el, toast } from "./dom.js";
import { t } from "./strings.js";
import { formatClock } from "./timeline.js";

const UNSETTLED = new Set(["pending_approval", "queued", "running"]);
const FOLLOW_MS = 2000;
const $ = (id) => document.getElementById(id);

function sizeText(bytes) {
  if (bytes === null || bytes === undefined) return "";
  if (bytes < 1 << 20) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1 << 30) return `${(bytes / (1 << 20)).toFixed(1)} MiB`;
  return `${(bytes / (1 << 30)).toFixed(2)} GiB`;
}

const when = (iso) => (iso ? formatClock(parseIso(iso), true) : "");

function statusText(row) {
  if (row.status === "running") return t("export.status.running", { pct: Math.round(row.progress * 100) });
  if (row.status === "queued" && row.queue_position) {
    return t("export.status.queuedAt", { n: row.queue_position });
  }
  return t(`export.status.${row.status}`);
}

/** A text field for a reason and the buttons that need it (none acts on fewer than 3 chars). */
function reasonForm(actions) {
  const input = el("input", {
    type: "text",
    class: "reason",
    maxlength: "500",
    placeholder: t("approval.reason"),
  });
  const buttons = actions.map(({ label, kind, needsReason, run }) =>
    el("button", {
      type: "button",
      class: kind,
      text: label,
      onclick: async (event) => {
        const reason = input.value.trim();
        if (needsReason && reason.length < 3) {
          toast(t("approval.reasonNeeded"), "error");
          input.focus();
          return;
        }
        event.target.disabled = true;
        try {
          await run(reason);
        } finally {
          event.target.disabled = false;
        }
      },
    }),
  );
  return el("div", { class: "row decide" }, input, ...buttons);
}

export class EvidencePanel {
  /** `onError(error)` shows a failed request; `cameraName(id)` labels a hold's camera;
   *  `openCase(number)` shows a request's case (an approver looks before deciding). */
  constructor({ onError, cameraName, openCase }) {
    this.onError = onError;
    this.cameraName = cameraName;
    this.openCase = openCase;
    this.number = null;
    this.exports = [];
    this.holds = [];
    this.approvals = { exports: [], hold_releases: [] };
    this.followTimer = null;
  }

  /** Show this case's exports and holds (null: no case open). */
  async showCase(number) {
    this.number = number;
    this.exports = [];
    this.holds = [];
    this.render();
    if (number) await this.refreshCase();
  }

  async refreshCase() {
    const number = this.number;
    if (!number) return;
    try {
      const [exports, holds] = await Promise.all([caseExports(number), caseHolds(number)]);
      if (number !== this.number) return; // another case was opened meanwhile
      this.exports = exports.data;
      this.holds = holds.data;
    } catch (error) {
      this.onError(error);
    }
    this.render();
    this.follow();
  }

  /** Poll while an export of the case has not settled (its progress has no event). */
  follow() {
    clearTimeout(this.followTimer);
    if (this.exports.some((row) => UNSETTLED.has(row.status))) {
      this.followTimer = setTimeout(() => this.refreshCase(), FOLLOW_MS);
    }
  }

  /** Queue an export of the open case: `{}` whole case, `{sessions: [id]}`, `{tags: [id]}`. */
  async exportSelection(selection) {
    if (!this.number) return;
    try {
      const row = await createExport(this.number, selection);
      toast(
        row.status === "pending_approval"
          ? t("export.requested.approval", { id: row.id })
          : t("export.requested", { id: row.id }),
      );
      await this.refreshCase();
    } catch (error) {
      this.onError(error);
    }
  }

  async refreshApprovals() {
    if (!document.body.dataset.perms?.split(" ").includes("approve")) return;
    try {
      this.approvals = await pendingApprovals();
    } catch (error) {
      this.onError(error);
    }
    this.renderApprovals();
  }

  /** An `approval` event: a request was made or decided somewhere. */
  onApprovalEvent(data) {
    this.refreshApprovals();
    if (data.case_number && data.case_number === this.number) this.refreshCase();
  }

  async decide(action, message) {
    try {
      await action();
      toast(message);
    } catch (error) {
      this.onError(error);
    }
    await Promise.all([this.refreshApprovals(), this.refreshCase()]);
  }

  render() {
    this.renderExports();
    this.renderHolds();
  }

  renderExports() {
    const list = $("case-exports");
    list.replaceChildren();
    if (!this.exports.length) list.append(el("li", { class: "muted", text: t("export.none") }));
    for (const row of this.exports) {
      list.append(
        el(
          "li",
          { class: "item export", "data-export-id": row.id, "data-status": row.status },
          el(
            "div",
            { class: "item-head" },
            el("strong", { text: `${t("export.label")} ${row.id.slice(0, 8)}` }),
            el("span", { class: `badge export-status ${row.status}`, text: statusText(row) }),
          ),
          el("div", { class: "muted", text: t("export.by", { who: row.created_by, at: when(row.created_at) }) }),
          row.decided_by
            ? el("div", { class: "muted", text: t("export.decidedBy", { who: row.decided_by, at: when(row.decided_at) }) })
            : null,
          row.error ? el("div", { class: "note error", text: row.error }) : null,
          row.download_url
            ? el(
                "div",
                { class: "row" },
                el("a", {
                  class: "button primary download",
                  href: row.download_url,
                  download: row.file_name || "",
                  text: t("export.download", { size: sizeText(row.size) }),
                }),
                el("code", { class: "sha", title: row.sha256, text: `SHA-256 ${row.sha256.slice(0, 16)}…` }),
              )
            : null,
        ),
      );
    }
  }

  renderHolds() {
    const list = $("case-holds");
    list.replaceChildren();
    if (!this.holds.length) list.append(el("li", { class: "muted", text: t("hold.none") }));
    for (const hold of this.holds) {
      const released = Boolean(hold.released_at);
      const asked = !released && Boolean(hold.release_requested_by);
      let state = t("hold.standing");
      if (released) state = t("hold.released", { who: hold.released_by || "", at: when(hold.released_at) });
      else if (asked) state = t("hold.asked", { who: hold.release_requested_by });
      list.append(
        el(
          "li",
          { class: "item hold", "data-hold-id": hold.id },
          el(
            "div",
            { class: "item-head" },
            el("strong", { text: this.cameraName(hold.camera_id) }),
            el("span", { class: `badge ${released ? "closed" : "open"}`, text: state }),
          ),
          el("div", { class: "item-time", text: `${when(hold.start)} — ${hold.end ? when(hold.end) : "…"}` }),
          hold.reason ? el("div", { class: "muted", text: hold.reason }) : null,
          released || asked
            ? null
            : el(
                "div",
                { class: "needs-cases_write" },
                reasonForm([
                  {
                    label: t("hold.askRelease"),
                    kind: "danger",
                    needsReason: true,
                    run: (reason) =>
                      this.decide(() => requestRelease(hold.id, reason), t("hold.releaseAsked")),
                  },
                ]),
              ),
        ),
      );
    }
  }

  renderApprovals() {
    const list = $("approvals");
    const { exports, hold_releases: releases } = this.approvals;
    list.replaceChildren();
    $("approvals-count").textContent = String(exports.filter((r) => !r.mine).length + releases.filter((h) => !h.mine).length);
    if (!exports.length && !releases.length) list.append(el("li", { class: "muted", text: t("approval.none") }));
    const entry = (attrs, title, lines, mine, approve, refuse) =>
      el(
        "li",
        { class: "item approval", ...attrs },
        el(
          "div",
          { class: "item-head" },
          el("strong", { text: title }),
          el("button", {
            type: "button",
            class: "open-case",
            text: t("approval.look"),
            onclick: () => this.openCase(attrs["data-case"]),
          }),
        ),
        ...lines.map((line) => el("div", { class: "muted", text: line })),
        mine
          ? el("div", { class: "note", text: t("approval.mine") })
          : reasonForm([
              { label: t("approval.approve"), kind: "primary approve", needsReason: false, run: approve },
              { label: t("approval.refuse"), kind: "danger refuse", needsReason: true, run: refuse },
            ]),
      );
    for (const row of exports) {
      list.append(
        entry(
          { "data-export-id": row.id, "data-case": row.case_number },
          t("approval.export", { case: row.case_number }),
          [t("export.by", { who: row.created_by, at: when(row.created_at) }), t("approval.ranges", { n: row.ranges })],
          row.mine,
          () => this.decide(() => approveExport(row.id), t("approval.approved")),
          (reason) => this.decide(() => refuseExport(row.id, reason), t("approval.refused")),
        ),
      );
    }
    for (const hold of releases) {
      list.append(
        entry(
          { "data-hold-id": hold.id, "data-case": hold.case_number },
          t("approval.release", { case: hold.case_number, camera: this.cameraName(hold.camera_id) }),
          [
            t("hold.asked", { who: hold.release_requested_by }),
            hold.release_request_reason ? t("approval.why", { v: hold.release_request_reason }) : "",
          ].filter(Boolean),
          hold.mine,
          () => this.decide(() => approveRelease(hold.id), t("approval.approved")),
          (reason) => this.decide(() => refuseRelease(hold.id, reason), t("approval.refused")),
        ),
      );
    }
  }
}
