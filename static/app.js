// Progressive enhancement only: every page works without this file.
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source || !navigator.clipboard) return;
  navigator.clipboard.writeText(source.innerText.trim()).then(() => {
    button.textContent = "Copied";
  });
});

// WebAuthn: the browser demands JavaScript for security keys. Options arrive as JSON with
// base64url strings; the browser wants ArrayBuffers, and the server wants base64url back.
const b64uToBuf = (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(s.length / 4) * 4, "=")), (c) => c.charCodeAt(0)).buffer;
const bufToB64u = (b) => btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");

function creationOptions(json) {
  const pk = json.publicKey;
  pk.challenge = b64uToBuf(pk.challenge);
  pk.user.id = b64uToBuf(pk.user.id);
  (pk.excludeCredentials || []).forEach((c) => { c.id = b64uToBuf(c.id); });
  return { publicKey: pk };
}

function requestOptions(json) {
  const pk = json.publicKey;
  pk.challenge = b64uToBuf(pk.challenge);
  (pk.allowCredentials || []).forEach((c) => { c.id = b64uToBuf(c.id); });
  return { publicKey: pk };
}

function credentialJson(cred) {
  const r = cred.response;
  const response = { clientDataJSON: bufToB64u(r.clientDataJSON) };
  if (r.attestationObject) response.attestationObject = bufToB64u(r.attestationObject);
  if (r.authenticatorData) response.authenticatorData = bufToB64u(r.authenticatorData);
  if (r.signature) response.signature = bufToB64u(r.signature);
  if (r.userHandle) response.userHandle = bufToB64u(r.userHandle);
  return { id: cred.id, rawId: bufToB64u(cred.rawId), type: cred.type, response, extensions: cred.getClientExtensionResults() };
}

async function postJson(url, body) {
  const r = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body), credentials: "same-origin" });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.message || `request failed (${r.status})`);
  return data;
}

document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (form.id === "add-key") {
    event.preventDefault();
    const status = document.getElementById("key-status");
    const passkey = event.submitter && event.submitter.value === "passkey";
    try {
      let name = form.elements.name.value;
      if (passkey && name === "Security key") name = "Passkey";
      const start = await postJson("/api/v1/me/2fa/webauthn/register/start", { name, passkey });
      const cred = await navigator.credentials.create(creationOptions(start.options));
      // The server finishes it and shows any first backup codes on the page it answers:
      // they never pass through the browser's storage.
      const finish = document.getElementById("finish-key");
      finish.elements.challenge_id.value = start.challenge_id;
      finish.elements.credential.value = JSON.stringify(credentialJson(cred));
      finish.submit();
    } catch (e) {
      status.textContent = `Could not add the ${passkey ? "passkey" : "key"}: ${e.message}`;
    }
  }
  // Re-authentication and step-up: the session proves one of its account's keys again.
  if (form.id === "reauth-passkey" || form.id === "step-up-key") {
    event.preventDefault();
    try {
      const start = await postJson("/api/v1/auth/reauth/passkey/start", {});
      const cred = await navigator.credentials.get(requestOptions(start.options));
      form.elements.challenge_id.value = start.challenge_id;
      form.elements.credential.value = JSON.stringify(credentialJson(cred));
      form.submit();
    } catch (e) {
      document.getElementById(`${form.id}-status`).textContent = `The key did not answer: ${e.message}`;
    }
  }
  if (form.id === "reset-form" && form.dataset.key && !(form.elements.code && form.elements.code.value.trim())) {
    event.preventDefault();
    try {
      const start = await postJson("/api/v1/auth/password/reset/webauthn", { token: form.elements.token.value });
      const cred = await navigator.credentials.get(requestOptions(start.options));
      form.elements.challenge_id.value = start.challenge_id;
      form.elements.credential.value = JSON.stringify(credentialJson(cred));
      form.submit();
    } catch (e) {
      document.getElementById("reset-key-status").textContent = `The security key did not answer: ${e.message}`;
    }
  }
  if (form.id === "use-key") {
    event.preventDefault();
    const options = JSON.parse(document.getElementById("webauthn-options").textContent);
    try {
      const cred = await navigator.credentials.get(requestOptions(options));
      form.elements.credential.value = JSON.stringify(credentialJson(cred));
      form.submit();
    } catch (e) {
      document.getElementById("key-status").textContent = `The security key did not answer: ${e.message}`;
    }
  }
});

// Passkey sign-in: the button, and the browser's autofill (a conditional request started
// on load, answered when a passkey is picked from the Email field's suggestions).
async function passkeySignIn(mediation, signal) {
  const start = await postJson("/api/v1/auth/passkey/start", {});
  const request = requestOptions(start.options);
  if (mediation) request.mediation = mediation;
  if (signal) request.signal = signal;
  const cred = await navigator.credentials.get(request);
  const form = document.getElementById("passkey-form");
  const remember = document.querySelector('input[type="checkbox"][name="remember_device"]');
  form.elements.challenge_id.value = start.challenge_id;
  form.elements.credential.value = JSON.stringify(credentialJson(cred));
  form.elements.remember_device.value = remember && remember.checked ? "on" : "";
  form.submit();
}

function setUpPasskeySignIn() {
  const box = document.getElementById("passkey-sign-in");
  if (!box || !window.PublicKeyCredential) return;
  box.hidden = false;
  const status = document.getElementById("passkey-status");
  let autofill = null;
  if (PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
      if (!available) return;
      autofill = new AbortController();
      passkeySignIn("conditional", autofill.signal).catch(() => {});
    });
  }
  document.getElementById("passkey-button").addEventListener("click", () => {
    if (autofill) autofill.abort();
    status.textContent = "";
    passkeySignIn().catch((e) => {
      status.textContent = `The passkey did not answer: ${e.message}`;
    });
  });
}

// A passkey was removed: ask the browser's password manager to stop offering it.
function signalRemovedPasskey() {
  const gone = document.getElementById("forget-credential");
  if (!gone || !window.PublicKeyCredential || !PublicKeyCredential.signalUnknownCredential) return;
  PublicKeyCredential.signalUnknownCredential({ rpId: gone.dataset.rpId, credentialId: gone.dataset.credentialId }).catch(() => {});
}

document.addEventListener("DOMContentLoaded", () => {
  setUpPasskeySignIn();
  signalRemovedPasskey();
});
