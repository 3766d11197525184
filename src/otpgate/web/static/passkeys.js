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
  async function run(form, button) {
    var purpose = button.getAttribute("data-passkey");
    var body = new URLSearchParams();
    body.set("purpose", purpose === "discover" || purpose === "pin" ? "login" : purpose);
    body.set("csrf", field(form, "csrf"));
    if (purpose === "pin") body.set("username", field(form, "username"));
    if (purpose === "enrol") body.set("token", form.getAttribute("data-token") || "");
    var answer = await fetch(form.getAttribute("data-options"), {
      method: "POST", body: body, credentials: "same-origin"
    });
    if (!answer.ok) throw new Error("options " + answer.status);
    var got = await answer.json();
    var publicKey = decode(got.publicKey);
    var cred = purpose === "register" || purpose === "enrol"
      ? await navigator.credentials.create({ publicKey: publicKey })
      : await navigator.credentials.get({ publicKey: publicKey });
    form.elements.handle.value = got.handle;
    form.elements.credential.value = encode(cred);
    form.action = button.getAttribute("data-action") || form.action;
    form.submit();
  }
  document.querySelectorAll("[data-passkey]").forEach(function (button) {
    var form = button.form;
    button.disabled = false;
    var note = form.querySelector("[data-nojs]");
    if (note) note.hidden = true;
    button.addEventListener("click", function (event) {
      event.preventDefault();
      if (button.getAttribute("data-passkey") === "pin" && !field(form, "username")) {
        form.elements.username.focus();
        return;
      }
      button.disabled = true;
      run(form, button).catch(function () {
        button.disabled = false;
        say(form, button.getAttribute("data-failed") || "The passkey did not answer.");
      });
    });
  });
})();
