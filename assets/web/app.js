// kpi-ledger web app: small and optional; every form works without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Menus that apply on change (the language menu); without script, a button submits.
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
});
