// The webhooks section (admins): subscriptions (create, enable/disable, rotate the secret,
// test ping, delete) and each one's delivery log with redeliver. The secret is shown once,
// right after a create or a rotation. Uses app.js's api/toast/el (window.TA); every word comes
// from i18n.js; text from the API goes in through textContent only.
"use strict";

(() => {
  const { api, toast, el, showErrors } = window.TA;
  const I18N = window.I18N;
  const t = I18N.t;
  const $ = (id) => document.getElementById(id);
  const EVENTS = ["batch.completed", "batch.failed", "batch.cancelled", "batch.paused",
    "article.needs_review", "article.approved", "article.published", "article.unpublished"];
  let subscriptions = [];
  let logOf = null; // the subscription whose delivery log is open
  let loaded = false;
  const armed = new Set(); // delete buttons clicked once (a second click confirms)

  const path = (id) => `/api/webhooks/${encodeURIComponent(id)}`;
  const fail = (err) => toast(err.message, "bad");

  async function load() {
    subscriptions = (await api("/api/webhooks")).items;
    loaded = true;
    renderRows();
    if (logOf) await loadLog();
  }

  function button(key, onclick, cls = "link") {
    return el("button", { type: "button", class: cls, text: t(key), onclick });
  }

  function state(s) {
    if (s.enabled) return t(s.failing_since ? "webhooks.failing" : "webhooks.enabled");
    return s.disabled_reason ? t("webhooks.disabledWhy", { reason: s.disabled_reason }) : t("webhooks.disabled");
  }

  function renderRows() {
    const rows = subscriptions.map((s) => el("tr", { "data-id": s.id },
      el("td", { class: "title", text: s.url }),
      el("td", { text: s.events.join(", ") }),
      el("td", { class: s.enabled ? "" : "bad", text: state(s) }),
      el("td", { class: "action" },
        button("webhooks.log", () => openLog(s)),
        button("webhooks.test", () => act(`${path(s.id)}/test`, "POST", "webhooks.testSent")),
        button(s.enabled ? "webhooks.disable" : "webhooks.enable",
          () => act(path(s.id), "PATCH", null, { enabled: !s.enabled })),
        button("webhooks.rotate", () => rotate(s)),
        button(armed.has(s.id) ? "webhooks.confirmDelete" : "webhooks.delete", () => remove(s)))));
    $("webhooks-rows").replaceChildren(...rows);
    $("webhooks-none").hidden = subscriptions.length > 0;
  }

  async function act(url, method, doneKey, json) {
    try {
      await api(url, { method, json });
      if (doneKey) toast(t(doneKey));
      await load();
    } catch (err) { fail(err); }
  }

  function showSecret(secret) {
    $("webhook-secret-value").textContent = secret;
    $("webhook-secret").hidden = false;
  }

  async function rotate(s) {
    try {
      showSecret((await api(`${path(s.id)}/rotate-secret`, { method: "POST" })).secret);
      await load();
    } catch (err) { fail(err); }
  }

  async function remove(s) {
    if (!armed.has(s.id)) { armed.add(s.id); renderRows(); return; }
    armed.delete(s.id);
    try {
      await api(path(s.id), { method: "DELETE", raw: true });
      if (logOf && logOf.id === s.id) closeLog();
      toast(t("webhooks.deleted"));
      await load();
    } catch (err) { fail(err); }
  }

  async function create(event) {
    event.preventDefault();
    const body = { url: $("webhook-url").value.trim(),
      events: EVENTS.filter((name) => $(`webhook-event-${name}`).checked) };
    const description = $("webhook-description").value.trim();
    if (description) body.description = description;
    $("webhook-create").disabled = true;
    try {
      const made = await api("/api/webhooks", { method: "POST", json: body });
      $("webhook-errors").replaceChildren();
      $("webhook-form").reset();
      showSecret(made.secret);
      await load();
    } catch (err) {
      showErrors($("webhook-errors"), err);
    } finally {
      $("webhook-create").disabled = false;
    }
  }

  function openLog(s) { logOf = s; loadLog().catch(fail); }

  function closeLog() { logOf = null; $("webhook-log").hidden = true; }

  async function loadLog() {
    const page = await api(`${path(logOf.id)}/deliveries?limit=50`);
    I18N.bind($("webhook-log-title"), "webhooks.logTitle", { url: logOf.url, count: page.total });
    const rows = page.items.map((d) => {
      const last = d.attempt_log[0] || {};
      const answer = last.http_status ? `${last.http_status} · ${I18N.number(last.latency_ms)} ms` : "";
      return el("tr", {},
        el("td", { text: d.event_id, class: "mono" }),
        el("td", { text: d.event_type }),
        el("td", { class: d.status === "failed" ? "bad" : "", text: t(`webhooks.status.${d.status}`) }),
        el("td", { class: "num", text: I18N.number(d.attempts) }),
        el("td", { text: answer }),
        el("td", { text: last.error || last.response_excerpt || "" }),
        el("td", { text: d.next_attempt_at ? t("webhooks.at", { at: { $date: d.next_attempt_at } }) : "" }),
        el("td", { class: "action" }, button("webhooks.redeliver",
          () => act(`${path(logOf.id)}/deliveries/${d.id}/redeliver`, "POST", "webhooks.redelivered"))));
    });
    $("webhook-log-rows").replaceChildren(...rows);
    $("webhook-log").hidden = false;
  }

  function toggle() {
    const body = $("webhooks-body");
    body.hidden = !body.hidden;
    $("webhooks-toggle").setAttribute("aria-expanded", String(!body.hidden));
    I18N.bind($("webhooks-toggle"), body.hidden ? "profiles.show" : "profiles.hide");
    if (!body.hidden && !loaded) load().catch(fail);
  }

  $("webhook-events").replaceChildren(...EVENTS.map((name) => el("label", { class: "check" },
    el("input", { type: "checkbox", id: `webhook-event-${name}`, value: name }), ` ${name}`)));
  $("webhooks-toggle").addEventListener("click", toggle);
  $("webhook-form").addEventListener("submit", create);
  $("webhook-secret-close").addEventListener("click", () => { $("webhook-secret").hidden = true; });
  $("webhook-log-close").addEventListener("click", closeLog);
  $("webhook-log-refresh").addEventListener("click", () => loadLog().catch(fail));
  I18N.onChange(() => { if (loaded) renderRows(); if (logOf) loadLog().catch(fail); });
})();
