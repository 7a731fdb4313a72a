// The editor's page. Every piece of text from the API goes into the page through textContent
// (never innerHTML); the one exception is the article body, which the server renders from
// Markdown with raw HTML escaped. The page's Content-Security-Policy forbids inline script too.
// Every word it shows comes from the message table in i18n.js (window.I18N, loaded first).
// It shares its helpers as window.TA with library.js (the article library) and reader.js (the
// reader's review, editor and history), which load after it.
"use strict";

(() => {
  const I18N = window.I18N;
  const t = I18N.t;
  const FINAL = new Set(["completed", "partially_completed", "failed", "cancelled"]);
  const TOKEN_KEY = "trustagency.apiToken";
  // Every deferred script (accounts.js among them) has run once DOMContentLoaded fires; this
  // file is deferred too, so it is still ahead of us here.
  const scriptsLoaded = document.readyState === "complete" ? Promise.resolve()
    : new Promise((resolve) => document.addEventListener("DOMContentLoaded", resolve, { once: true }));
  const OWNER_KEY = "trustagency.owner"; // the submit form's owner, kept for the next batch
  const PRIORITIES = new Set(["high", "normal", "low"]);
  const OWNER_MAX = 100;
  const MAX_STREAMS = 3; // browsers allow ~6 connections per host; keep room for requests
  const PAGE_SIZE = 20;
  const body = document.body;
  const LIMITS = {
    titles: Number(body.dataset.maxTitles) || 100,
    length: Number(body.dataset.maxTitleLength) || 300,
  };
  const CATEGORY_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
  const LANGUAGE_RE = /^(auto|[a-z]{2,3}([-_][a-z0-9]{2,8})*)$/i; // BCP 47, checked again by the API
  const CONTROL_RE = /[\u0000-\u001f\u007f-\u009f]/; // what the API refuses in an owner

  const $ = (id) => document.getElementById(id);
  const batches = new Map(); // task_id -> {data, items, card, live, expanded}
  let token = localStorage.getItem(TOKEN_KEY) || "";
  let loaded = 0;
  let totalBatches = 0;
  let openStreams = 0;

  // ---- small DOM helper: attributes and text only, never HTML -------------------------------
  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  // An API error in a form's <ul>: one line per field the API named ("field: message").
  function showErrors(list, err) {
    const messages = err.errors && err.errors.length
      ? err.errors.map((e) => t("form.fieldError", { field: e.field, message: e.message })) : [err.message];
    list.replaceChildren(...messages.map((m) => el("li", { text: m })));
  }

  function toast(message, kind = "info") {
    const box = $("toast");
    // An open modal dialog sits in the top layer: show the message inside it to be seen.
    const modal = [$("reader"), $("token-dialog"), $("login-dialog")].find((d) => d.open)
      || document.body;
    if (box.parentNode !== modal) modal.append(box);
    box.textContent = message;
    box.dataset.kind = kind;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 3500);
  }

  function setConnection(key, kind) {
    const node = $("connection");
    if (node.dataset.i18n !== key) I18N.bind(node, key);
    node.dataset.kind = kind || "";
  }

  // ---- API access, with the token asked for once -------------------------------------------
  let tokenPrompt = null;

  function askToken(refused) {
    if (tokenPrompt) return tokenPrompt;
    const dialog = $("token-dialog");
    const error = $("token-error");
    error.hidden = !refused;
    I18N.bind(error, refused ? "token.refused" : null);
    $("token-input").value = "";
    tokenPrompt = new Promise((resolve) => {
      const form = $("token-form");
      const onSubmit = (event) => {
        event.preventDefault();
        const value = $("token-input").value.trim();
        if (!value) return;
        form.removeEventListener("submit", onSubmit);
        token = value;
        localStorage.setItem(TOKEN_KEY, token);
        $("token-button").hidden = false;
        dialog.close();
        tokenPrompt = null;
        resolve();
      };
      form.addEventListener("submit", onSubmit);
    });
    if (!dialog.open) dialog.showModal();
    $("token-input").focus();
    return tokenPrompt;
  }

  class ApiError extends Error {
    constructor(status, detail, errors) {
      super(detail);
      this.status = status;
      this.errors = errors || [];
    }
  }

  async function api(path, options = {}) {
    for (;;) {
      const headers = { Accept: "application/json", ...(options.headers || {}) };
      if (token) headers.Authorization = `Bearer ${token}`;
      if (options.json !== undefined) headers["Content-Type"] = "application/json";
      let response;
      try {
        response = await fetch(path, {
          method: options.method || "GET",
          headers,
          body: options.json !== undefined ? JSON.stringify(options.json) : undefined,
        });
      } catch (err) {
        setConnection("api.unreachableShort", "bad");
        throw new ApiError(0, t("api.unreachable"));
      }
      if (response.status === 401) {
        const hadToken = Boolean(token);
        token = "";
        localStorage.removeItem(TOKEN_KEY);
        // A refused token is asked for again (once for every request that was refused with
        // it); otherwise the login form (accounts.js).
        if (tokenPrompt) await tokenPrompt;
        else {
          // accounts.js (the login form) is a later deferred script: a 401 that arrives while
          // the page's scripts still load waits for them, or a slow page would ask for a token.
          if (!hadToken) await scriptsLoaded;
          await (hadToken || !window.TAAccounts ? askToken(hadToken) : window.TAAccounts.signIn());
        }
        continue;
      }
      if (!response.ok) {
        let detail = `${response.status} ${response.statusText}`;
        let errors = [];
        try {
          const data = await response.json();
          if (typeof data.detail === "string") detail = data.detail;
          if (Array.isArray(data.errors)) errors = data.errors;
        } catch (_) { /* not JSON */ }
        throw new ApiError(response.status, detail, errors);
      }
      setConnection(null, "");
      return options.raw ? response : response.json();
    }
  }

  // ---- the form ------------------------------------------------------------------------------
  function titlesFromText(text) {
    return text.split("\n").map((line) => line.split(/\s+/).join(" ").trim()).filter(Boolean);
  }

  // Characters as the API counts them (code points), not UTF-16 units: "𠮷" is one.
  function chars(text) {
    return Array.from(text).length;
  }

  function validate() {
    const titles = titlesFromText($("titles").value);
    const category = $("category").value.trim().toLowerCase();
    const language = $("language").value.trim();
    const priority = $("priority").value;
    const rawOwner = $("owner").value;
    const owner = rawOwner.split(/\s+/).join(" ").trim(); // as the API stores it
    const problems = [];
    if (titles.length > LIMITS.titles) {
      problems.push(t("form.tooMany", { count: titles.length, max: LIMITS.titles }));
    }
    titles.forEach((title, i) => {
      const length = chars(title);
      if (length > LIMITS.length) {
        problems.push(t("form.titleTooLong", { n: i + 1, length, max: LIMITS.length }));
      }
      if (/[\u0000-\u001f]/.test(title)) problems.push(t("form.titleControl", { n: i + 1 }));
    });
    if (!CATEGORY_RE.test(category)) problems.push(t("form.badCategory"));
    if (language && !LANGUAGE_RE.test(language)) problems.push(t("form.badLanguage"));
    if (chars(rawOwner) > OWNER_MAX || CONTROL_RE.test(rawOwner)) problems.push(t("form.badOwner"));
    return { titles, category, language, priority, owner, problems };
  }

  function showValidation(force) {
    const { titles, problems } = validate();
    const count = $("title-count");
    count.textContent = titles.length === 0 ? t("form.noTitles") : t("form.count", { count: titles.length });
    count.dataset.over = titles.length > LIMITS.titles ? "true" : "false";
    const list = $("form-errors");
    list.replaceChildren(...problems.map((p) => el("li", { text: p })));
    if (force && titles.length === 0) list.append(el("li", { text: t("form.needTitle") }));
    $("generate").disabled = problems.length > 0 || titles.length === 0;
  }

  async function submitForm(event) {
    event.preventDefault();
    const { titles, category, language, priority, owner, problems } = validate();
    showValidation(true);
    if (problems.length || titles.length === 0) return;
    const button = $("generate");
    button.disabled = true;
    I18N.bind(button, "form.submitting");
    try {
      const json = { titles, category };
      if (language) json.language = language;
      if (PRIORITIES.has(priority)) json.priority = priority;
      if (owner) json.owner = owner;
      const batch = await api("/api/tasks/generate-articles", { method: "POST", json });
      $("titles").value = "";
      localStorage.setItem(OWNER_KEY, owner);
      const entry = upsert(batch);
      entry.expanded = true;
      await refresh(entry);
      follow(entry);
      loadBatches().catch(() => {}); // counts in the header
      toast(t("toast.submitted", { count: batch.total }));
    } catch (err) {
      showErrors($("form-errors"), err);
    } finally {
      I18N.bind(button, "form.generate");
      showValidation(false);
    }
  }

  // ---- batches -------------------------------------------------------------------------------
  function upsert(data) {
    let entry = batches.get(data.task_id);
    if (!entry) {
      entry = { data, items: data.items || null, card: null, live: null, expanded: false };
      batches.set(data.task_id, entry);
      entry.card = buildCard(entry);
      $("batches").prepend(entry.card);
      $("empty").hidden = true;
    } else {
      mergeBatch(entry, data);
    }
    render(entry);
    return entry;
  }

  function mergeBatch(entry, data) {
    const old = entry.data;
    // Within one run progress only moves forward (an event can overtake a slower response);
    // a batch whose failed items were queued again starts a new run.
    const reopened = FINAL.has(old.status) && data.status && !FINAL.has(data.status);
    entry.data = { ...old, ...data };
    if (!reopened && typeof data.progress === "number" && data.progress < old.progress) {
      entry.data.progress = old.progress;
    }
    if (data.items) entry.items = data.items;
  }

  async function refresh(entry) {
    const data = await api(`/api/tasks/${encodeURIComponent(entry.data.task_id)}/status`);
    entry.data = { ...entry.data, ...data };
    entry.items = data.items;
    render(entry);
    return entry;
  }

  function refreshSoon(entry) {
    clearTimeout(entry.refreshTimer);
    entry.refreshTimer = setTimeout(() => refresh(entry).catch(() => {}), 300);
  }

  function buildCard(entry) {
    const id = entry.data.task_id;
    const card = el("article", { class: "batch", "data-task-id": id });
    const parts = {
      category: el("span", { class: "category" }),
      language: el("span", { class: "language muted" }),
      priority: el("span", { class: "priority" }),
      owner: el("span", { class: "owner" }),
      total: el("span", { class: "total" }),
      id: el("code", { class: "batch-id", title: id, text: id.slice(0, 8) }),
      created: el("time", { class: "created muted" }),
      status: el("span", { class: "badge" }),
      bar: el("div", { class: "bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100 }),
      ok: el("span", { class: "seg seg-ok" }),
      failed: el("span", { class: "seg seg-failed" }),
      cancelled: el("span", { class: "seg seg-cancelled" }),
      counts: el("span", { class: "counts" }),
      quality: el("span", { class: "batch-quality" }),
      eta: el("span", { class: "eta" }),
      elapsed: el("span", { class: "elapsed" }),
      percent: el("span", { class: "percent" }),
      cost: el("span", { class: "cost" }),
      paused: el("p", { class: "batch-paused" }),
      lane: el("p", { class: "batch-lane muted" }),
      resume: el("button", { type: "button", class: "resume" }),
      cancel: el("button", { type: "button", class: "danger cancel" }),
      retry: el("button", { type: "button", class: "retry" }),
      toggle: el("button", { type: "button", class: "ghost toggle", "aria-expanded": "false" }),
      library: el("button", { type: "button", class: "ghost in-library" }),
      export: el("button", { type: "button", class: "export" }),
      items: el("div", { class: "items" }),
      error: el("p", { class: "batch-error" }),
    };
    parts.bar.append(parts.ok, parts.failed, parts.cancelled);
    card.append(
      el("div", { class: "batch-head" },
        el("div", { class: "batch-title" }, parts.category, parts.language, parts.priority, parts.owner,
          parts.total, parts.id, parts.created),
        parts.status),
      parts.bar,
      el("div", { class: "batch-meta" }, parts.counts, parts.quality, parts.cost, parts.eta, parts.elapsed,
        parts.percent),
      parts.error, parts.paused, parts.lane,
      el("div", { class: "actions" }, parts.toggle, parts.library, parts.export, parts.retry,
        parts.resume, parts.cancel),
      parts.items,
    );
    parts.cancel.addEventListener("click", () => cancelBatch(entry));
    parts.retry.addEventListener("click", () => retryFailed(entry));
    parts.library.addEventListener("click", () => window.Library.show({ task_id: id }));
    parts.export.addEventListener("click", () =>
      downloadFile(`/api/tasks/${encodeURIComponent(id)}/export.zip`, `${id.slice(0, 8)}.zip`));
    parts.resume.addEventListener("click", () => resumeBatch(entry));
    parts.toggle.addEventListener("click", async () => {
      entry.expanded = !entry.expanded;
      if (entry.expanded && !entry.items) await refresh(entry).catch((e) => toast(e.message, "bad"));
      render(entry);
    });
    entry.parts = parts;
    return card;
  }

  function render(entry) {
    const d = entry.data;
    const p = entry.parts;
    const running = !FINAL.has(d.status);
    const done = d.completed + d.failed + d.cancelled;
    entry.card.dataset.status = d.status;
    p.category.textContent = d.category || "";
    p.language.textContent = d.language || "";
    const priority = PRIORITIES.has(d.priority) ? d.priority : "normal";
    p.priority.dataset.priority = priority;
    p.priority.textContent = t("batch.priority", { priority: t(`priority.${priority}`) });
    p.priority.title = t("batch.priorityTitle");
    p.owner.textContent = d.owner ? t("batch.owner", { owner: d.owner }) : "";
    p.owner.title = t("batch.ownerTitle");
    p.owner.hidden = !d.owner;
    p.total.textContent = t("batch.titles", { count: d.total });
    p.created.textContent = d.created_at ? I18N.date(d.created_at) : "";
    if (d.created_at) p.created.setAttribute("datetime", d.created_at);
    p.status.textContent = statusLabel(d.status);
    p.status.className = `badge badge-${d.status}`;
    const progress = Math.max(0, Math.min(100, d.progress || 0));
    p.bar.setAttribute("aria-label", t("batch.progressLabel", { id: d.task_id.slice(0, 8) }));
    p.bar.setAttribute("aria-valuenow", String(progress));
    p.bar.setAttribute("aria-valuetext",
      t("batch.progressText", { percent: I18N.percent(progress), done, total: d.total }));
    const share = (n) => (d.total ? `${(100 * n) / d.total}%` : "0%");
    p.ok.style.width = share(d.completed);
    p.failed.style.width = share(d.failed);
    p.cancelled.style.width = share(d.cancelled);
    p.counts.textContent = t("batch.counts", { done, total: d.total, completed: d.completed, failed: d.failed })
      + (d.cancelled ? t("batch.countsCancelled", { cancelled: d.cancelled }) : "");
    p.quality.textContent = d.regenerated || d.needs_review
      ? t("batch.quality", { regenerated: d.regenerated || 0, review: d.needs_review || 0 }) : "";
    p.percent.textContent = I18N.percent(progress);
    p.elapsed.textContent = elapsed(d);
    p.elapsed.title = t("batch.elapsedTitle");
    p.eta.textContent = running && typeof d.eta_seconds === "number"
      ? t("batch.eta", { duration: I18N.duration(d.eta_seconds) }) : "";
    p.error.textContent = d.error || "";
    p.error.hidden = !d.error;
    renderCosts(entry);
    p.cancel.hidden = !running;
    p.cancel.disabled = Boolean(d.cancel_requested);
    if (!running) resetCancel(entry);
    else p.cancel.textContent = t(entry.confirmCancel ? "batch.confirmCancel" : "batch.cancel");
    p.retry.hidden = running || !d.failed || d.status === "cancelled";
    p.retry.textContent = t("batch.retry");
    p.library.hidden = p.export.hidden = !d.completed;
    p.library.textContent = t("batch.inLibrary");
    p.export.textContent = t("batch.export");
    p.toggle.textContent = t(entry.expanded ? "batch.hideItems" : "batch.showItems");
    p.toggle.setAttribute("aria-expanded", String(entry.expanded));
    p.items.hidden = !entry.expanded;
    if (entry.expanded && entry.items) renderItems(entry);
  }

  // ---- costs, the pause and the Batch API lane ---------------------------------------------
  const usd = (n) => I18N.number(n, { style: "currency", currency: "USD", maximumFractionDigits: n >= 1 ? 2 : 6 });

  function renderCosts(entry) {
    const d = entry.data;
    const p = entry.parts;
    const tokens = (d.prompt_tokens || 0) + (d.completion_tokens || 0);
    if (d.cost_usd === null && d.cost_unknown) p.cost.textContent = t("batch.costUnknown");
    else if (typeof d.cost_usd === "number") {
      p.cost.textContent = t("batch.cost", { cost: usd(d.cost_usd), tokens })
        + (typeof d.cost_remaining_usd === "number" ? t("batch.costLeft", { cost: usd(d.cost_remaining_usd) }) : "");
    } else p.cost.textContent = "";
    p.cost.title = d.cost_note || t("batch.costTitle");
    const paused = d.status === "paused";
    p.paused.hidden = !paused;
    p.paused.textContent = !paused ? "" : (d.resume_at
      ? t("batch.pausedUntil", { reason: d.paused_reason || "", time: { $date: d.resume_at } })
      : t("batch.paused", { reason: d.paused_reason || "" }));
    p.resume.hidden = !paused;
    p.resume.textContent = t("batch.resume");
    const lane = (d.provider_batches || []).map((b) => t("batch.providerBatch", b));
    const notes = [d.mode === "batch" ? t("batch.lane") : "", ...lane, d.note || ""].filter(Boolean);
    p.lane.textContent = notes.join(" · ");
    p.lane.hidden = notes.length === 0;
  }

  async function resumeBatch(entry) {
    entry.parts.resume.disabled = true;
    try {
      const data = await api(`/api/tasks/${encodeURIComponent(entry.data.task_id)}/resume`, { method: "POST" });
      mergeBatch(entry, data);
      render(entry);
      toast(t("toast.resumed"));
      follow(entry);
    } catch (err) {
      toast(err.message, "bad");
    } finally {
      entry.parts.resume.disabled = false;
    }
  }

  function statusLabel(status) { // a status we have no words for is shown as the API names it
    const key = `status.${status}`;
    return key in I18N.messages.en ? t(key) : String(status).replaceAll("_", " ");
  }

  function renderItems(entry) {
    const rows = entry.items.map((item) => {
      const read = item.article_id
        ? el("button", { type: "button", class: "link read", text: t("items.read"),
          onclick: () => openArticle(item.article_id) })
        : null;
      return el("tr", { "data-item-id": item.id, "data-status": item.status },
        el("td", { class: "num", text: I18N.number(item.index + 1) }),
        el("td", { class: "title", text: item.title }),
        el("td", {}, el("span", { class: `dot dot-${item.status}`, text: statusLabel(item.status) })),
        el("td", { class: "num", text: I18N.number(item.attempts) }),
        el("td", { class: "error", text: item.error || "" }),
        el("td", { class: "action" }, read));
    });
    const table = el("table", { class: "item-table" },
      el("thead", {}, el("tr", {},
        el("th", { class: "num", text: t("items.number") }), el("th", { text: t("items.title") }),
        el("th", { text: t("items.status") }), el("th", { class: "num", text: t("items.attempts") }),
        el("th", { text: t("items.error") }), el("th", {}))),
      el("tbody", {}, ...rows));
    entry.parts.items.replaceChildren(table);
  }

  function elapsed(d) {
    const start = Date.parse(d.started_at || d.created_at);
    if (Number.isNaN(start)) return "";
    const end = d.finished_at ? Date.parse(d.finished_at) : (FINAL.has(d.status) ? start : Date.now());
    let s = Math.max(0, Math.round((end - start) / 1000));
    const h = Math.floor(s / 3600); s -= h * 3600;
    const m = Math.floor(s / 60); s -= m * 60;
    const pad = (n) => String(n).padStart(2, "0");
    return h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
  }

  // ---- actions -------------------------------------------------------------------------------
  function resetCancel(entry) {
    clearTimeout(entry.cancelTimer);
    entry.confirmCancel = false;
    entry.parts.cancel.textContent = t("batch.cancel");
  }

  async function cancelBatch(entry) {
    if (!entry.confirmCancel) { // a second click confirms, without a blocking confirm() box
      entry.confirmCancel = true;
      entry.parts.cancel.textContent = t("batch.confirmCancel");
      entry.cancelTimer = setTimeout(() => resetCancel(entry), 4000);
      return;
    }
    resetCancel(entry);
    entry.parts.cancel.disabled = true;
    try {
      const data = await api(`/api/tasks/${encodeURIComponent(entry.data.task_id)}/cancel`, { method: "POST" });
      mergeBatch(entry, data);
      render(entry);
      toast(t("toast.cancelling"));
      follow(entry);
    } catch (err) {
      toast(err.message, "bad");
      refresh(entry).catch(() => {});
    }
  }

  async function retryFailed(entry) {
    entry.parts.retry.disabled = true;
    try {
      const data = await api(`/api/tasks/${encodeURIComponent(entry.data.task_id)}/retry-failed`, { method: "POST" });
      entry.data = { ...entry.data, ...data };
      entry.items = data.items;
      entry.expanded = true;
      render(entry);
      follow(entry);
      toast(t("toast.retried"));
    } catch (err) {
      toast(err.message, "bad");
    } finally {
      entry.parts.retry.disabled = false;
    }
  }

  // ---- live progress: Server-Sent Events, polling as the fallback -----------------------------
  function follow(entry) {
    if (entry.live || FINAL.has(entry.data.status)) return;
    if (window.EventSource && openStreams < MAX_STREAMS) stream(entry);
    else poll(entry);
  }

  function stopFollowing(entry) {
    const live = entry.live;
    entry.live = null;
    if (!live) return;
    if (live.source) { live.source.close(); openStreams -= 1; }
    if (live.timer) clearInterval(live.timer);
  }

  function stream(entry) {
    // Authorised by the session cookie, never a token in the URL (a token-only page polls).
    const source = new EventSource(`/api/tasks/${encodeURIComponent(entry.data.task_id)}/events`);
    openStreams += 1;
    entry.live = { source, errors: 0 };
    entry.card.dataset.live = "sse";
    source.onmessage = (message) => {
      entry.live && (entry.live.errors = 0);
      let event;
      try { event = JSON.parse(message.data); } catch (_) { return; }
      applyEvent(entry, event);
      if (event.type === "snapshot" && FINAL.has(event.status)) {
        stopFollowing(entry);
        entry.card.dataset.live = "done";
        refresh(entry).catch(() => {});
      }
    };
    source.onerror = () => {
      if (!entry.live || entry.live.source !== source) return;
      entry.live.errors += 1;
      // Closed for good (401, 404, proxy), or reconnecting again and again: poll instead.
      if (source.readyState === EventSource.CLOSED || entry.live.errors >= 3) {
        stopFollowing(entry);
        poll(entry);
      }
    };
  }

  function applyEvent(entry, event) {
    const fields = ["status", "total", "completed", "failed", "cancelled", "progress", "eta_seconds",
      "cost_usd", "cost_remaining_usd", "prompt_tokens", "completion_tokens", "cost_unknown", "cost_note",
      "paused_reason", "resume_at",
      "regenerated", "needs_review"];
    const update = {};
    for (const key of fields) if (key in event) update[key] = event[key];
    if ("started_at" in event) update.started_at = event.started_at;
    if ("finished_at" in event) update.finished_at = event.finished_at;
    if (event.items) update.items = event.items;
    mergeBatch(entry, update);
    const item = event.item;
    if (item && entry.items) {
      const row = entry.items.find((i) => i.id === item.id);
      if (row) Object.assign(row, { status: item.status, attempts: item.attempts, error: item.error });
      if (item.status === "completed") refreshSoon(entry); // fetch the new article's id
    }
    render(entry);
  }

  function poll(entry) {
    if (entry.live) return;
    entry.card.dataset.live = "poll";
    let last = "";
    const tick = async () => {
      try {
        const p = await api(`/api/tasks/${encodeURIComponent(entry.data.task_id)}/progress`);
        const key = `${p.status}/${p.current}`;
        applyEvent(entry, p);
        if (key !== last) { last = key; if (entry.expanded) refreshSoon(entry); }
        if (FINAL.has(p.status)) {
          stopFollowing(entry);
          entry.card.dataset.live = "done";
          refresh(entry).catch(() => {});
        }
      } catch (_) { /* try again next second */ }
    };
    entry.live = { timer: setInterval(tick, 1000) };
    tick();
  }

  // ---- loading the list ----------------------------------------------------------------------
  async function loadBatches({ more = false } = {}) {
    const offset = more ? loaded : 0;
    const limit = more ? PAGE_SIZE : Math.max(PAGE_SIZE, loaded);
    const page = await api(`/api/tasks?limit=${limit}&offset=${offset}`);
    totalBatches = page.total;
    for (const data of page.items) follow(upsert(data));
    loaded = Math.max(loaded, offset + page.items.length);
    reorder();
    if (totalBatches) I18N.bind($("batches-total"), "batches.total", { count: totalBatches });
    else I18N.bind($("batches-total"), null);
    $("empty").hidden = batches.size > 0;
    $("more").hidden = loaded >= totalBatches;
  }

  function reorder() { // newest first, moving only when the order is wrong
    const entries = [...batches.values()].sort((a, b) =>
      (b.data.created_at || "").localeCompare(a.data.created_at || "")
      || b.data.task_id.localeCompare(a.data.task_id));
    const list = $("batches");
    const cards = entries.map((e) => e.card);
    if (cards.some((card, i) => list.children[i] !== card)) list.append(...cards);
  }

  // ---- the article reader --------------------------------------------------------------------
  let current = null;

  async function openArticle(articleId) {
    try {
      const [[article, etag], html] = await Promise.all([
        api(`/api/articles/${articleId}`, { raw: true })
          .then(async (r) => [await r.json(), r.headers.get("ETag")]),
        api(`/api/articles/${articleId}/html`, { raw: true }).then((r) => r.text()),
      ]);
      current = article;
      $("reader-title").textContent = article.title;
      I18N.bind($("reader-meta"), "reader.meta", {
        category: article.category, provider: article.provider, model: article.model,
        tokens: article.tokens.total, created: { $date: article.created_at } });
      // Server-rendered from Markdown with raw HTML escaped (app/services/render.py).
      $("reader-body").innerHTML = html;
      const dialog = $("reader");
      dialog.dataset.articleId = article.id;
      if (!dialog.open) dialog.showModal();
      $("reader-body").scrollTop = 0;
      // reader.js shows its state, review buttons, editor and history for it.
      document.dispatchEvent(new CustomEvent("ta:article", { detail: { article, etag, html } }));
      return article;
    } catch (err) {
      toast(err.message, "bad");
    }
  }

  // The same rule as app/articles/naming.py slug_for: CJK and other scripts kept, anything but
  // letters, marks and digits becomes "-", at most 80 characters and 120 UTF-8 bytes, Windows
  // device names get a "_", nothing left gives "article".
  const RESERVED = new Set(["con", "prn", "aux", "nul",
    ...[..."0123456789"].flatMap((d) => [`com${d}`, `lpt${d}`])]);
  const utf8 = new TextEncoder();

  function slugFor(title, maxLength = 80, maxBytes = 120) {
    const text = String(title || "").normalize("NFKC").toLowerCase();
    const full = Array.from(text.split(/[^\p{L}\p{M}\p{N}]+/u).filter(Boolean).join("-"));
    let cut = full.slice(0, maxLength);
    while (utf8.encode(cut.join("")).length > maxBytes) cut.pop();
    if (cut.length < full.length) {
      const dash = cut.lastIndexOf("-");
      if (dash >= Math.floor(cut.length / 2)) cut = cut.slice(0, dash);
    }
    let slug = cut.join("").replace(/^-+|-+$/g, "");
    if (RESERVED.has(slug)) slug += "_";
    return slug || "article";
  }

  function fileName(title) { return `${slugFor(title)}.md`; }

  // RFC 6266: the server's name, from filename*=UTF-8''... (a plain filename= is ignored: today's
  // server sends article-<id>.md there, which says nothing about the article).
  function dispositionName(header) {
    const match = /(?:^|;)\s*filename\*\s*=\s*"?([^";]+)"?/i.exec(header || "");
    const value = match && /^utf-8'[^']*'(.+)$/i.exec(match[1].trim());
    if (!value) return null;
    try {
      const name = decodeURIComponent(value[1]).split(/[\\/]/).pop().trim();
      return name && !/[\u0000-\u001f\u007f]/.test(name) ? name : null;
    } catch (_) { return null; }
  }

  async function copyArticle() {
    if (!current) return;
    try {
      await navigator.clipboard.writeText(current.content);
    } catch (_) { // no clipboard permission: fall back to a selection copy
      const area = el("textarea", { class: "offscreen" });
      area.value = current.content;
      $("reader").append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
    }
    toast(t("toast.copied"));
  }

  async function downloadArticle() {
    if (!current) return;
    const article = current;
    let content = article.content;
    let name = fileName(article.title);
    try { // the server's file and, when it sends one, its name (Content-Disposition)
      const response = await api(`/api/articles/${article.id}/markdown`,
        { raw: true, headers: { Accept: "text/markdown" } });
      name = dispositionName(response.headers.get("Content-Disposition")) || name;
      content = await response.text();
    } catch (_) { /* unreachable: save the copy we have, named by the same rule */ }
    saveBlob(new Blob([content], { type: "text/markdown;charset=utf-8" }), name);
  }

  function saveBlob(blob, name) {
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: name, class: "offscreen" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // A file from the API (a ZIP export): fetched with the token, saved under the server's name.
  async function downloadFile(path, fallbackName) {
    try {
      const response = await api(path, { raw: true, headers: { Accept: "application/zip" } });
      const name = dispositionName(response.headers.get("Content-Disposition")) || fallbackName;
      saveBlob(await response.blob(), name);
      toast(t("toast.downloaded", { name }));
    } catch (err) {
      toast(err.message, "bad");
    }
  }

  // ---- switching the language: everything app.js wrote is written again --------------------
  function relocalize() {
    showValidation(false);
    for (const entry of batches.values()) render(entry); // the open item tables too
  }

  // ---- start ---------------------------------------------------------------------------------
  function start() {
    I18N.onChange(relocalize);
    $("titles").addEventListener("input", () => showValidation(false));
    $("category").addEventListener("input", () => showValidation(false));
    $("language").addEventListener("input", () => showValidation(false));
    $("owner").value = localStorage.getItem(OWNER_KEY) || "";
    $("owner").addEventListener("input", () => showValidation(false));
    $("titles").addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) $("generate-form").requestSubmit();
    });
    $("generate-form").addEventListener("submit", submitForm);
    $("more").addEventListener("click", () => loadBatches({ more: true }).catch((e) => toast(e.message, "bad")));
    $("close-reader").addEventListener("click", () => $("reader").close());
    $("reader").addEventListener("click", (e) => { if (e.target === $("reader")) $("reader").close(); });
    $("copy-article").addEventListener("click", copyArticle);
    $("download-article").addEventListener("click", downloadArticle);
    $("token-dialog").addEventListener("cancel", (e) => e.preventDefault()); // it is needed
    $("token-button").hidden = !token;
    $("token-button").addEventListener("click", () => askToken(false).then(() => loadBatches()));
    showValidation(false);
    loadBatches().catch((e) => { $("empty").hidden = false; toast(e.message, "bad"); });
    // Batches from other places (CLI, scripts) show up; elapsed times tick.
    setInterval(() => loadBatches().catch(() => {}), 5000);
    setInterval(() => {
      for (const entry of batches.values()) {
        if (!FINAL.has(entry.data.status)) entry.parts.elapsed.textContent = elapsed(entry.data);
      }
    }, 1000);
  }

  // Shared with library.js, reader.js, profiles.js, webhooks.js and accounts.js (loaded after this file).
  window.TA = Object.freeze({ api, el, toast, showErrors, statusLabel, downloadFile, openArticle, ApiError, askToken,
    get current() { return current; } });
  start();
})();
