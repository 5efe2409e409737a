// Generic WebAuthn ceremony helpers, shared by passkey registration, passkey sign-in and
// payment confirmation. Loaded with `defer`; exposes `window.PaydeskWebAuthn`.
//
// The server sends options as JSON (binary fields base64url-encoded, the py_webauthn
// shape) from an endpoint, and takes the browser's answer back as JSON: see
// accounts/passkeys/views.py. A typical page:
//
//   PaydeskWebAuthn.ceremony({
//     kind: "get",                       // or "create"
//     optionsUrl: "/passkeys/sign-in/options/",
//     verifyUrl: "/passkeys/sign-in/verify/",
//     csrfToken: PaydeskWebAuthn.csrfToken(form),
//     extra: { next: "/payer/" },        // merged into the verify body
//   }).then(function (result) { window.location.assign(result.redirect); })
//     .catch(function (error) { PaydeskWebAuthn.showError(box, PaydeskWebAuthn.errorMessage(error, messages)); });
(function (global) {
  "use strict";

  // ------------------------------------------------------------ base64url

  function b64urlToBuffer(text) {
    var base64 = String(text).replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) {
      base64 += "=";
    }
    var binary = global.atob(base64);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i += 1) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function bufferToB64url(buffer) {
    if (!buffer) {
      return null;
    }
    var bytes = new Uint8Array(buffer instanceof ArrayBuffer ? buffer : buffer.buffer);
    var binary = "";
    for (var i = 0; i < bytes.length; i += 1) {
      binary += String.fromCharCode(bytes[i]);
    }
    return global.btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // ------------------------------------------------------------ options and answers

  function descriptors(list) {
    return (list || []).map(function (item) {
      var descriptor = { type: item.type || "public-key", id: b64urlToBuffer(item.id) };
      if (item.transports) {
        descriptor.transports = item.transports;
      }
      return descriptor;
    });
  }

  function creationOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = b64urlToBuffer(json.challenge);
    options.user = Object.assign({}, json.user, { id: b64urlToBuffer(json.user.id) });
    options.excludeCredentials = descriptors(json.excludeCredentials);
    return options;
  }

  function requestOptions(json) {
    var options = Object.assign({}, json);
    options.challenge = b64urlToBuffer(json.challenge);
    options.allowCredentials = descriptors(json.allowCredentials);
    return options;
  }

  function credentialToJSON(credential) {
    var response = credential.response;
    var json = {
      id: credential.id,
      rawId: bufferToB64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || null,
      clientExtensionResults: credential.getClientExtensionResults
        ? credential.getClientExtensionResults()
        : {},
      response: { clientDataJSON: bufferToB64url(response.clientDataJSON) },
    };
    if (response.attestationObject) {
      json.response.attestationObject = bufferToB64url(response.attestationObject);
      json.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      json.response.authenticatorData = bufferToB64url(response.authenticatorData);
      json.response.signature = bufferToB64url(response.signature);
      json.response.userHandle = bufferToB64url(response.userHandle);
    }
    return json;
  }

  // ------------------------------------------------------------ browser support

  function isSupported() {
    return Boolean(
      global.PublicKeyCredential && global.navigator.credentials && global.isSecureContext
    );
  }

  // Whether the browser can offer passkeys in a field's autofill (conditional mediation).
  function isConditionalMediationAvailable() {
    if (!isSupported() || !global.PublicKeyCredential.isConditionalMediationAvailable) {
      return Promise.resolve(false);
    }
    return global.PublicKeyCredential.isConditionalMediationAvailable().catch(function () {
      return false;
    });
  }

  // ------------------------------------------------------------ server calls

  function ServerError(status, body) {
    var error = (body && body.error) || {};
    this.name = "ServerError";
    this.status = status;
    this.code = error.code || "server_error";
    this.message = error.message || "";
    this.details = error.details || {};
  }
  ServerError.prototype = Object.create(Error.prototype);

  function csrfToken(root) {
    var input = (root || global.document).querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function postJSON(url, body, token) {
    return global
      .fetch(url, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": token || csrfToken(),
          "X-Requested-With": "XMLHttpRequest",
        },
        body: JSON.stringify(body || {}),
      })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return null;
          })
          .then(function (data) {
            if (!response.ok) {
              throw new ServerError(response.status, data);
            }
            return data || {};
          });
      });
  }

  // ------------------------------------------------------------ ceremonies

  function create(publicKeyJSON, signal) {
    var request = { publicKey: creationOptions(publicKeyJSON) };
    if (signal) {
      request.signal = signal;
    }
    return global.navigator.credentials.create(request).then(credentialToJSON);
  }

  // `mediation: "conditional"` waits for the person to pick a passkey from autofill.
  function get(publicKeyJSON, options) {
    var settings = options || {};
    var request = { publicKey: requestOptions(publicKeyJSON) };
    if (settings.mediation) {
      request.mediation = settings.mediation;
    }
    if (settings.signal) {
      request.signal = settings.signal;
    }
    return global.navigator.credentials.get(request).then(function (credential) {
      if (!credential) {
        throw new DOMException("No credential", "NotAllowedError");
      }
      return credentialToJSON(credential);
    });
  }

  // Fetch options, run the ceremony, post the answer; resolve with the server's reply.
  function ceremony(settings) {
    var token = settings.csrfToken || csrfToken();
    return postJSON(settings.optionsUrl, settings.optionsBody || {}, token).then(function (data) {
      var run =
        settings.kind === "create"
          ? create(data.publicKey, settings.signal)
          : get(data.publicKey, { mediation: settings.mediation, signal: settings.signal });
      return run.then(function (credential) {
        var body = Object.assign({}, settings.extra || {}, { credential: credential });
        return postJSON(settings.verifyUrl, body, token);
      });
    });
  }

  // ------------------------------------------------------------ errors

  // `messages` holds translated texts (from data-msg-* attributes of the page):
  // cancelled, exists, unsupported, network, generic.
  function errorMessage(error, messages) {
    var texts = messages || {};
    if (error instanceof ServerError) {
      return error.message || texts.generic || "";
    }
    var name = error && error.name;
    if (name === "NotAllowedError" || name === "AbortError") {
      return texts.cancelled || texts.generic || "";
    }
    if (name === "InvalidStateError") {
      return texts.exists || texts.generic || "";
    }
    if (name === "NotSupportedError" || name === "SecurityError") {
      return texts.unsupported || texts.generic || "";
    }
    if (name === "TypeError") {
      return texts.network || texts.generic || "";
    }
    return texts.generic || "";
  }

  function messagesFrom(element) {
    var data = (element && element.dataset) || {};
    return {
      cancelled: data.msgCancelled,
      exists: data.msgExists,
      unsupported: data.msgUnsupported,
      network: data.msgNetwork,
      generic: data.msgGeneric,
    };
  }

  function showError(box, message) {
    if (!box) {
      return;
    }
    box.textContent = message;
    box.hidden = !message;
  }

  function clearError(box) {
    showError(box, "");
  }

  global.PaydeskWebAuthn = {
    b64urlToBuffer: b64urlToBuffer,
    bufferToB64url: bufferToB64url,
    creationOptions: creationOptions,
    requestOptions: requestOptions,
    credentialToJSON: credentialToJSON,
    isSupported: isSupported,
    isConditionalMediationAvailable: isConditionalMediationAvailable,
    csrfToken: csrfToken,
    postJSON: postJSON,
    ServerError: ServerError,
    create: create,
    get: get,
    ceremony: ceremony,
    errorMessage: errorMessage,
    messagesFrom: messagesFrom,
    showError: showError,
    clearError: clearError,
  };
})(window);
