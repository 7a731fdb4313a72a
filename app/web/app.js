// The editor's page. Every piece of text from the API goes into the page through textContent
// (never innerHTML); the one exception is the article body, which the server renders from
// Markdown with raw HTML escaped. The page's Content-Security-Policy forbids inline script too.
"use strict";

(() => {
  const FINAL = new Set(["completed", "partially_completed", "failed", "cancelled"]);
  const TOKEN_KEY = "trustagency.apiToken";
  const MAX_STREAMS = 3; // browsers allow ~6 connections per host; keep room for requests
  const PAGE_SIZE = 20;
  const body = document.body;
  const LIMITS = {
    titles: Number(body.dataset.maxTitles) || 100,
    length: Number(body.dataset.maxTitleLength) || 300,
  };
  const CATEGORY_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

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

  function toast(message, kind = "info") {
    const box = $("toast");
    // An open modal dialog sits in the top layer: show the message inside it to be seen.
    const modal = [$("reader"), $("token-dialog")].find((d) => d.open) || document.body;
    if (box.parentNode !== modal) modal.append(box);
    box.textContent = message;
    box.dataset.kind = kind;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, 3500);
  }

  function setConnection(text, kind) {
    const node = $("connection");
    node.textContent = text;
    node.dataset.kind = kind || "";
  }

  // ---- API access, with the token asked for once -------------------------------------------
  let tokenPrompt = null;

  function askToken(refused) {
    if (tokenPrompt) return tokenPrompt;
    const dialog = $("token-dialog");
    const error = $("token-error");
    error.hidden = !refused;
    error.textContent = refused ? "The API refused that token. Please check it." : "";
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
        setConnection("API unreachable", "bad");
        throw new ApiError(0, "The API is not reachable. Is it running?");
      }
      if (response.status === 401) {
        const hadToken = Boolean(token);
        token = "";
        localStorage.removeItem(TOKEN_KEY);
        await askToken(hadToken);
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
      setConnection("", "");
      return options.raw ? response : response.json();
    }
  }

  // ---- the form ------------------------------------------------------------------------------
  function titlesFromText(text) {
    return text.split("\n").map((line) => line.split(/\s+/).join(" ").trim()).filter(Boolean);
  }

  function validate() {
    const titles = titlesFromText($("titles").value);
    const category = $("category").value.trim().toLowerCase();
    const problems = [];
    if (titles.length > LIMITS.titles) {
      problems.push(`Too many titles: ${titles.length} (at most ${LIMITS.titles} per batch).`);
    }
    titles.forEach((title, i) => {
      if (title.length > LIMITS.length) {
        problems.push(`Title ${i + 1} is ${title.length} characters long (at most ${LIMITS.length}).`);
      }
      if (/[\u0000-\u001f]/.test(title)) problems.push(`Title ${i + 1} contains control characters.`);
    });
    if (!CATEGORY_RE.test(category)) {
      problems.push("Category must be a short slug: letters a-z, digits, '-' or '_' (for example guide).");
    }
    return { titles, category, problems };
  }

  function showValidation(force) {
    const { titles, problems } = validate();
    const count = $("title-count");
    count.textContent = titles.length === 0 ? "No titles yet"
      : `${titles.length} title${titles.length === 1 ? "" : "s"} · ${titles.length} article${titles.length === 1 ? "" : "s"}`;
    count.dataset.over = titles.length > LIMITS.titles ? "true" : "false";
    const list = $("form-errors");
    list.replaceChildren(...problems.map((p) => el("li", { text: p })));
    if (force && titles.length === 0) list.append(el("li", { text: "Add at least one title, one per line." }));
    $("generate").disabled = problems.length > 0 || titles.length === 0;
  }

  async function submitForm(event) {
    event.preventDefault();
    const { titles, category, problems } = validate();
    showValidation(true);
    if (problems.length || titles.length === 0) return;
    const button = $("generate");
    button.disabled = true;
    button.textContent = "Submitting…";
    try {
      const batch = await api("/api/tasks/generate-articles", { method: "POST", json: { titles, category } });
      $("titles").value = "";
      const entry = upsert(batch);
      entry.expanded = true;
      await refresh(entry);
      follow(entry);
      loadBatches().catch(() => {}); // counts in the header
      toast(`Batch of ${batch.total} submitted.`);
    } catch (err) {
      const list = $("form-errors");
      const messages = err.errors && err.errors.length
        ? err.errors.map((e) => `${e.field}: ${e.message}`) : [err.message];
      list.replaceChildren(...messages.map((m) => el("li", { text: m })));
    } finally {
      button.textContent = "Generate";
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
      total: el("span", { class: "total" }),
      id: el("code", { class: "batch-id", title: id, text: id.slice(0, 8) }),
      created: el("time", { class: "created muted" }),
      status: el("span", { class: "badge" }),
      bar: el("div", { class: "bar", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100,
        "aria-label": `Progress of batch ${id.slice(0, 8)}` }),
      ok: el("span", { class: "seg seg-ok" }),
      failed: el("span", { class: "seg seg-failed" }),
      cancelled: el("span", { class: "seg seg-cancelled" }),
      counts: el("span", { class: "counts" }),
      eta: el("span", { class: "eta" }),
      elapsed: el("span", { class: "elapsed", title: "Elapsed time" }),
      percent: el("span", { class: "percent" }),
      cancel: el("button", { type: "button", class: "danger cancel", text: "Cancel" }),
      retry: el("button", { type: "button", class: "retry", text: "Retry failed" }),
      toggle: el("button", { type: "button", class: "ghost toggle", "aria-expanded": "false" }),
      items: el("div", { class: "items" }),
      error: el("p", { class: "batch-error" }),
    };
    parts.bar.append(parts.ok, parts.failed, parts.cancelled);
    card.append(
      el("div", { class: "batch-head" },
        el("div", { class: "batch-title" }, parts.category, parts.total, parts.id, parts.created),
        parts.status),
      parts.bar,
      el("div", { class: "batch-meta" }, parts.counts, parts.eta, parts.elapsed, parts.percent),
      parts.error,
      el("div", { class: "actions" }, parts.toggle, parts.retry, parts.cancel),
      parts.items,
    );
    parts.cancel.addEventListener("click", () => cancelBatch(entry));
    parts.retry.addEventListener("click", () => retryFailed(entry));
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
    p.total.textContent = `${d.total} title${d.total === 1 ? "" : "s"}`;
    p.created.textContent = d.created_at ? new Date(d.created_at).toLocaleString() : "";
    if (d.created_at) p.created.setAttribute("datetime", d.created_at);
    p.status.textContent = d.status.replace("_", " ");
    p.status.className = `badge badge-${d.status}`;
    const progress = Math.max(0, Math.min(100, d.progress || 0));
    p.bar.setAttribute("aria-valuenow", String(progress));
    p.bar.setAttribute("aria-valuetext", `${progress}% (${done} of ${d.total} done)`);
    const share = (n) => (d.total ? `${(100 * n) / d.total}%` : "0%");
    p.ok.style.width = share(d.completed);
    p.failed.style.width = share(d.failed);
    p.cancelled.style.width = share(d.cancelled);
    p.counts.textContent = `${done} of ${d.total} done · ${d.completed} completed · ${d.failed} failed`
      + (d.cancelled ? ` · ${d.cancelled} cancelled` : "");
    p.percent.textContent = `${progress}%`;
    p.elapsed.textContent = elapsed(d);
    p.eta.textContent = running && typeof d.eta_seconds === "number" ? `about ${duration(d.eta_seconds)} left` : "";
    p.error.textContent = d.error || "";
    p.error.hidden = !d.error;
    p.cancel.hidden = !running;
    p.cancel.disabled = Boolean(d.cancel_requested);
    if (!running) resetCancel(entry);
    p.retry.hidden = running || !d.failed || d.status === "cancelled";
    p.toggle.textContent = entry.expanded ? "Hide items" : "Show items";
    p.toggle.setAttribute("aria-expanded", String(entry.expanded));
    p.items.hidden = !entry.expanded;
    if (entry.expanded && entry.items) renderItems(entry);
  }

  function renderItems(entry) {
    const rows = entry.items.map((item) => {
      const read = item.article_id
        ? el("button", { type: "button", class: "link read", text: "Read",
          onclick: () => openArticle(item.article_id) })
        : null;
      return el("tr", { "data-item-id": item.id, "data-status": item.status },
        el("td", { class: "num", text: String(item.index + 1) }),
        el("td", { class: "title", text: item.title }),
        el("td", {}, el("span", { class: `dot dot-${item.status}`, text: item.status })),
        el("td", { class: "num", text: String(item.attempts) }),
        el("td", { class: "error", text: item.error || "" }),
        el("td", { class: "action" }, read));
    });
    const table = el("table", { class: "item-table" },
      el("thead", {}, el("tr", {},
        el("th", { class: "num", text: "#" }), el("th", { text: "Title" }), el("th", { text: "Status" }),
        el("th", { class: "num", text: "Attempts" }), el("th", { text: "Error" }), el("th", {}))),
      el("tbody", {}, ...rows));
    entry.parts.items.replaceChildren(table);
  }

  function duration(seconds) {
    const s = Math.max(1, Math.round(seconds));
    if (s < 60) return `${s} s`;
    if (s < 3600) return `${Math.round(s / 60)} min`;
    return `${(s / 3600).toFixed(1)} h`;
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
    entry.parts.cancel.textContent = "Cancel";
  }

  async function cancelBatch(entry) {
    if (!entry.confirmCancel) { // a second click confirms, without a blocking confirm() box
      entry.confirmCancel = true;
      entry.parts.cancel.textContent = "Confirm cancel";
      entry.cancelTimer = setTimeout(() => resetCancel(entry), 4000);
      return;
    }
    resetCancel(entry);
    entry.parts.cancel.disabled = true;
    try {
      const data = await api(`/api/tasks/${encodeURIComponent(entry.data.task_id)}/cancel`, { method: "POST" });
      mergeBatch(entry, data);
      render(entry);
      toast("Cancelling: running articles stop within seconds.");
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
      toast("Failed items queued again.");
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
    const query = token ? `?token=${encodeURIComponent(token)}` : "";
    const source = new EventSource(`/api/tasks/${encodeURIComponent(entry.data.task_id)}/events${query}`);
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
    const fields = ["status", "total", "completed", "failed", "cancelled", "progress", "eta_seconds"];
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
    $("batches-total").textContent = totalBatches ? `${totalBatches} in all` : "";
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
      const [article, html] = await Promise.all([
        api(`/api/articles/${articleId}`),
        api(`/api/articles/${articleId}/html`, { raw: true }).then((r) => r.text()),
      ]);
      current = article;
      $("reader-title").textContent = article.title;
      $("reader-meta").textContent =
        `${article.category} · ${article.provider} / ${article.model} · ${article.tokens.total} tokens`;
      // Server-rendered from Markdown with raw HTML escaped (app/services/render.py).
      $("reader-body").innerHTML = html;
      const dialog = $("reader");
      if (!dialog.open) dialog.showModal();
      $("reader-body").scrollTop = 0;
    } catch (err) {
      toast(err.message, "bad");
    }
  }

  function fileName(title) {
    const slug = title.normalize("NFKD").toLowerCase().replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "").slice(0, 80);
    return `${slug || "article"}.md`;
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
    toast("Markdown copied.");
  }

  function downloadArticle() {
    if (!current) return;
    const blob = new Blob([current.content], { type: "text/markdown;charset=utf-8" });
    const url = URL.createObjectURL(blob);
    const link = el("a", { href: url, download: fileName(current.title), class: "offscreen" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 1000);
  }

  // ---- start ---------------------------------------------------------------------------------
  function start() {
    $("titles").addEventListener("input", () => showValidation(false));
    $("category").addEventListener("input", () => showValidation(false));
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

  start();
})();
