/*
 * Developers page: copy a one-time secret (API key or webhook signing secret).
 *
 *   data-copy-secret="#id"   on a button: copies the text of #id. Uses the Clipboard API
 *                            where the page is a secure context, and falls back to
 *                            selecting the text and execCommand("copy") elsewhere (e.g. a
 *                            portal opened over plain http on a LAN address).
 *   data-secret-value        on the element holding the secret: a click selects all of it.
 *
 * No inline script anywhere: the CSP forbids it.
 */
(function () {
  "use strict";

  function selectText(element) {
    var range = document.createRange();
    range.selectNodeContents(element);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function flash(button, label) {
    if (!label) return;
    if (!button.dataset.originalLabel) button.dataset.originalLabel = button.textContent;
    button.textContent = label;
    window.clearTimeout(button._flashTimer);
    button._flashTimer = window.setTimeout(function () {
      button.textContent = button.dataset.originalLabel;
    }, 1800);
  }

  function copyByExecCommand(element) {
    selectText(element);
    try {
      return document.execCommand("copy");
    } catch (error) {
      return false;
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-secret]");
    if (button) {
      var target = document.querySelector(button.getAttribute("data-copy-secret"));
      if (!target) return;
      var text = target.textContent.trim();
      var copied = function () {
        button.dataset.copied = "true";
        flash(button, button.getAttribute("data-copied-label"));
      };
      var failed = function () {
        if (copyByExecCommand(target)) {
          copied();
        } else {
          selectText(target);
          flash(button, button.getAttribute("data-failed-label"));
        }
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(copied, failed);
      } else {
        failed();
      }
      return;
    }
    var value = event.target.closest("[data-secret-value]");
    if (value) selectText(value);
  });
})();
