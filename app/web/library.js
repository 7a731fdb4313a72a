// The article library: every article, filtered, searched (Chinese too) and sorted by the API
// (GET /api/articles), opened in the reader, exported as a ZIP. Text from the API goes in
// through textContent only. Loaded after app.js, whose helpers it takes from window.TA.
"use strict";

(() => {
  const I18N = window.I18N;
  const t = I18N.t;
  const { api, el, statusLabel, downloadFile } = window.TA;
  const $ = (id) => document.getElementById(id);
  const PAGE_SIZE = 50;
  const CATEGORY_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
  const TERM_RE = /"([^"]*)"|(\S+)/g;
  const SNIPPET = 60; // characters of context on each side of a match

  let items = [];
  let total = 0;
  let loadedOnce = false;
  let sequence = 0; // answers to older requests are dropped
  let searchTimer = null;

  // ---- the filters -------------------------------------------------------------------------
  function localMidnight(value, days = 0) { // "2026-03-01" -> that day's start here, in UTC
    const [y, m, d] = value.split("-").map(Number);
    return new Date(y, m - 1, d + days).toISOString();
  }

  function params() { // the form as the API's parameters; empty fields are left out
    const out = new URLSearchParams();
    const q = $("library-q").value.trim();
    const category = $("library-category").value.trim().toLowerCase();
    const task = $("library-task").value.trim();
    if (q) out.set("q", q);
    if (category) out.set("category", category);
    if ($("library-status").value) out.set("status", $("library-status").value);
    if ($("library-language").value) out.set("language", $("library-language").value);
    if (task) out.set("task_id", task);
    if ($("library-since").value) out.set("since", localMidnight($("library-since").value));
    if ($("library-until").value) out.set("until", localMidnight($("library-until").value, 1));
    const [sort, order] = $("library-sort").value.split(":");
    out.set("sort", sort);
    out.set("order", order);
    return out;
  }

  function problems() {
    const found = [];
    const category = $("library-category").value.trim().toLowerCase();
    if (category && !CATEGORY_RE.test(category)) found.push(t("form.badCategory"));
    const since = $("library-since").value;
    const until = $("library-until").value;
    if (since && until && until < since) found.push(t("library.badDates"));
    return found;
  }

  function showProblems(messages) {
    $("library-errors").replaceChildren(...messages.map((m) => el("li", { text: m })));
  }

  function terms() {
    return [...$("library-q").value.matchAll(TERM_RE)]
      .map((m) => (m[1] || m[2] || "").trim()).filter(Boolean);
  }

  // ---- loading -----------------------------------------------------------------------------
  async function load({ more = false } = {}) {
    const found = problems();
    showProblems(found);
    if (found.length) return;
    const query = params();
    query.set("limit", String(PAGE_SIZE));
    query.set("offset", String(more ? items.length : 0));
    const mine = ++sequence;
    $("library-list").setAttribute("aria-busy", "true");
    try {
      const page = await api(`/api/articles?${query}`);
      if (mine !== sequence) return;
      items = more ? items.concat(page.items) : page.items;
      total = page.total;
      loadedOnce = true;
      render();
    } catch (err) {
      if (mine !== sequence) return;
      const messages = err.errors && err.errors.length
        ? err.errors.map((e) => t("form.fieldError", { field: e.field, message: e.message }))
        : [err.message];
      showProblems(messages);
    } finally {
      if (mine === sequence) $("library-list").removeAttribute("aria-busy");
    }
  }

  function searchSoon() {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(() => load(), 300);
  }

  // ---- the list ----------------------------------------------------------------------------
  function languageName(tag) {
    if (!tag) return "";
    try {
      return new Intl.DisplayNames([I18N.locale], { type: "language" }).of(tag) || tag;
    } catch (_) { return tag; }
  }

  // The first place a search word appears in the text, with some context, the word marked.
  function snippet(article) {
    const words = terms();
    if (!words.length) return null;
    // Markdown's marks (headings, tables, emphasis, rules) are not what anyone searched for.
    const text = String(article.content || "").replace(/[#|>*`]+|-{3,}/g, " ").replace(/\s+/g, " ").trim();
    const lower = text.toLowerCase();
    for (const word of words) {
      const at = lower.indexOf(word.toLowerCase());
      if (at < 0) continue;
      const start = Math.max(0, at - SNIPPET);
      const end = Math.min(text.length, at + word.length + SNIPPET);
      return el("p", { class: "snippet muted" },
        (start > 0 ? "…" : "") + text.slice(start, at),
        el("mark", { text: text.slice(at, at + word.length) }),
        text.slice(at + word.length, end) + (end < text.length ? "…" : ""));
    }
    return null;
  }

  function row(article) {
    const status = article.status
      ? el("span", { class: `badge badge-${article.status}`, text: statusLabel(article.status) })
      : null;
    const dated = (iso) => (iso ? el("time", { datetime: iso, text: I18N.date(iso) }) : null);
    return el("tr", { "data-article-id": article.id, "data-status": article.status || null },
      el("td", { class: "title" },
        el("button", { type: "button", class: "link open", text: article.title,
          onclick: () => window.TA.openArticle(article.id) }),
        snippet(article)),
      el("td", { class: "category", text: article.category }),
      el("td", { class: "status" }, status),
      el("td", { class: "language", title: article.language || null,
        text: languageName(article.language) }),
      el("td", { class: "num version",
        text: typeof article.version === "number" ? I18N.number(article.version) : "" }),
      el("td", { class: "created" }, dated(article.created_at)),
      el("td", { class: "updated" }, dated(article.updated_at)));
  }

  function render() {
    if (!loadedOnce) return;
    const head = ["title", "category", "status", "language", "version", "created", "updated"]
      .map((key) => el("th", { class: key === "version" ? "num" : null,
        text: t(`library.col.${key}`) }));
    const table = el("table", { class: "item-table library-table" },
      el("thead", {}, el("tr", {}, ...head)),
      el("tbody", {}, ...items.map(row)));
    $("library-list").replaceChildren(...(items.length ? [table] : []));
    $("library-empty").hidden = items.length > 0;
    $("library-more").hidden = items.length >= total;
    I18N.bind($("library-total"), "library.total", { count: total });
  }

  // An article changed in the reader (approved, edited, regenerated): show it as it is now.
  function changed(event) {
    const article = event.detail && event.detail.article;
    const index = article ? items.findIndex((a) => a.id === article.id) : -1;
    if (index < 0) return;
    items[index] = article;
    render();
  }

  // ---- the views ---------------------------------------------------------------------------
  function showView(name) {
    for (const tab of document.querySelectorAll(".tabs [data-view]")) {
      if (tab.dataset.view === name) tab.setAttribute("aria-current", "page");
      else tab.removeAttribute("aria-current");
    }
    for (const panel of document.querySelectorAll("main [data-panel]")) {
      panel.hidden = panel.dataset.panel !== name;
    }
    const hash = name === "library" ? "#library" : "";
    if (location.hash !== hash) history.replaceState(null, "", hash || location.pathname);
    if (name === "library" && !loadedOnce) load();
  }

  // Open the library with these filters (e.g. a batch's articles).
  function show(filters = {}) {
    $("library-filters").reset();
    if (filters.task_id) $("library-task").value = filters.task_id;
    if (filters.q) $("library-q").value = filters.q;
    showView("library");
    load();
  }

  function exportZip() {
    const found = problems();
    showProblems(found);
    if (!found.length) downloadFile(`/api/articles/export.zip?${params()}`, "articles.zip");
  }

  function start() {
    for (const tab of document.querySelectorAll(".tabs [data-view]")) {
      tab.addEventListener("click", () => showView(tab.dataset.view));
    }
    const form = $("library-filters");
    form.addEventListener("submit", (e) => { e.preventDefault(); load(); });
    form.addEventListener("reset", () => setTimeout(() => load(), 0)); // after the fields clear
    $("library-q").addEventListener("input", searchSoon);
    $("library-category").addEventListener("input", searchSoon);
    $("library-task").addEventListener("input", searchSoon);
    for (const id of ["library-status", "library-language", "library-since", "library-until",
      "library-sort"]) $(id).addEventListener("change", () => load());
    $("library-more").addEventListener("click", () => load({ more: true }));
    $("library-export").addEventListener("click", exportZip);
    document.addEventListener("ta:article", changed);
    document.addEventListener("ta:article-changed", changed);
    I18N.onChange(() => { render(); showProblems(problems()); });
    if (location.hash === "#library") showView("library");
  }

  window.Library = Object.freeze({ show, load, showView });
  start();
})();
