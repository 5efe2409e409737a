// Passkey pages: create a passkey, sign in with one (button or the email field's
// autofill). The ceremonies themselves are in webauthn.js, loaded before this file.
// Translated messages come from the page's data-msg-* attributes.
(function () {
  "use strict";

  var W = window.PaydeskWebAuthn;
  if (!W) {
    return;
  }

  function revealUnsupported(root) {
    var note = root.querySelector("[data-webauthn-unsupported]");
    if (note) {
      note.hidden = false;
    }
  }

  // ------------------------------------------------------------ registration

  function wireRegistration(form) {
    if (!W.isSupported()) {
      revealUnsupported(form.parentElement || form);
      return;
    }
    var button = form.querySelector("button[type=submit]");
    var errorBox = form.querySelector("[data-webauthn-error]");
    var nameInput = form.querySelector("input[name=name]");
    var texts = W.messagesFrom(form);
    form.hidden = false;

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      W.clearError(errorBox);
      button.disabled = true;
      form.setAttribute("aria-busy", "true");
      W.ceremony({
        kind: "create",
        optionsUrl: form.dataset.optionsUrl,
        verifyUrl: form.dataset.verifyUrl,
        csrfToken: W.csrfToken(form),
        extra: { name: nameInput ? nameInput.value : "", next: form.dataset.next || "" },
      })
        .then(function (result) {
          window.location.assign(result.redirect);
        })
        .catch(function (error) {
          W.showError(errorBox, W.errorMessage(error, texts));
          button.disabled = false;
          form.removeAttribute("aria-busy");
        });
    });
  }

  // ------------------------------------------------------------ sign-in

  function wireSignIn(root) {
    var button = root.querySelector("[data-passkey-sign-in-button]");
    var errorBox = root.querySelector("[data-webauthn-error]");
    var texts = W.messagesFrom(root);
    if (!W.isSupported()) {
      revealUnsupported(root);
      return;
    }
    var settings = {
      kind: "get",
      optionsUrl: root.dataset.optionsUrl,
      verifyUrl: root.dataset.verifyUrl,
      csrfToken: W.csrfToken(root),
      extra: { next: root.dataset.next || "" },
    };
    var conditional = null; // { controller, done } while an autofill request waits
    var conditionalAvailable = false;
    var modalPending = false;
    var restarts = 0;

    function signedIn(result) {
      window.location.assign(result.redirect);
    }

    function startConditional() {
      var controller = new AbortController();
      var done = W.ceremony(
        Object.assign({}, settings, { mediation: "conditional", signal: controller.signal })
      )
        .then(signedIn)
        .catch(function (error) {
          if (controller.signal.aborted) {
            return; // the button took over
          }
          W.showError(errorBox, W.errorMessage(error, texts));
          // Offer autofill again (a new challenge), but do not spin on a broken setup.
          if (restarts < 3) {
            restarts += 1;
            startConditional();
          }
        });
      conditional = { controller: controller, done: done };
    }

    if (button) {
      button.hidden = false;
      button.addEventListener("click", function () {
        W.clearError(errorBox);
        button.disabled = true;
        modalPending = true;
        var previous = Promise.resolve();
        if (conditional) {
          // Only one WebAuthn request may be pending; let the autofill one settle first
          // so that its challenge cannot replace the button's in the session.
          conditional.controller.abort();
          previous = conditional.done;
          conditional = null;
        }
        previous
          .catch(function () {})
          .then(function () {
            return W.ceremony(settings);
          })
          .then(signedIn)
          .catch(function (error) {
            W.showError(errorBox, W.errorMessage(error, texts));
            button.disabled = false;
            modalPending = false;
            if (conditionalAvailable) {
              startConditional();
            }
          });
      });
    }

    W.isConditionalMediationAvailable().then(function (available) {
      conditionalAvailable =
        available && Boolean(root.querySelector("input[autocomplete~=webauthn]"));
      if (conditionalAvailable && !conditional && !modalPending) {
        startConditional();
      }
    });
  }

  document.querySelectorAll("form[data-passkey-register]").forEach(wireRegistration);
  document.querySelectorAll("[data-passkey-sign-in]").forEach(wireSignIn);
})();
