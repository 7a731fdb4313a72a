// The audit trail on the page: an article's own activity in the reader (GET
// /api/articles/{id}/history), and the admins' audit view with filters, older pages (the
// cursor) and a CSV export (GET /api/audit, /api/audit.csv). Uses app.js's api/el/toast/
// downloadFile (window.TA); every word comes from i18n.js. Text from the API goes in through
// textContent only.
"use strict";

(() => {
  const { api, el, toast, downloadFile } = window.TA;
  const I18N = window.I18N;
  const t = I18N.t;
  const $ = (id) => document.getElementById(id);
  const FILTERS = ["user", "action", "object_type", "object_id"];
  let articleId = null; // the article the reader shows
  let activity = []; // its entries, last loaded
  let entries = []; // the audit view's rows
  let cursor = null; // `before` of the next (older) page
  let loaded = false;

  const actionLabel = (action) => {
    const key = `audit.action.${action}`;
    return I18N.messages.en[key] ? t(key) : action;
  };

  function versions(changes) {
    if (!("version_before" in changes) && !("version_after" in changes)) return "";
    return t("audit.versions", { before: changes.version_before ?? "?", after: changes.version_after ?? "?" });
  }

  function summary(entry) { // who, when, the result, what changed
    const changes = entry.changes || {};
    const parts = [t("audit.by", { actor: entry.actor }), I18N.date(entry.at), versions(changes)];
    if (changes.fields && changes.fields.length) parts.push(t("audit.fields", { fields: changes.fields.join(", ") }));
    return parts.filter(Boolean).join(" · ");
  }

  const resultBadge = (status) => el("span", {
    class: `badge ${status < 400 ? "badge-completed" : "badge-failed"}`,
    text: status < 400 ? t("audit.ok") : t("audit.failed", { status }),
  });

  // ---- the reader's activity ----------------------------------------------------------------
  function renderActivity() {
    const rows = activity.map((e) => el("li", { "data-action": e.action },
      el("strong", { text: actionLabel(e.action) }), resultBadge(e.status),
      el("span", { class: "muted", text: summary(e) })));
    if (!rows.length) rows.push(el("li", { class: "muted", text: t("audit.activityEmpty") }));
    $("activity-list").replaceChildren(...rows);
  }

  async function loadActivity() {
    if (articleId === null) return;
    const page = await api(`/api/articles/${articleId}/history?limit=100`);
    activity = page.items;
    renderActivity();
  }

  function toggleActivity() {
    const panel = $("activity");
    panel.hidden = !panel.hidden;
    $("activity-article").setAttribute("aria-expanded", String(!panel.hidden));
    if (!panel.hidden) loadActivity().catch((err) => toast(err.message, "bad"));
  }

  function articleShown(event) {
    const { article } = event.detail;
    articleId = article.id;
    if (!$("activity").hidden) loadActivity().catch(() => {});
  }

  // ---- the admins' audit view ---------------------------------------------------------------
  function query() {
    const params = new URLSearchParams();
    for (const name of FILTERS) {
      const value = $(`audit-${name}`).value.trim();
      if (value) params.set(name, value);
    }
    const since = $("audit-since").value;
    const until = $("audit-until").value;
    if (since) params.set("since", `${since}T00:00:00Z`);
    if (until) params.set("until", `${until}T23:59:59Z`);
    return params;
  }

  function renderEntries() {
    const rows = entries.map((e) => el("tr", { "data-id": String(e.id) },
      el("td", { text: I18N.date(e.at) }),
      el("td", { text: e.token_prefix ? `${e.actor} (${e.token_prefix})` : e.actor }),
      el("td", { text: actionLabel(e.action) }),
      el("td", { text: [e.object_type, e.object_id].filter(Boolean).join(" ") }),
      el("td", {}, resultBadge(e.status)),
      el("td", { class: "muted", text: [versions(e.changes || {}), (e.changes.fields || []).join(", ")].filter(Boolean).join(" · ") }),
      el("td", { class: "muted", text: e.client || "" })));
    $("audit-rows").replaceChildren(...rows);
    $("audit-empty").hidden = entries.length > 0;
    $("audit-more").hidden = cursor === null;
  }

  async function load({ more = false } = {}) {
    const params = query();
    params.set("limit", "50");
    if (more && cursor !== null) params.set("before", String(cursor));
    try {
      const page = await api(`/api/audit?${params}`);
      entries = more ? entries.concat(page.items) : page.items;
      cursor = page.next_cursor;
      loaded = true;
      $("audit-errors").replaceChildren();
      renderEntries();
    } catch (err) {
      const messages = err.errors && err.errors.length
        ? err.errors.map((e) => t("form.fieldError", { field: e.field, message: e.message })) : [err.message];
      $("audit-errors").replaceChildren(...messages.map((m) => el("li", { text: m })));
    }
  }

  function toggleView() {
    const body = $("audit-body");
    body.hidden = !body.hidden;
    $("audit-toggle").setAttribute("aria-expanded", String(!body.hidden));
    I18N.bind($("audit-toggle"), body.hidden ? "audit.show" : "audit.hide");
    if (!body.hidden && !loaded) load();
  }

  $("activity-article").addEventListener("click", toggleActivity);
  document.addEventListener("ta:article", articleShown);
  document.addEventListener("ta:article-changed", articleShown);
  $("audit-toggle").addEventListener("click", toggleView);
  $("audit-filters").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  $("audit-more").addEventListener("click", () => load({ more: true }));
  $("audit-export").addEventListener("click", () => downloadFile(`/api/audit.csv?${query()}`, "audit.csv"));
  I18N.onChange(() => { if (loaded) renderEntries(); if (activity.length) renderActivity(); });
})();
