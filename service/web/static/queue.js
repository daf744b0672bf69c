"use strict";
// j / k move between rows, Enter opens the focused case.
const rows = [...document.querySelectorAll("#queue tbody tr[data-href]")];
document.addEventListener("keydown", event => {
  if (["INPUT", "SELECT", "TEXTAREA"].includes(document.activeElement.tagName)) return;
  const at = rows.indexOf(document.activeElement);
  if (event.key === "j") rows[Math.min(at + 1, rows.length - 1)]?.focus();
  else if (event.key === "k") rows[Math.max(at - 1, 0)]?.focus();
  else if (event.key === "Enter" && at >= 0) window.location = rows[at].dataset.href;
});
