// otpgate: the little JavaScript passkeys need (navigator.credentials), nothing else.
// Served as a file from the gate ('self' in the CSP); every page works without it,
// only the passkey buttons then stay disabled and say they need JavaScript.
"use strict";
(function () {
  if (!window.PublicKeyCredential || !navigator.credentials) {
    return;
  }
  function bytes(text) {
    var s = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4));
    var out = new Uint8Array(s.length);
    for (var i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
    return out.buffer;
  }
  function text(buffer) {
    var b = new Uint8Array(buffer), s = "";
    for (var i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
    return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function decode(options) {
    options.challenge = bytes(options.challenge);
    if (options.user) options.user.id = bytes(options.user.id);
    ["allowCredentials", "excludeCredentials"].forEach(function (name) {
      (options[name] || []).forEach(function (c) { c.id = bytes(c.id); });
    });
    return options;
  }
  function encode(cred) {
    var r = cred.response, response = { clientDataJSON: text(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = text(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = text(r.authenticatorData);
      response.signature = text(r.signature);
      response.userHandle = r.userHandle ? text(r.userHandle) : null;
    }
    return JSON.stringify({
      id: cred.id, rawId: text(cred.rawId), type: cred.type, response: response,
      clientExtensionResults: cred.getClientExtensionResults(),
      authenticatorAttachment: cred.authenticatorAttachment || null
    });
  }
  function field(form, name) {
    var input = form.elements[name];
    return input ? input.value : "";
  }
  function say(form, message) {
    var out = form.querySelector("[data-passkey-status]");
    if (out) { out.textContent = message; out.hidden = false; }
  }
  // The challenge and options the gate makes for this form's purpose.
  async function options(form, button, purpose) {
    var body = new URLSearchParams();
    var login = purpose === "discover" || purpose === "pin" || purpose === "conditional";
    body.set("purpose", login ? "login" : purpose);
    body.set("csrf", field(form, "csrf"));
    if (purpose === "pin") body.set("username", field(form, "username"));
    if (purpose === "enrol") body.set("token", form.getAttribute("data-token") || "");
    var url = button.getAttribute("data-options") || form.getAttribute("data-options");
    var answer = await fetch(url, { method: "POST", body: body, credentials: "same-origin" });
    if (!answer.ok) throw new Error("options " + answer.status);
    var got = await answer.json();
    got.publicKey = decode(got.publicKey);
    return got;
  }
  function send(form, button, handle, cred) {
    form.elements.handle.value = handle;
    form.elements.credential.value = encode(cred);
    form.action = button.getAttribute("data-action") || form.action;
    form.submit();
  }
  // A step-up: the PIN and a passkey stand for the PIN and a code.  Adding a
  // passkey goes on to register it; any other form is sent as it is.
  async function stepUp(form, button) {
    var got = await options(form, button, "step-up");
    var cred = await navigator.credentials.get({ publicKey: got.publicKey });
    form.elements.step_handle.value = got.handle;
    form.elements.step_credential.value = encode(cred);
    var register = form.querySelector('[data-passkey="register"]');
    if (register) return run(form, register);
    if (form.elements.code) form.elements.code.required = false;
    button.disabled = false;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }
  async function run(form, button) {
    var purpose = button.getAttribute("data-passkey");
    if (purpose === "step-up") return stepUp(form, button);
    var got = await options(form, button, purpose);
    var cred = purpose === "register" || purpose === "enrol"
      ? await navigator.credentials.create({ publicKey: got.publicKey })
      : await navigator.credentials.get({ publicKey: got.publicKey });
    send(form, button, got.handle, cred);
  }
  // Conditional mediation (/login): the browser offers the user's passkeys in
  // the user name field's autofill list; picking one signs in as the button does.
  var pending = null;
  async function conditional(button) {
    var check = window.PublicKeyCredential.isConditionalMediationAvailable;
    if (!check || !(await check.call(window.PublicKeyCredential))) return;
    var form = button.form, controller = new AbortController();
    pending = { controller: controller };
    var got = await options(form, button, "conditional");
    if (controller.signal.aborted) return;
    var cred = await navigator.credentials.get({
      publicKey: got.publicKey, mediation: "conditional", signal: controller.signal
    });
    pending = null;
    send(form, button, got.handle, cred);
  }
  var waiting = Promise.resolve();
  // An explicit request first ends the conditional one (only one may be open).
  async function quiet() {
    if (pending) { pending.controller.abort(); pending = null; }
    await waiting;
  }
  function needs(form, button) {
    var kind = button.getAttribute("data-passkey"), name = null;
    if (kind === "pin") name = "username";
    if (kind === "step-up") name = "pin";
    if (name && form.elements[name] && !form.elements[name].value) return form.elements[name];
    return null;
  }
  document.querySelectorAll("[data-passkey]").forEach(function (button) {
    var form = button.form;
    button.disabled = false;
    form.querySelectorAll("[data-nojs]").forEach(function (note) { note.hidden = true; });
    button.addEventListener("click", function (event) {
      event.preventDefault();
      var missing = needs(form, button);
      if (missing) { missing.focus(); return; }
      button.disabled = true;
      quiet().then(function () { return run(form, button); }).catch(function () {
        button.disabled = false;
        say(form, button.getAttribute("data-failed") || "The passkey did not answer.");
      });
    });
  });
  var discover = document.querySelector('[data-passkey="discover"]');
  if (discover && document.querySelector('input[autocomplete~="webauthn"]')) {
    // Aborted (the button was pressed) or refused: the buttons still work.
    waiting = conditional(discover).catch(function () { pending = null; });
  }
})();
