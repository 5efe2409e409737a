// Recovery-code tools: copy, download as a text file, print. Loaded with `defer`; the
// Content-Security-Policy forbids inline handlers, so everything is wired up here.
(function () {
  "use strict";

  var list = document.querySelector("[data-recovery-codes]");
  var tools = document.querySelector("[data-recovery-tools]");
  if (!list || !tools) {
    return;
  }

  function codesText() {
    var codes = Array.prototype.map.call(list.querySelectorAll("code"), function (node) {
      return node.textContent.trim();
    });
    return codes.join("\n") + "\n";
  }

  var copyButton = tools.querySelector("[data-recovery-copy]");
  if (copyButton && navigator.clipboard) {
    copyButton.addEventListener("click", function () {
      navigator.clipboard.writeText(codesText()).then(function () {
        var label = copyButton.textContent;
        copyButton.textContent = copyButton.getAttribute("data-copied-label") || label;
        window.setTimeout(function () {
          copyButton.textContent = label;
        }, 2000);
      });
    });
  } else if (copyButton) {
    copyButton.hidden = true;
  }

  var downloadButton = tools.querySelector("[data-recovery-download]");
  if (downloadButton) {
    downloadButton.addEventListener("click", function () {
      var blob = new Blob([codesText()], { type: "text/plain;charset=utf-8" });
      var link = document.createElement("a");
      link.href = URL.createObjectURL(blob);
      link.download = downloadButton.getAttribute("data-filename") || "recovery-codes.txt";
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(function () {
        URL.revokeObjectURL(link.href);
      }, 1000);
    });
  }

  var printButton = tools.querySelector("[data-recovery-print]");
  if (printButton) {
    printButton.addEventListener("click", function () {
      window.print();
    });
  }

  tools.hidden = false;
})();
