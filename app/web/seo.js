// The reader's SEO panel and publishing: the article's slug, SEO title, meta description,
// excerpt and tags with a search-result preview and character counters (the targets differ
// for English and Chinese), saved as a new version with the version it edited (If-Match);
// publish at a time given in the editor's own zone and sent as UTC, and unpublish. It listens
// to app.js's "ta:article" event like reader.js; text from the API goes in through textContent.
"use strict";

(() => {
  const I18N = window.I18N;
  const t = I18N.t;
  const { api, toast } = window.TA;
  const $ = (id) => document.getElementById(id);
  // What search engines show (app/articles/seo.py META_TARGET): [low, high] characters.
  const TARGETS = {
    words: { title: [30, 60], meta: [150, 160] },
    characters: { title: [15, 30], meta: [70, 80] },
  };
  const FIELDS = ["slug", "seo_title", "meta_description", "excerpt", "tags"];
  const INPUTS = { slug: "seo-slug", seo_title: "seo-title", meta_description: "seo-meta",
    excerpt: "seo-excerpt", tags: "seo-tags" };

  let article = null;

  const unit = () => (/^(zh|ja|ko)\b/i.test(article?.language || "") ? "characters" : "words");
  const tagsOf = (text) => text.split(/[,，、]/).map((s) => s.trim()).filter(Boolean);

  function valueOf(field) {
    const raw = $(INPUTS[field]).value;
    return field === "tags" ? tagsOf(raw) : raw.trim();
  }

  function count(inputId, outputId, [low, high]) {
    const length = [...$(inputId).value.trim()].length;
    const out = $(outputId);
    out.textContent = t("seo.count", { length, low, high });
    out.className = `counter ${length === 0 || length > high ? "bad" : length < low ? "warn" : "ok"}`;
  }

  function preview() {
    if (!article) return;
    const target = TARGETS[unit()];
    count("seo-title", "seo-title-count", target.title);
    count("seo-meta", "seo-meta-count", target.meta);
    const slug = valueOf("slug") || "…";
    $("seo-preview-url").textContent = `${location.host} › ${slug}`;
    $("seo-preview-title").textContent = valueOf("seo_title") || article.title;
    $("seo-preview-description").textContent = valueOf("meta_description");
  }

  function localInput(date) { // a Date as the datetime-local input's value, in this zone
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T` +
      `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  }

  function showPublishing() {
    const a = article;
    const parts = [];
    if (a.published_version) parts.push(t("publish.live", { version: a.published_version }));
    if (a.published_version && a.version !== a.published_version) parts.push(t("publish.waiting"));
    if (a.publish_at) parts.push(t("publish.scheduledFor", { date: { $date: a.publish_at } }));
    if (!parts.length) parts.push(t("publish.notLive"));
    $("publish-state").textContent = parts.join(" · ");
    $("schedule-zone").textContent = `(${Intl.DateTimeFormat().resolvedOptions().timeZone})`;
    $("schedule-article").disabled = !["approved", "scheduled"].includes(a.status);
    $("unpublish-article").disabled = !a.published_version && a.status !== "scheduled";
    if (!$("schedule-at").value) {
      $("schedule-at").value = localInput(new Date(Date.now() + 60 * 60 * 1000));
    }
  }

  function shown(event) {
    const previous = article;
    article = event.detail.article;
    if (!previous || previous.id !== article.id || previous.version !== article.version) {
      for (const field of FIELDS) {
        const value = article[field];
        $(INPUTS[field]).value = Array.isArray(value) ? value.join(", ") : value || "";
      }
      $("seo-error").hidden = true;
    }
    const flags = $("seo-flags");
    flags.replaceChildren(...(article.seo_flags || []).map((flag) => {
      const item = document.createElement("li");
      item.textContent = t("seo.derived", { field: flag.name.replace(/^seo\./, "") });
      return item;
    }));
    preview();
    showPublishing();
  }

  async function act(path, body, toastKey) {
    try {
      await api(`/api/articles/${article.id}/${path}`, { method: "POST", json: body });
      toast(t(toastKey));
    } catch (err) {
      toast(err.message, "bad");
    } finally {
      await window.TA.openArticle(article.id);
    }
  }

  async function save(event) {
    event.preventDefault();
    const body = {};
    for (const field of FIELDS) {
      const value = valueOf(field);
      const before = article[field];
      const same = Array.isArray(value) ? JSON.stringify(value) === JSON.stringify(before || [])
        : value === (before || "");
      if (!same && (value.length || field === "tags")) body[field] = value;
    }
    if (!Object.keys(body).length) { toast(t("seo.nothing")); return; }
    $("seo-save").disabled = true;
    try {
      await api(`/api/articles/${article.id}`, { method: "PATCH", json: body,
        headers: { "If-Match": `"${article.version}"` } });
      $("seo-error").hidden = true;
      toast(t("seo.saved"));
      await window.TA.openArticle(article.id);
    } catch (err) {
      $("seo-error").hidden = false;
      $("seo-error").textContent = err.message;
    } finally {
      $("seo-save").disabled = false;
    }
  }

  function schedule() {
    const value = $("schedule-at").value;
    const when = value ? new Date(value) : null; // read in the editor's zone
    if (!when || Number.isNaN(when.getTime())) { toast(t("publish.badTime"), "bad"); return; }
    act("schedule", { version: article.version, publish_at: when.toISOString() },
      "publish.scheduledToast");
  }

  function start() {
    document.addEventListener("ta:article", shown);
    for (const id of Object.values(INPUTS)) $(id).addEventListener("input", preview);
    $("seo-form").addEventListener("submit", save);
    $("schedule-article").addEventListener("click", schedule);
    $("unpublish-article").addEventListener("click",
      () => act("unpublish", {}, "publish.unpublishedToast"));
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
