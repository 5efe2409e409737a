/*
 * Paydesk progressive enhancements. Every page works without this file; it only makes
 * things nicer. No inline JS anywhere (CSP): pages add behaviour with data attributes.
 *
 *   data-dismiss            on a button inside [data-dismissable]: removes that element
 *   data-dropdown           on <details>: closes on outside click and Escape
 *   data-nav-toggle         the phone menu button (a <label> for #nav-toggle)
 *   data-autosubmit         on a <select>/<input>: submits its form on change
 *   data-copy="#selector"   on a button: copies the text of the target to the clipboard
 *   data-confirm="message"  on a form or submit button: asks before submitting
 *   data-show-when="name=value"  shows the element only while the form's field `name`
 *                           has `value` (radio, select or checkbox); always shown without JS
 */
(function () {
  "use strict";

  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  function closest(node, selector) {
    return node && node.closest ? node.closest(selector) : null;
  }

  // --- flash messages -------------------------------------------------------
  document.addEventListener("click", function (event) {
    var button = closest(event.target, "[data-dismiss]");
    if (!button) return;
    var box = closest(button, "[data-dismissable]");
    if (!box) return;
    box.classList.add("is-leaving");
    window.setTimeout(function () {
      var list = box.parentElement;
      box.remove();
      if (list && list.classList.contains("messages") && !list.children.length) list.remove();
    }, 160);
  });

  // --- dropdowns built on <details> -----------------------------------------
  function closeDropdowns(except) {
    document.querySelectorAll("details[data-dropdown][open]").forEach(function (details) {
      if (details !== except) details.removeAttribute("open");
    });
  }

  document.addEventListener("click", function (event) {
    closeDropdowns(closest(event.target, "details[data-dropdown]"));
  });

  // --- phone navigation drawer ----------------------------------------------
  var navToggle = document.getElementById("nav-toggle");
  var navButton = document.querySelector("[data-nav-toggle]");

  function syncNav() {
    if (!navToggle || !navButton) return;
    navButton.setAttribute("aria-expanded", navToggle.checked ? "true" : "false");
    document.body.classList.toggle("nav-open", navToggle.checked);
  }

  if (navToggle && navButton) {
    navToggle.addEventListener("change", syncNav);
    // A <label> is not keyboard-operable by itself: give it button behaviour.
    navButton.addEventListener("keydown", function (event) {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        navToggle.checked = !navToggle.checked;
        syncNav();
      }
    });
    syncNav();
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    closeDropdowns(null);
    if (navToggle && navToggle.checked) {
      navToggle.checked = false;
      syncNav();
      if (navButton) navButton.focus();
    }
  });

  // --- forms ------------------------------------------------------------------
  document.addEventListener("change", function (event) {
    var field = closest(event.target, "[data-autosubmit]");
    if (!field || !field.form) return;
    if (typeof field.form.requestSubmit === "function") field.form.requestSubmit();
    else field.form.submit();
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message =
      (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      return;
    }
    // Stop double submits of money-moving forms; htmx forms manage their own state.
    if (!form.hasAttribute("hx-post") && !form.hasAttribute("data-allow-resubmit")) {
      if (form.dataset.submitting === "true") {
        event.preventDefault();
        return;
      }
      form.dataset.submitting = "true";
      window.setTimeout(function () {
        form.dataset.submitting = "false";
      }, 4000);
    }
  });

  // --- conditional parts of a form -----------------------------------------
  function fieldValue(form, name) {
    var fields = form.querySelectorAll('[name="' + name + '"]');
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (field.type === "radio" || field.type === "checkbox") {
        if (field.checked) return field.value;
      } else {
        return field.value;
      }
    }
    return "";
  }

  function syncConditionals() {
    document.querySelectorAll("[data-show-when]").forEach(function (element) {
      var form = closest(element, "form");
      if (!form) return;
      var rule = element.getAttribute("data-show-when").split("=");
      element.hidden = fieldValue(form, rule[0]) !== rule[1];
    });
  }

  document.addEventListener("change", syncConditionals);
  syncConditionals();

  // --- copy to clipboard ------------------------------------------------------
  document.addEventListener("click", function (event) {
    var button = closest(event.target, "[data-copy]");
    if (!button || !navigator.clipboard) return;
    var target = document.querySelector(button.getAttribute("data-copy"));
    if (!target) return;
    var text = "value" in target && target.value ? target.value : target.textContent.trim();
    navigator.clipboard.writeText(text).then(function () {
      var label = button.getAttribute("data-copied-label");
      if (!label) return;
      var original = button.textContent;
      button.textContent = label;
      window.setTimeout(function () {
        button.textContent = original;
      }, 1500);
    });
  });

  // --- htmx -------------------------------------------------------------------
  // A 401/403 on an htmx request usually means the session or CSRF token expired:
  // a full reload shows the login page or a fresh token instead of a silent failure.
  document.body.addEventListener("htmx:responseError", function (event) {
    var status = event.detail && event.detail.xhr ? event.detail.xhr.status : 0;
    if (status === 403 || status === 401) window.location.reload();
  });
})();
