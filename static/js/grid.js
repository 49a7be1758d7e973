/* Editors' grid: hover-scrub and range selection.
 *
 * A poster with data-filmstrip swaps to the filmstrip sprite on hover: a horizontal strip of
 * data-frames frames, each 160 px wide in the file. background-size stretches the strip to
 * frames × the box width, and the pointer's x picks which frame shows.
 * Shift-click on a checkbox selects every box between it and the last one clicked.
 */
(function () {
  "use strict";
  // htmx re-runs the scripts in a page it restores from its history cache: bind only once.
  if (window.DailiesGrid) return;
  window.DailiesGrid = true;

  document.addEventListener("mousemove", (event) => {
    const box = event.target.closest && event.target.closest(".scrub[data-filmstrip]");
    if (!box) return;
    const frames = parseInt(box.dataset.frames, 10);
    const rect = box.getBoundingClientRect();
    const index = Math.min(frames - 1, Math.max(0, Math.floor(frames * (event.clientX - rect.left) / rect.width)));
    box.style.backgroundImage = `url('${box.dataset.filmstrip}')`;
    box.style.backgroundSize = `${frames * 100}% 100%`;
    box.style.backgroundPosition = `${frames > 1 ? (100 * index) / (frames - 1) : 0}% 0`;
    box.dataset.frame = index;
  });

  document.addEventListener("mouseout", (event) => {
    const box = event.target.closest && event.target.closest(".scrub[data-filmstrip]");
    if (!box || box.contains(event.relatedTarget)) return;
    box.style.backgroundImage = `url('${box.dataset.poster}')`;
    box.style.backgroundSize = "";
    box.style.backgroundPosition = "";
  });

  // "Compare selected" is a plain GET without JavaScript; here it skips the form (and htmx).
  document.addEventListener("click", (event) => {
    const button = event.target.closest && event.target.closest("#compare-selected");
    if (!button) return;
    event.preventDefault();
    const ids = Array.from(document.querySelectorAll(".take-grid input[type=checkbox]:checked"), (b) => b.value);
    if (ids.length >= 2) window.location.href = `${button.dataset.compareUrl}?takes=${ids.join(",")}`;
  });

  let lastBox = null;
  document.addEventListener("click", (event) => {
    const box = event.target.closest && event.target.closest(".take-grid input[type=checkbox]");
    if (!box) return;
    if (event.shiftKey && lastBox && lastBox !== box) {
      const boxes = Array.from(document.querySelectorAll(".take-grid input[type=checkbox]"));
      const [a, b] = [boxes.indexOf(lastBox), boxes.indexOf(box)].sort((x, y) => x - y);
      for (const other of boxes.slice(a, b + 1)) other.checked = box.checked;
    }
    lastBox = box;
    count();
  });

  function count() {
    const n = document.querySelectorAll(".take-grid input[type=checkbox]:checked").length;
    const label = document.getElementById("selected-count");
    if (label) label.textContent = n ? `${n} selected` : "Select takes (click the boxes; shift-click selects a range)";
  }
  document.addEventListener("htmx:afterSettle", count);
})();
