// The reader's editorial tools: the article's review state, approve / reject / publish,
// regenerate with feedback, the Markdown editor with a live preview (rendered by the server,
// raw HTML escaped, as the reader shows it), saved with the version it edited (If-Match), and
// the version history. app.js opens the reader and announces each article it shows with a
// "ta:article" event; text from the API goes in through textContent, rendered HTML only from
// the server's renderer.
"use strict";

(() => {
  const I18N = window.I18N;
  const t = I18N.t;
  const { api, el, toast, statusLabel } = window.TA;
  const $ = (id) => document.getElementById(id);
  const REVIEWER_KEY = "trustagency.reviewer";
  const POLL_MS = 1000;
  const REGENERATE_TIMEOUT_MS = 10 * 60 * 1000;

  let state = null; // {article, etag} of the article the reader shows
  let mode = "read"; // read | edit | version (an older version shown)
  let editBase = null; // {title, content} the editor started from
  let versions = null; // the history last loaded
  let previewTimer = null;
  let previewSequence = 0;
  let regenerating = null; // {id, from, updatedAt, started, timer}

  // A route this server does not have yet answers 404 "Not Found" or 405.
  const unsupported = (err) => err.status === 405 || (err.status === 404 && err.message === "Not Found");

  function fail(err) {
    toast(unsupported(err) ? t("reader.notYet", { status: err.status }) : err.message, "bad");
  }

  function versionOf() { // the article's version, or the one its ETag names
    if (typeof state.article.version === "number") return state.article.version;
    const match = /"(\d+)"/.exec(state.etag || "");
    return match ? Number(match[1]) : null;
  }

  function reviewer() { return $("reviewer-name").value.trim(); }

  function notice(key, params = {}, back = false) {
    const box = $("reader-notice");
    box.hidden = !key;
    I18N.bind($("reader-notice-text"), key || null, params);
    $("history-back").hidden = !back;
  }

  // ---- what the reader shows about the article ---------------------------------------------
  function showState() {
    if (!state) return;
    const a = state.article;
    const badge = $("reader-status");
    badge.hidden = !a.status;
    badge.textContent = a.status ? statusLabel(a.status) : "";
    badge.className = a.status ? `badge badge-${a.status}` : "badge";
    const version = versionOf();
    $("reader-version").textContent = version === null ? ""
      : t(a.updated_at ? "reader.versionChanged" : "reader.version",
        { version, date: { $date: a.updated_at } });
    const who = a.reviewer ? t("reader.reviewedBy", { reviewer: a.reviewer, date: { $date: a.reviewed_at } })
      : t("reader.reviewed", { date: { $date: a.reviewed_at } });
    $("reader-review").textContent = a.reviewed_at
      ? who + (a.review_note ? ` · “${a.review_note}”` : "") : "";
    const known = Boolean(a.status); // without a state (an older server) every button is offered
    $("approve-article").disabled = known && ["approved", "scheduled", "published"].includes(a.status);
    $("reject-article").disabled = known && a.status === "rejected";
    $("publish-article").disabled = known && !["approved", "scheduled"].includes(a.status);
    $("regenerate-article").disabled = Boolean(regenerating && regenerating.id === a.id);
  }

  function setMode(next) {
    mode = next;
    $("editor").hidden = next !== "edit";
    $("reader-body").hidden = next === "edit";
    $("review-bar").hidden = next === "edit";
    $("edit-article").disabled = next === "edit";
    if (next === "edit") { $("regenerate-form").hidden = true; $("history").hidden = true; }
    $("history-article").setAttribute("aria-expanded", String(!$("history").hidden));
  }

  function shown(event) {
    const previous = state;
    state = { article: event.detail.article, etag: event.detail.etag || null };
    if (!previous || previous.article.id !== state.article.id) {
      $("regenerate-form").hidden = true;
      $("history").hidden = true;
      $("review-note").value = "";
    }
    setMode("read");
    if (regenerating && regenerating.id === state.article.id) notice("regenerate.running");
    else notice(null);
    if (!$("history").hidden) loadHistory().catch(fail);
    showState();
  }

  // ---- review ------------------------------------------------------------------------------
  async function review(action, button) {
    const body = { version: versionOf() }; // pinned to what the reviewer read: stale is 409
    const note = $("review-note").value.trim();
    if (note) body.note = note;
    if (reviewer()) body.reviewer = reviewer();
    button.disabled = true;
    try {
      await api(`/api/articles/${state.article.id}/${action}`, { method: "POST", json: body });
      $("review-note").value = "";
      toast(t(`toast.${action}`));
    } catch (err) {
      fail(err);
    } finally {
      await window.TA.openArticle(state.article.id); // as the server has it now
    }
  }

  // ---- regenerate --------------------------------------------------------------------------
  function stopRegenerating() {
    if (regenerating) clearInterval(regenerating.timer);
    regenerating = null;
  }

  async function regenerate(event) {
    event.preventDefault();
    const a = state.article;
    const feedback = $("regenerate-feedback").value.trim();
    try {
      await api(`/api/articles/${a.id}/regenerate`, { method: "POST", json: feedback ? { feedback } : {} });
    } catch (err) {
      fail(err);
      return;
    }
    $("regenerate-feedback").value = "";
    $("regenerate-form").hidden = true;
    $("regenerate-toggle").setAttribute("aria-expanded", "false");
    follow(a.id, versionOf(), a.updated_at);
    showState();
  }

  function follow(id, from, updatedAt) { // until the new version is stored
    stopRegenerating();
    regenerating = { id, from, updatedAt, started: Date.now() };
    notice("regenerate.running");
    regenerating.timer = setInterval(async () => {
      const job = regenerating;
      if (Date.now() - job.started > REGENERATE_TIMEOUT_MS) {
        stopRegenerating();
        notice("regenerate.slow");
        return;
      }
      let article;
      try { article = await api(`/api/articles/${id}`); } catch (_) { return; }
      const newer = typeof article.version === "number" && job.from !== null
        ? article.version > job.from : article.updated_at !== job.updatedAt;
      if (!newer || regenerating !== job) return;
      stopRegenerating();
      const reader = $("reader");
      if (reader.open && Number(reader.dataset.articleId) === id && mode !== "edit") {
        await window.TA.openArticle(id);
        notice("regenerate.done", { version: article.version });
      } else {
        toast(t("regenerate.doneToast", { title: article.title, version: article.version }));
        document.dispatchEvent(new CustomEvent("ta:article-changed", { detail: { article } }));
      }
    }, POLL_MS);
  }

  // ---- the editor --------------------------------------------------------------------------
  function editorError(message) {
    $("editor-error").hidden = !message;
    $("editor-error").textContent = message || "";
  }

  function dirty() {
    return mode === "edit" && editBase !== null && ($("editor-title").value !== editBase.title
      || $("editor-content").value !== editBase.content);
  }

  function startEdit(from) { // from: an older version to start with, or the article itself
    const source = from || state.article;
    editBase = { title: state.article.title, content: state.article.content };
    $("editor-title").value = source.title;
    $("editor-content").value = source.content;
    $("editor-note").value = "";
    editorError(null);
    notice(null);
    setMode("edit");
    renderPreview();
    $("editor-content").focus();
  }

  function stopEdit() {
    editBase = null;
    editorError(null);
    window.TA.openArticle(state.article.id);
  }

  async function renderPreview() {
    const mine = ++previewSequence;
    try {
      const response = await api("/api/articles/preview",
        { method: "POST", json: { content: $("editor-content").value }, raw: true });
      const html = await response.text();
      // Rendered by the server from Markdown with raw HTML escaped, as the reader is.
      if (mine === previewSequence) $("editor-preview").innerHTML = html;
    } catch (err) {
      if (mine === previewSequence) editorError(err.message);
    }
  }

  function previewSoon() {
    clearTimeout(previewTimer);
    previewTimer = setTimeout(renderPreview, 250);
  }

  async function save(event) {
    event.preventDefault();
    if (!dirty()) { editorError(t("editor.unchanged")); return; }
    const title = $("editor-title").value.trim();
    if (!title) { editorError(t("editor.needTitle")); return; }
    const id = state.article.id;
    const version = versionOf();
    const body = {};
    if (title !== editBase.title) body.title = title;
    if ($("editor-content").value !== editBase.content) body.content = $("editor-content").value;
    if (version !== null) body.version = version;
    if (reviewer()) body.reviewer = reviewer();
    if ($("editor-note").value.trim()) body.note = $("editor-note").value.trim();
    const headers = version !== null ? { "If-Match": state.etag || `"${version}"` } : {};
    const button = $("editor-save");
    button.disabled = true;
    I18N.bind(button, "editor.saving");
    try {
      const saved = await api(`/api/articles/${id}`, { method: "PATCH", json: body, headers });
      editBase = null;
      setMode("read");
      await window.TA.openArticle(id);
      toast(t("toast.saved", { version: saved.version }));
    } catch (err) {
      if (err.status === 409) { // someone saved first: keep the text, say which version is there
        let latest = null;
        try { latest = await api(`/api/articles/${id}`); } catch (_) { /* keep "?" */ }
        editorError(t("editor.stale", { version: latest && latest.version != null ? latest.version : "?" }));
      } else if (unsupported(err)) {
        editorError(t("reader.notYet", { status: err.status }));
      } else {
        editorError(err.errors && err.errors.length
          ? err.errors.map((e) => t("form.fieldError", { field: e.field, message: e.message })).join(" ")
          : err.message);
      }
    } finally {
      button.disabled = false;
      I18N.bind(button, "editor.save");
    }
  }

  // ---- history -----------------------------------------------------------------------------
  const sourceLabel = (source) => (`source.${source}` in I18N.messages.en ? t(`source.${source}`) : source);

  function renderHistory() {
    const current = versionOf();
    const rows = versions.slice().sort((a, b) => b.version - a.version).map((v) => {
      const actions = v.version === current
        ? el("span", { class: "badge", text: t("history.current") })
        : el("span", { class: "history-actions" },
          el("button", { type: "button", class: "link show-version", text: t("history.show"),
            onclick: () => showVersion(v).catch(fail) }),
          el("button", { type: "button", class: "link edit-version", text: t("history.editFrom"),
            onclick: () => startEdit(v) }));
      return el("li", { "data-version": v.version, "data-source": v.source },
        el("strong", { text: t("history.entry", { version: v.version }) }),
        el("span", { class: "muted", text: [sourceLabel(v.source),
          v.author ? t("history.by", { author: v.author }) : "", I18N.date(v.created_at),
          v.model || ""].filter(Boolean).join(" · ") }),
        v.note ? el("q", { text: v.note }) : null,
        actions);
    });
    if (!rows.length) rows.push(el("li", { class: "muted", text: t("history.empty") }));
    $("history-list").replaceChildren(...rows);
  }

  async function loadHistory() {
    const data = await api(`/api/articles/${state.article.id}/versions`);
    versions = data.items || [];
    renderHistory();
  }

  async function toggleHistory() {
    const panel = $("history");
    if (panel.hidden) {
      try { await loadHistory(); } catch (err) { fail(err); return; }
    }
    panel.hidden = !panel.hidden;
    $("history-article").setAttribute("aria-expanded", String(!panel.hidden));
  }

  async function showVersion(v) {
    const response = await api("/api/articles/preview",
      { method: "POST", json: { content: v.content }, raw: true });
    $("reader-body").innerHTML = await response.text(); // escaped by the server's renderer
    mode = "version";
    notice("history.showing", { version: v.version }, true);
  }

  // ---- start -------------------------------------------------------------------------------
  function guardClose(event) { // unsaved edits are not thrown away by Esc, Close or a click outside
    if (!dirty()) return;
    if (event.type === "click" && event.currentTarget === $("reader") && event.target !== $("reader")) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    toast(t("editor.unsaved"), "bad");
  }

  function start() {
    document.addEventListener("ta:article", shown);
    $("reviewer-name").value = localStorage.getItem(REVIEWER_KEY) || "";
    $("reviewer-name").addEventListener("change", () => localStorage.setItem(REVIEWER_KEY, reviewer()));
    $("approve-article").addEventListener("click", (e) => review("approve", e.currentTarget));
    $("reject-article").addEventListener("click", (e) => review("reject", e.currentTarget));
    $("publish-article").addEventListener("click", (e) => review("publish", e.currentTarget));
    $("regenerate-toggle").addEventListener("click", () => {
      const form = $("regenerate-form");
      form.hidden = !form.hidden;
      $("regenerate-toggle").setAttribute("aria-expanded", String(!form.hidden));
      if (!form.hidden) $("regenerate-feedback").focus();
    });
    $("regenerate-cancel").addEventListener("click", () => { $("regenerate-form").hidden = true; });
    $("regenerate-form").addEventListener("submit", regenerate);
    $("edit-article").addEventListener("click", () => startEdit(null));
    $("editor-content").addEventListener("input", previewSoon);
    $("editor").addEventListener("submit", save);
    $("editor-cancel").addEventListener("click", stopEdit);
    $("history-article").addEventListener("click", toggleHistory);
    $("history-back").addEventListener("click", () => window.TA.openArticle(state.article.id));
    $("reader").addEventListener("cancel", guardClose);
    $("reader").addEventListener("click", guardClose, true);
    $("close-reader").addEventListener("click", guardClose, true);
    I18N.onChange(() => { showState(); if (versions && !$("history").hidden) renderHistory(); });
  }

  start();
})();
