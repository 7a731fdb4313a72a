// Accounts on the page: the login form (shown when the API answers 401), who is signed in and
// logout in the header, buttons shown by role (an editor sees no approve/reject/publish; only
// admins see the Accounts tab), and the admin section for users and tokens. The server checks
// every permission again: hiding a button is a courtesy, not the protection.
// Loaded after app.js; it uses window.TA and registers window.TAAccounts for app.js's 401 hook.
"use strict";

(() => {
  const I18N = window.I18N;
  const t = I18N.t;
  const TA = window.TA;
  const el = TA.el;
  const $ = (id) => document.getElementById(id);
  const CAN_REVIEW = new Set(["reviewer", "admin"]);
  const CAN_SUBMIT = new Set(["editor", "reviewer", "admin"]);
  let me = null;

  // ---- signing in ----------------------------------------------------------------------------
  let pending = null;

  function loginError(key, params) {
    const box = $("login-error");
    box.hidden = !key;
    I18N.bind(box, key, params);
  }

  // Resolves once a session exists (or a token was given instead); app.js then retries.
  function signIn() {
    if (pending) return pending;
    const dialog = $("login-dialog");
    loginError(null);
    $("login-password").value = "";
    pending = new Promise((resolve) => {
      const done = () => {
        $("login-form").removeEventListener("submit", onSubmit);
        $("login-use-token").removeEventListener("click", useToken);
        dialog.close();
        pending = null;
        resolve();
      };
      const onSubmit = async (event) => {
        event.preventDefault();
        const name = $("login-name").value.trim();
        const password = $("login-password").value;
        if (!name || !password) { loginError("accounts.needBoth"); return; }
        $("login-submit").disabled = true;
        try {
          const response = await fetch("/api/login", {
            method: "POST",
            headers: { "Content-Type": "application/json", Accept: "application/json" },
            body: JSON.stringify({ name, password }),
          });
          if (response.ok) { show(await response.json()); done(); return; }
          if (response.status === 401) loginError("accounts.wrong");
          else if (response.status === 429) {
            loginError("accounts.locked", { seconds: Number(response.headers.get("Retry-After")) || 60 });
          } else {
            const data = await response.json().catch(() => ({}));
            loginError("accounts.failed", { detail: data.detail || response.status });
          }
        } catch (_) {
          loginError("accounts.unreachable");
        } finally {
          $("login-submit").disabled = false;
        }
      };
      const useToken = () => { dialog.close(); TA.askToken(false).then(done); };
      $("login-form").addEventListener("submit", onSubmit);
      $("login-use-token").addEventListener("click", useToken);
    });
    if (!dialog.open) dialog.showModal();
    $("login-name").focus();
    return pending;
  }

  async function logout() {
    try { await TA.api("/api/logout", { method: "POST" }); } catch (_) { /* gone already */ }
    localStorage.removeItem("trustagency.apiToken");
    location.reload();
  }

  // ---- who am I, and what the page offers them -------------------------------------------------
  function setHidden(id, hidden) {
    const node = $(id);
    if (node) node.hidden = hidden;
  }

  function show(who) {
    me = who;
    const label = $("whoami");
    I18N.bind(label, "accounts.whoami", { name: who.display_name || who.name,
      role: t(`role.${who.role}`) });
    label.title = who.name;
    label.hidden = false;
    $("logout-button").hidden = who.via === "anonymous";
    document.body.dataset.role = who.role;
    const review = !CAN_REVIEW.has(who.role);
    for (const id of ["approve-article", "reject-article", "publish-article"]) setHidden(id, review);
    const submit = !CAN_SUBMIT.has(who.role);
    for (const id of ["generate-form", "compose-title", "edit-article", "regenerate-toggle"]) {
      setHidden(id, submit);
    }
    // Batches are owned by who submits them (admins may name another user); the reviewer
    // recorded is the signed-in user: the free-text fields would only mislead.
    const owner = $("owner") && $("owner").closest(".field");
    if (owner) owner.hidden = who.role !== "admin" && who.via !== "anonymous";
    const reviewer = $("reviewer-name") && $("reviewer-name").closest(".field");
    if (reviewer) reviewer.hidden = true;
    $("tab-accounts").hidden = who.role !== "admin";
  }

  // ---- the admin section: users and tokens ---------------------------------------------------
  function when(iso) { return iso ? t("accounts.date", { when: { $date: iso } }) : t("accounts.never"); }

  async function loadUsers() {
    const data = await TA.api("/api/users?limit=500");
    const rows = data.items.map((u) => {
      const role = el("select", { "aria-label": t("accounts.role"),
        onchange: () => patchUser(u.name, { role: role.value }) });
      for (const r of ["viewer", "editor", "reviewer", "admin"]) {
        role.append(el("option", { value: r, text: t(`role.${r}`), selected: r === u.role }));
      }
      const toggle = el("button", { type: "button", class: u.disabled ? "" : "danger",
        text: t(u.disabled ? "accounts.enable" : "accounts.disable"),
        onclick: () => patchUser(u.name, { disabled: !u.disabled }) });
      return el("tr", { "data-user": u.name }, el("td", { text: u.name }),
        el("td", { text: u.display_name || "" }), el("td", {}, role),
        el("td", { text: t(u.disabled ? "accounts.disabled" : "accounts.active") }),
        el("td", {}, toggle));
    });
    $("users-body").replaceChildren(...rows);
  }

  async function patchUser(name, change) {
    try {
      await TA.api(`/api/users/${encodeURIComponent(name)}`, { method: "PATCH", json: change });
      TA.toast(t("accounts.saved"));
    } catch (err) { TA.toast(err.message, "bad"); }
    loadUsers().catch((err) => TA.toast(err.message, "bad"));
  }

  async function createUser(event) {
    event.preventDefault();
    const body = { name: $("user-name").value.trim(), role: $("user-role").value,
      display_name: $("user-display").value.trim() || null,
      password: $("user-password").value || null };
    try {
      await TA.api("/api/users", { method: "POST", json: body });
      $("user-form").reset();
      TA.toast(t("accounts.created", { name: body.name }));
      await loadUsers();
    } catch (err) { TA.toast(err.message, "bad"); }
  }

  function tokensQuery() {
    const user = $("tokens-user").value.trim();
    return user ? `?user=${encodeURIComponent(user)}` : "";
  }

  async function loadTokens() {
    const data = await TA.api(`/api/tokens${tokensQuery()}`);
    const rows = data.items.map((tok) => el("tr", {},
      el("td", {}, el("code", { text: `${tok.prefix}…` })), el("td", { text: tok.name }),
      el("td", { text: when(tok.expires_at) }), el("td", { text: when(tok.last_used_at) }),
      el("td", { text: t(tok.live ? "accounts.live" : "accounts.revoked") }),
      el("td", {}, tok.live ? el("button", { type: "button", class: "danger",
        text: t("accounts.revoke"), onclick: () => revokeToken(tok.id) }) : null)));
    $("tokens-body").replaceChildren(...rows);
  }

  async function createToken(event) {
    event.preventDefault();
    const days = Number($("token-days").value) || 90;
    try {
      const made = await TA.api(`/api/tokens${tokensQuery()}`, { method: "POST",
        json: { name: $("token-name").value.trim(), expires_in_days: days } });
      const box = $("new-token");
      I18N.bind(box, "accounts.newToken", { token: made.token });
      box.hidden = false;
      await loadTokens();
    } catch (err) { TA.toast(err.message, "bad"); }
  }

  async function revokeToken(id) {
    try {
      await TA.api(`/api/tokens/${id}${tokensQuery()}`, { method: "DELETE" });
      await loadTokens();
    } catch (err) { TA.toast(err.message, "bad"); }
  }

  function openAdmin() {
    loadUsers().catch((err) => TA.toast(err.message, "bad"));
    loadTokens().catch((err) => TA.toast(err.message, "bad"));
  }

  function start() {
    $("login-dialog").addEventListener("cancel", (e) => e.preventDefault()); // it is needed
    $("logout-button").addEventListener("click", logout);
    $("tab-accounts").addEventListener("click", openAdmin);
    $("user-form").addEventListener("submit", createUser);
    $("tokens-filter").addEventListener("submit", createToken);
    $("tokens-show").addEventListener("click", () => loadTokens().catch((e) => TA.toast(e.message, "bad")));
    I18N.onChange(() => { if (me) show(me); });
    TA.api("/api/me").then(show).catch(() => {});
  }

  window.TAAccounts = Object.freeze({ signIn, get me() { return me; } });
  start();
})();
