/* Portail OVA forms: after a submission with errors, the focus goes to the first field in error
 * (its message is linked to it by aria-describedby), so that keyboard and screen-reader users
 * land where the correction is needed. */
(function () {
  "use strict";
  function focusFirstError() {
    var field = document.querySelector("main [aria-invalid='true']");
    if (field && document.activeElement === document.body) { field.focus(); }
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", focusFirstError); }
  else { focusFirstError(); }
})();
