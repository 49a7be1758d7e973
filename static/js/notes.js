/* Time-coded notes, shared by the review queue and the take page.
 *
 * The note box takes the keyboard only while a note is being written. Enter saves it and gives
 * the keyboard back to the player at once (so A, R, U, J, K typed right after act on the take,
 * even before the server answers); Esc clears the box and does the same. A refused note (400)
 * comes back with its reason and the box gets the focus again.
 * Focusing the box on the take page fills the time from the playhead, like N in the queue.
 */
(function () {
  "use strict";
  // htmx re-runs the scripts in a page it restores from its history cache: bind only once.
  if (window.DailiesNotes) return;
  window.DailiesNotes = true;

  function player() { return document.getElementById("player"); }

  // The keyboard goes back to the player (the review queue's shortcuts work from there).
  function toPlayer() {
    const video = player();
    if (video) video.focus({ preventScroll: true });
    else if (document.activeElement) document.activeElement.blur();
  }

  function fillTime() {
    const video = player();
    const seconds = document.getElementById("note-seconds");
    if (!video || !seconds || seconds.dataset.edited) return;
    video.pause();
    const frame = window.Dailies ? Dailies.frameAt(video) : 0;
    seconds.value = (frame / (window.Dailies ? Dailies.fpsOf(video) : 24)).toFixed(3);
  }

  document.addEventListener("input", (event) => {
    if (event.target.id === "note-seconds") event.target.dataset.edited = "1";
  });

  document.addEventListener("focusin", (event) => {
    if (event.target.id === "note-text" && !event.target.value) fillTime();
  });

  document.addEventListener("keydown", (event) => {
    if (event.target.id !== "note-text" || event.key !== "Escape") return;
    event.preventDefault();
    event.target.value = "";
    toPlayer();
  });

  // The note is on its way: the keys that follow are for the take, not for the box.
  document.addEventListener("htmx:beforeRequest", (event) => {
    if (event.detail.elt.id === "note-form") toPlayer();
  });

  document.addEventListener("htmx:afterSettle", (event) => {
    const panel = event.detail.target;
    if (!panel || panel.id !== "notes-panel" || !panel.isConnected) return;
    if (event.detail.xhr && event.detail.xhr.status >= 400) {
      const text = document.getElementById("note-text");
      if (text) text.focus();
    }
  });

  window.DailiesNotes = { toPlayer, fillTime };
})();
