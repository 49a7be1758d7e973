/* Positions computed on the server, applied without style attributes.
 *
 * The Content-Security-Policy has no 'unsafe-inline' for styles, so markup carries them as data
 * attributes and this sets them through the CSSOM (which CSP allows), on load and on every htmx
 * swap: data-left="37.5" (a percentage, note markers), data-width="80" (a percentage, meters),
 * data-bg="/url" (a background image, grid posters).
 */
(function () {
  "use strict";
  if (window.DailiesLayout) return;
  window.DailiesLayout = true;

  function each(root, selector, fn) {
    if (root.matches && root.matches(selector)) fn(root);
    root.querySelectorAll(selector).forEach(fn);
  }

  function apply(root) {
    each(root, "[data-left]", (el) => { el.style.left = parseFloat(el.dataset.left) + "%"; });
    each(root, "[data-width]", (el) => { el.style.width = parseFloat(el.dataset.width) + "%"; });
    each(root, "[data-bg]", (el) => { el.style.backgroundImage = `url("${encodeURI(el.dataset.bg)}")`; });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", () => apply(document));
  } else {
    apply(document);
  }
  document.addEventListener("htmx:load", (event) => apply(event.detail.elt));
})();
