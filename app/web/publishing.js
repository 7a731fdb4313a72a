// Publishing to WordPress: the "WordPress sites" section (GET/POST/DELETE /api/targets and
// their connection test, admins only) and the reader's "On WordPress" panel (an article's
// publications, send to a site, unpublish). Builds its own elements (index.html only loads
// this file); uses app.js's api/toast/el (window.TA); every word comes from i18n.js. Text from
// the API goes in through textContent only; remote URLs only as http(s) links.
"use strict";

(() => {
  const { api, toast, el } = window.TA;
  const I18N = window.I18N;
  const t = I18N.t;
  const STATUSES = ["draft", "pending", "future", "publish"];
  const AUTO = ["manual", "on_approve", "on_publish"];
  const UNPUBLISH = ["draft", "trash"];
  const SETTLED = ["sent", "scheduled", "live", "failed", "withdrawn"];
  let targets = [];
  let loaded = false;
  let article = null;
  let polling = null;

  const options = (values, prefix, blank) => [
    ...(blank ? [el("option", { value: "", text: t(blank) })] : []),
    ...values.map((v) => el("option", { value: v, text: t(`${prefix}.${v}`) }))];
  const errorText = (err) => (err.errors && err.errors.length
    ? err.errors.map((e) => t("form.fieldError", { field: e.field, message: e.message })).join(" ")
    : err.message);
  const safeUrl = (url) => (/^https?:\/\//i.test(url || "") ? url : null);

  // ---- the WordPress sites section --------------------------------------------------------
  const field = (id, key, input) => el("div", { class: "field" },
    el("label", { for: id, text: t(key) }), input);
  const rows = el("tbody", { id: "targets-rows" });
  const report = el("ul", { id: "targets-report", class: "errors", role: "status" });
  const form = el("form", { id: "target-form", novalidate: true });
  const body = el("div", { id: "targets-body", hidden: true });
  const toggleButton = el("button", { type: "button", id: "targets-toggle", class: "ghost",
    "aria-expanded": "false", "aria-controls": "targets-body" });
  const section = el("section", { class: "panel", id: "targets-panel", "data-panel": "batches",
    "aria-labelledby": "targets-title" });

  function buildSection() {
    form.replaceChildren(
      el("div", { class: "row" },
        field("target-name", "targets.name", el("input", { id: "target-name", maxlength: 100, required: true })),
        field("target-url", "targets.site", el("input", { id: "target-url", type: "url", maxlength: 500,
          placeholder: "https://blog.example.com", required: true })),
        field("target-user", "targets.user", el("input", { id: "target-user", maxlength: 60, required: true })),
        field("target-password", "targets.password", el("input", { id: "target-password", type: "password",
          maxlength: 200, autocomplete: "new-password", required: true }))),
      el("div", { class: "row" },
        field("target-status", "targets.status", el("select", { id: "target-status" }, ...options(STATUSES, "wpstatus"))),
        field("target-auto", "targets.auto", el("select", { id: "target-auto" }, ...options(AUTO, "auto"))),
        field("target-unpublish", "targets.unpublish",
          el("select", { id: "target-unpublish" }, ...options(UNPUBLISH, "unpublish"))),
        field("target-categories", "targets.categories", el("input", { id: "target-categories", maxlength: 2000,
          placeholder: "guide=Guides, news=News" }))),
      el("div", { class: "dialog-actions" },
        el("button", { type: "submit", id: "target-save", class: "primary", text: t("targets.add") })));
    section.replaceChildren(
      el("div", { class: "panel-head" }, el("h2", { id: "targets-title", text: t("targets.heading") }), toggleButton),
      body);
    body.replaceChildren(el("p", { class: "muted", text: t("targets.explain") }),
      el("table", { class: "item-table targets-table" },
        el("thead", {}, el("tr", {}, ...["targets.name", "targets.site", "targets.user", "targets.status",
          "targets.auto"].map((key) => el("th", { text: t(key) })), el("th"))),
        rows),
      report, form);
    toggleButton.textContent = t(body.hidden ? "targets.show" : "targets.hide");
  }

  function renderRows() {
    if (!targets.length) {
      rows.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "muted", text: t("targets.none") })));
      return;
    }
    rows.replaceChildren(...targets.map((target) => el("tr", { "data-target": target.id },
      el("td", { class: "title", text: target.name }),
      el("td", { text: target.base_url }),
      el("td", { text: target.username }),
      el("td", { text: t(`wpstatus.${target.default_status}`) }),
      el("td", { text: t(`auto.${target.auto_publish}`) }),
      el("td", { class: "action" },
        el("button", { type: "button", class: "link test", text: t("targets.test"), onclick: () => test(target) }),
        el("button", { type: "button", class: "link danger delete", text: t("targets.delete"),
          onclick: () => remove(target) })))));
  }

  async function loadTargets() {
    targets = (await api("/api/targets?limit=200")).items;
    loaded = true;
    renderRows();
  }

  async function test(target) {
    report.replaceChildren();
    try {
      const result = await api(`/api/targets/${target.id}/test`, { method: "POST" });
      const head = result.ok ? t("targets.ok", { name: target.name, user: result.user || "?" })
        : t("targets.notOk", { name: target.name });
      report.replaceChildren(el("li", { class: result.ok ? "good" : "bad", text: head }),
        ...result.problems.map((p) => el("li", { text: `${p.code}: ${p.message}` })));
    } catch (err) {
      report.replaceChildren(el("li", { text: errorText(err) }));
    }
  }

  async function remove(target) {
    if (!window.confirm(t("targets.confirmDelete", { name: target.name }))) return;
    try {
      await api(`/api/targets/${target.id}`, { method: "DELETE", raw: true });
      toast(t("targets.deleted", { name: target.name }));
      await loadTargets();
    } catch (err) {
      toast(errorText(err), "bad");
    }
  }

  function categoryMap(text) { // "guide=Guides, news=News" -> [{category, wordpress}]
    return text.split(/[,，]/).map((pair) => pair.split("=")).filter((p) => p.length === 2
      && p[0].trim() && p[1].trim()).map(([ours, theirs]) => ({ category: ours.trim(), wordpress: theirs.trim() }));
  }

  async function create(event) {
    event.preventDefault();
    const value = (id) => document.getElementById(id).value.trim();
    const save = document.getElementById("target-save");
    save.disabled = true;
    try {
      const target = await api("/api/targets", { method: "POST", json: {
        name: value("target-name"), base_url: value("target-url"), username: value("target-user"),
        app_password: document.getElementById("target-password").value,
        default_status: value("target-status"), auto_publish: value("target-auto"),
        unpublish_action: value("target-unpublish"), category_map: categoryMap(value("target-categories")) } });
      toast(t("targets.created", { name: target.name }));
      form.reset();
      await loadTargets();
      await test(target);
    } catch (err) {
      report.replaceChildren(el("li", { text: errorText(err) }));
    } finally {
      save.disabled = false;
    }
  }

  function toggle() {
    body.hidden = !body.hidden;
    toggleButton.setAttribute("aria-expanded", String(!body.hidden));
    toggleButton.textContent = t(body.hidden ? "targets.show" : "targets.hide");
    if (!body.hidden && !loaded) loadTargets().catch((err) => toast(errorText(err), "bad"));
  }

  // ---- the reader's panel -----------------------------------------------------------------
  const list = el("ul", { id: "publications-list", class: "publications" });
  const targetSelect = el("select", { id: "publish-target" });
  const statusSelect = el("select", { id: "publish-status" });
  const whenInput = el("input", { id: "publish-when", type: "datetime-local" });
  const panel = el("section", { id: "publications", class: "publications-panel", "aria-labelledby": "publications-title" });

  function buildPanel() {
    statusSelect.replaceChildren(...options(STATUSES, "wpstatus", "publications.targetStatus"));
    panel.replaceChildren(
      el("h3", { id: "publications-title", text: t("publications.heading") }), list,
      el("form", { id: "publish-form", class: "row", novalidate: true, onsubmit: send },
        targetSelect, statusSelect,
        el("label", { for: "publish-when", class: "muted", text: t("publications.when") }), whenInput,
        el("button", { type: "submit", id: "publish-send", text: t("publications.send") })));
  }

  function renderPublications(items) {
    if (!items.length) {
      list.replaceChildren(el("li", { class: "muted", text: t("publications.none") }));
      return;
    }
    list.replaceChildren(...items.map((p) => {
      const url = safeUrl(p.remote_url);
      return el("li", { "data-target": p.target_id, "data-state": p.state },
        el("strong", { text: p.target_name }), " ",
        el("span", { class: `badge state-${p.state}`, text: t(`pubstate.${p.state}`) }), " ",
        el("span", { class: "muted", text: t("publications.attempts", { count: p.attempts }) }), " ",
        url ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: t("publications.open") }) : null,
        p.remote_id ? el("button", { type: "button", class: "link", text: t("publications.unpublish"),
          onclick: () => unpublish(p) }) : null,
        p.last_error || p.note ? el("div", { class: p.last_error ? "errors" : "muted", text: p.last_error || p.note }) : null);
    }));
  }

  async function loadPublications() {
    if (!article) return;
    const id = article.id;
    const data = await api(`/api/articles/${id}/publications`);
    if (!article || article.id !== id) return;
    renderPublications(data.items);
    clearTimeout(polling);
    if (data.items.some((p) => !SETTLED.includes(p.state))) {
      polling = setTimeout(() => loadPublications().catch(() => {}), 2000);
    }
  }

  async function fillTargets() {
    try {
      if (!loaded) await loadTargets();
    } catch (_) { /* not an admin: sending is still possible through the API */ }
    targetSelect.replaceChildren(...targets.map((target) => el("option", { value: target.id, text: target.name })));
    panel.querySelector("#publish-form").hidden = targets.length === 0;
  }

  async function send(event) {
    event.preventDefault();
    const target = targets.find((x) => String(x.id) === targetSelect.value);
    if (!article || !target) return;
    const json = {};
    if (statusSelect.value) json.status = statusSelect.value;
    if (whenInput.value) json.date_gmt = new Date(whenInput.value).toISOString();
    try {
      await api(`/api/articles/${article.id}/publish-to/${target.id}`, { method: "POST", json });
      toast(t("publications.queued", { name: target.name }));
      await loadPublications();
    } catch (err) {
      toast(errorText(err), "bad");
    }
  }

  async function unpublish(publication) {
    try {
      await api(`/api/articles/${publication.article_id}/unpublish-from/${publication.target_id}`, { method: "POST" });
      await loadPublications();
    } catch (err) {
      toast(errorText(err), "bad");
    }
  }

  function shown(event) {
    article = event.detail.article;
    loadPublications().catch((err) => list.replaceChildren(el("li", { text: errorText(err) })));
    fillTargets();
  }

  function start() {
    buildSection();
    buildPanel();
    const profiles = document.getElementById("profiles-panel");
    if (profiles) profiles.after(section);
    const readerBody = document.getElementById("reader-body");
    if (readerBody) readerBody.before(panel);
    toggleButton.addEventListener("click", toggle);
    form.addEventListener("submit", create);
    document.addEventListener("ta:article", shown);
    I18N.onChange(() => {
      buildSection();
      buildPanel();
      if (loaded) renderRows();
      if (article) { fillTargets(); loadPublications().catch(() => {}); }
    });
  }

  start();
})();
