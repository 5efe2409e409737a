// Hosted checkout: confirm the payment with a passkey, or create one first, on this page.
//
//   [data-checkout-passkey]      the passkey method (templates/payments/checkout/methods/_passkey.html):
//                                endpoint URLs and translated step texts as data-* attributes
//   [data-passkey-confirm]       "Confirm ¥128.00" (data-testid=payment-confirm)
//   [data-passkey-register]      "Create a passkey" (data-testid=passkey-register); then confirm
//   [data-checkout-email-code]   the email-code fallback, revealed where this device has no
//                                user-verifying platform authenticator or no WebAuthn at all
//
// A ceremony cancelled or refused on the device (NotAllowedError...) is reported to the
// server for the verification funnel; the payment stays awaiting confirmation and the
// button can be pressed again. The ceremonies are in webauthn.js (loaded before this).
(function () {
  "use strict";

  var root = document.querySelector("[data-checkout-passkey]");
  var fallback = document.querySelector("[data-checkout-email-code]");
  var W = window.PaydeskWebAuthn;

  function revealFallback() {
    if (fallback) {
      fallback.hidden = false;
    }
  }

  if (!root) {
    return;
  }
  if (!W || !W.isSupported()) {
    var unsupported = root.querySelector("[data-webauthn-unsupported]");
    if (unsupported) {
      unsupported.hidden = false;
    }
    root.querySelector("[data-step-text]").hidden = true;
    revealFallback();
    return;
  }

  var data = root.dataset;
  var texts = W.messagesFrom(root);
  var token = W.csrfToken(root);
  var stepText = root.querySelector("[data-step-text]");
  var errorBox = root.querySelector("[data-webauthn-error]");
  var registerButton = root.querySelector("[data-passkey-register]");
  var confirmButton = root.querySelector("[data-passkey-confirm]");
  var steps = root.querySelector("[data-passkey-steps]");
  var note = root.querySelector("[data-passkey-note]");
  // Server answers after which this page no longer tells the truth: show the real state.
  var RELOAD_CODES = ["payment_expired", "payment_not_confirmable", "not_authenticated"];

  function say(text) {
    if (text) {
      stepText.textContent = text;
    }
  }

  function setBusy(button, isBusy) {
    button.disabled = isBusy;
    if (isBusy) {
      root.setAttribute("aria-busy", "true");
    } else {
      root.removeAttribute("aria-busy");
    }
  }

  function markStep(name) {
    if (!steps) {
      return;
    }
    Array.prototype.forEach.call(steps.querySelectorAll("[data-step]"), function (item) {
      var isCurrent = item.dataset.step === name;
      item.classList.toggle("is-current", isCurrent);
      item.classList.toggle("is-done", !isCurrent && name === "confirm");
    });
  }

  // Tell the server about a ceremony that ended on the device; it never saw the answer.
  function report(attempt, error) {
    if (!attempt || !error || error instanceof W.ServerError) {
      return;
    }
    W.postJSON(data.reportUrl, { attempt: attempt, error: error.name || "Error" }, token).catch(
      function () {
        return null;
      }
    );
  }

  function failed(error, attempt, button) {
    if (error instanceof W.ServerError && RELOAD_CODES.indexOf(error.code) !== -1) {
      window.location.reload();
      return;
    }
    report(attempt, error);
    W.showError(errorBox, W.errorMessage(error, texts));
    say(data.msgStillWaiting);
    setBusy(button, false);
  }

  function confirm() {
    var attempt = null;
    W.clearError(errorBox);
    setBusy(confirmButton, true);
    W.postJSON(data.optionsUrl, {}, token)
      .then(function (options) {
        attempt = options.attempt;
        say(data.msgConfirmPrompt);
        return W.get(options.publicKey);
      })
      .then(function (credential) {
        say(data.msgChecking);
        return W.postJSON(data.verifyUrl, { credential: credential }, token);
      })
      .then(function (result) {
        say(data.msgConfirmed);
        window.location.assign(result.redirect);
      })
      .catch(function (error) {
        failed(error, attempt, confirmButton);
      });
  }

  function register() {
    var attempt = null;
    W.clearError(errorBox);
    setBusy(registerButton, true);
    W.postJSON(data.registerOptionsUrl, {}, token)
      .then(function (options) {
        attempt = options.attempt;
        say(data.msgRegisterPrompt);
        return W.create(options.publicKey);
      })
      .then(function (credential) {
        say(data.msgChecking);
        return W.postJSON(data.registerUrl, { credential: credential }, token);
      })
      .then(function () {
        setBusy(registerButton, false);
        registerButton.hidden = true;
        confirmButton.hidden = false;
        markStep("confirm");
        say(data.msgRegistered);
        confirmButton.focus();
      })
      .catch(function (error) {
        failed(error, attempt, registerButton);
      });
  }

  confirmButton.addEventListener("click", confirm);
  registerButton.addEventListener("click", register);
  if (data.hasPasskey === "true") {
    confirmButton.hidden = false;
  } else {
    registerButton.hidden = false;
  }

  var platformCheck = window.PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable
    ? window.PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable()
    : Promise.resolve(false);
  platformCheck
    .then(function (isAvailable) {
      if (!isAvailable) {
        note.textContent = data.msgNoPlatform;
        note.hidden = false;
        revealFallback();
      }
    })
    .catch(revealFallback);
})();
