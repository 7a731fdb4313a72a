// The category profiles section: list them, edit one (PATCH /api/profiles/{category}: a
// category without a stored profile gets one, its version bumped on every change), or put a
// stored one back to its default (DELETE). Uses app.js's api/toast/el (window.TA) and every
// word comes from i18n.js. Text from the API goes in through textContent and input values only.
"use strict";

(() => {
  const { api, toast, el } = window.TA;
  const I18N = window.I18N;
  const t = I18N.t;
  const $ = (id) => document.getElementById(id);
  const NUMBERS = ["min_words", "max_words", "min_chars", "max_chars", "min_sections", "duplicate_threshold"];
  let profiles = [];
  let editing = null; // the profile being edited, or {category: null} for a new one
  let loaded = false;

  const path = (category) => `/api/profiles/${encodeURIComponent(category)}`;
  const range = (low, high) => t("profiles.range", { low, high });

  async function load() {
    const page = await api("/api/profiles");
    profiles = page.items;
    loaded = true;
    renderRows();
  }

  function renderRows() {
    const rows = profiles.map((p) => el("tr", { "data-category": p.category },
      el("td", { class: "title", text: p.category }),
      el("td", { text: p.builtin ? t("profiles.builtin") : t("profiles.stored", { version: p.version }) }),
      el("td", { text: range(p.min_words, p.max_words) }),
      el("td", { text: range(p.min_chars, p.max_chars) }),
      el("td", { class: "num", text: I18N.number(p.min_sections) }),
      el("td", { text: p.model || t("profiles.modelDefault") }),
      el("td", { class: "action" }, el("button", { type: "button", class: "link edit",
        text: t("profiles.edit"), onclick: () => openForm(p) }))));
    $("profiles-rows").replaceChildren(...rows);
  }

  function openForm(profile) {
    const base = profile || profiles.find((p) => p.category === "default") || {};
    editing = profile || { ...base, category: null, builtin: true };
    I18N.bind($("profile-form-title"), profile ? "profiles.editing" : "profiles.creating",
      profile ? { category: profile.category } : {});
    $("profile-category").value = profile ? profile.category : "";
    $("profile-category").readOnly = Boolean(profile);
    $("profile-instructions").value = base.instructions || "";
    $("profile-model").value = base.model || "";
    $("profile-temperature").value = base.temperature === null || base.temperature === undefined ? "" : base.temperature;
    for (const name of NUMBERS) $(`profile-${name}`).value = base[name] === undefined ? "" : base[name];
    $("profile-reset").hidden = !profile || profile.builtin;
    $("profile-errors").replaceChildren();
    $("profile-form").hidden = false;
    (profile ? $("profile-instructions") : $("profile-category")).focus();
  }

  function closeForm() {
    editing = null;
    $("profile-form").hidden = true;
  }

  function changes() { // only what differs from the profile the form started from
    const out = {};
    const instructions = $("profile-instructions").value.trim();
    if (instructions !== (editing.instructions || "")) out.instructions = instructions;
    for (const name of NUMBERS) {
      const raw = $(`profile-${name}`).value.trim();
      if (raw !== "" && Number(raw) !== editing[name]) out[name] = Number(raw);
    }
    const model = $("profile-model").value.trim() || null;
    if (model !== (editing.model || null)) out.model = model;
    const rawTemperature = $("profile-temperature").value.trim();
    const temperature = rawTemperature === "" ? null : Number(rawTemperature);
    if (temperature !== (editing.temperature ?? null)) out.temperature = temperature;
    return out;
  }

  async function save(event) {
    event.preventDefault();
    const category = (editing.category || $("profile-category").value).trim().toLowerCase();
    const body = changes();
    if (editing.category && Object.keys(body).length === 0) { closeForm(); return; }
    if (!editing.category && Object.keys(body).length === 0) body.instructions = editing.instructions;
    $("profile-save").disabled = true;
    try {
      const saved = await api(path(category), { method: "PATCH", json: body });
      toast(t("profiles.saved", { category: saved.category, version: saved.version }));
      closeForm();
      await load();
    } catch (err) {
      window.TA.showErrors($("profile-errors"), err);
    } finally {
      $("profile-save").disabled = false;
    }
  }

  async function reset() {
    const category = editing && editing.category;
    if (!category) return;
    try {
      await api(path(category), { method: "DELETE", raw: true });
      toast(t("profiles.removed", { category }));
      closeForm();
      await load();
    } catch (err) {
      toast(err.message, "bad");
    }
  }

  function toggle() {
    const body = $("profiles-body");
    body.hidden = !body.hidden;
    $("profiles-toggle").setAttribute("aria-expanded", String(!body.hidden));
    I18N.bind($("profiles-toggle"), body.hidden ? "profiles.show" : "profiles.hide");
    if (!body.hidden && !loaded) load().catch((err) => toast(err.message, "bad"));
  }

  $("profiles-toggle").addEventListener("click", toggle);
  $("profile-form").addEventListener("submit", save);
  $("profile-cancel").addEventListener("click", closeForm);
  $("profile-reset").addEventListener("click", reset);
  $("profile-new").addEventListener("click", () => openForm(null));
  I18N.onChange(() => { if (loaded) renderRows(); });
})();
