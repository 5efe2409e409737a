/*
 * Hosted checkout: send the payer back to the merchant a few seconds after success.
 *
 *   a[data-auto-return="5"]   the "Return to merchant" link; followed after 5 s
 *   [data-countdown-note]     shown while counting (hidden without JS)
 *   [data-countdown]          the seconds left
 *   [data-countdown-cancel]   stops the countdown
 *
 * The status panel arrives by htmx polling, so the countdown starts on load and after
 * every swap. The link's URL was checked on the server (http or https only).
 */
(function () {
  "use strict";

  var timer = null;

  function start(root) {
    var link = (root || document).querySelector("a[data-auto-return]");
    if (!link || link.dataset.countdownStarted) return;
    link.dataset.countdownStarted = "1";
    var seconds = parseInt(link.dataset.autoReturn, 10);
    if (!(seconds >= 0)) return;
    var panel = link.parentElement;
    var note = panel.querySelector("[data-countdown-note]");
    var counter = panel.querySelector("[data-countdown]");
    var cancel = panel.querySelector("[data-countdown-cancel]");
    if (note) note.hidden = false;

    function tick() {
      if (counter) counter.textContent = String(seconds);
      if (seconds <= 0) {
        window.clearInterval(timer);
        timer = null;
        window.location.assign(link.href);
        return;
      }
      seconds -= 1;
    }

    if (cancel) {
      cancel.addEventListener("click", function () {
        if (timer) window.clearInterval(timer);
        timer = null;
        if (note) note.hidden = true;
      });
    }
    tick();
    timer = window.setInterval(tick, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    start(document);
  });
  document.body.addEventListener("htmx:afterSettle", function () {
    start(document);
  });
})();
