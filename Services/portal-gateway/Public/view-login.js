// The login page.

import { login } from "./api.js";
import { h, icon, mount } from "./dom.js";

export function loginView(root, { message, onLogin }) {
  const error = h("p.form-error", { id: "login-error", role: "alert", hidden: !message || undefined }, message || "");
  const username = h("input", {
    id: "login-username", name: "username", type: "text", autocomplete: "username", required: true,
    inputmode: "email", autocapitalize: "none", spellcheck: "false", "aria-describedby": "login-error",
  });
  const password = h("input", {
    id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true,
  });
  const submit = h("button.btn.btn-primary", { type: "submit", id: "login-submit" }, "Log in");
  const form = h("form", { novalidate: true, "aria-labelledby": "login-title" },
    error,
    h("div.field", {}, h("label", { for: "login-username" }, "Username (e-mail)"), username),
    h("div.field", {}, h("label", { for: "login-password" }, "Password"), password),
    submit);
  form.addEventListener("submit", async event => {
    event.preventDefault();
    const missing = [[username, "a username"], [password, "a password"]].filter(([input]) => !input.value.trim());
    if (missing.length) {
      show(`Enter ${missing.map(([, what]) => what).join(" and ")}.`);
      missing[0][0].focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Logging in…";
    try {
      await login(username.value.trim(), password.value);
      await onLogin();
    } catch (failure) {
      show(failure.message);
      password.select();
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = "Log in";
    }
  });
  function show(text) {
    error.textContent = text;
    error.hidden = false;
  }
  mount(root,
    h("div.login-wrap", {},
      h("section.login", {},
        h("div.brand", {}, icon("logo", "brand-mark"), h("span", {}, "DTP")),
        h("h1", { id: "login-title" }, "Log in to the portal"),
        h("p.sub", {}, "Your digital twins, their data and their services, live."),
        form)));
  username.focus();
}
